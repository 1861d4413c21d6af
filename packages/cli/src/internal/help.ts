/**
 * `--help`: a command's description, usage, subcommands, arguments, options and the global
 * options that work after it, one line each, wrapped to the terminal's width (80 columns when
 * stdout is not a terminal), bold headings only on a terminal without `NO_COLOR`.
 *
 * @internal
 */
import * as Spec from "./commandSpec.js"

/** The options every command takes besides its own (`@effect/cli`'s `--help`; `--wizard` and `--log-level` stay unlisted). @internal */
export const builtInOptions: ReadonlyArray<Spec.OptionSpec> = [
  { names: ["-h", "--help"], value: undefined, choices: undefined, description: "Show help for the command", repeatable: false }
]

/** The options of the root command only. @internal */
export const rootOnlyOptions: ReadonlyArray<Spec.OptionSpec> = [
  { names: ["--version"], value: undefined, choices: undefined, description: "Print the version", repeatable: false },
  {
    names: ["--completions"],
    value: "SHELL",
    choices: ["bash", "zsh", "fish"],
    description: "Print the shell completion script for SHELL",
    repeatable: false
  }
]

const exitCodes: Rows = [
  ["0", "Done"],
  ["1", "An error (network, configuration, a failed command; logout that could not revoke upstream)"],
  ["2", "A usage error: an unknown command or option, a missing argument"],
  ["4", "A login is needed: run `effect-auth login`"]
]

/** How help is laid out: its width and whether it may use ANSI styles. @internal */
export interface Style {
  readonly width: number
  readonly color: boolean
}

/** The style of stdout: its width on a terminal (else 80), color on a terminal without `NO_COLOR`. @internal */
export const stdoutStyle = (): Style => {
  const tty = process.stdout.isTTY === true
  const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== ""
  return {
    width: tty && typeof process.stdout.columns === "number" && process.stdout.columns > 0 ? process.stdout.columns : 80,
    color: tty && !noColor && process.env.TERM !== "dumb"
  }
}

/** `text` wrapped to `width` columns, continuation lines indented by `indent` spaces. @internal */
export const wrap = (text: string, width: number, indent: number, firstIndent = indent): Array<string> => {
  const lines: Array<string> = []
  let current = " ".repeat(firstIndent)
  let empty = true
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (!empty && current.length + 1 + word.length > width) {
      lines.push(current)
      current = " ".repeat(indent) + word
    } else {
      current = empty ? current + word : `${current} ${word}`
    }
    empty = false
  }
  lines.push(current)
  return lines
}

const optionTerm = (option: Spec.OptionSpec): string =>
  `${option.names.join(", ")}${option.value === undefined ? "" : ` ${option.value}`}`

const optionDescription = (option: Spec.OptionSpec): string =>
  [
    option.description,
    option.choices === undefined ? "" : `(${option.choices.join(", ")})`,
    option.repeatable ? "(repeatable)" : ""
  ].filter((part) => part !== "").join(" ")

const argTerm = (arg: Spec.ArgSpec): string => {
  const name = arg.repeatable ? `${arg.name}...` : arg.name
  return arg.optional && !arg.repeatable ? `[${name}]` : name
}

type Rows = ReadonlyArray<readonly [string, string]>

/** The column where descriptions start: after the longest term, within a third of the width. */
const columnOf = (rows: Rows, style: Style): number =>
  Math.min(Math.max(0, ...rows.map(([term]) => term.length)) + 4, Math.max(16, Math.floor(style.width / 3)))

/** Two columns: the terms, and their descriptions wrapped beside them (or below a long term). */
const table = (rows: Rows, style: Style, column = columnOf(rows, style)): Array<string> =>
  rows.flatMap(([term, description]) => {
    const head = `  ${term}`
    if (description === "") return [head]
    if (head.length + 2 > column) return [head, ...wrap(description, style.width, column)]
    const [first, ...rest] = wrap(description, style.width, column)
    return [head + first.slice(head.length), ...rest]
  })

const usageLine = (spec: Spec.CommandSpec): string => {
  const words = ["effect-auth", ...spec.path]
  if (spec.children.length > 0) return [...words, "<command>", ...(spec.path.length === 0 ? ["[options]"] : [])].join(" ")
  const args = spec.args.filter((arg) => !arg.repeatable).map(argTerm)
  const rest = spec.args.filter((arg) => arg.repeatable).map((arg) => `-- ${argTerm(arg)}`)
  return [...words, ...args, "[options]", ...rest].join(" ")
}

/**
 * The help of `spec` (`root` supplies the global options).
 *
 * @internal
 */
export const render = (root: Spec.CommandSpec, spec: Spec.CommandSpec, style: Style): string => {
  const heading = (text: string) => style.color ? `\u001b[1m${text}\u001b[0m` : text
  const sections: Array<Array<string>> = []
  const section = (title: string, lines: ReadonlyArray<string>) => {
    if (lines.length > 0) sections.push([heading(title), ...lines])
  }
  sections.push(wrap(spec.description, style.width, 0))
  section("USAGE", wrap(usageLine(spec), style.width, 4, 2))
  section("COMMANDS", table(spec.children.map((child) => [child.name, child.description]), style))
  section("ARGUMENTS", table(spec.args.map((arg) => [argTerm(arg), arg.description]), style))
  const isRoot = spec.path.length === 0
  const rowsOf = (options: ReadonlyArray<Spec.OptionSpec>): Rows => options.map((o) => [optionTerm(o), optionDescription(o)])
  const own = rowsOf(isRoot ? [] : spec.options)
  const globals = rowsOf([...root.options, ...builtInOptions, ...(isRoot ? rootOnlyOptions : [])])
  const column = columnOf([...own, ...globals], style)
  section("OPTIONS", table(own, style, column))
  section(isRoot ? "OPTIONS" : "GLOBAL OPTIONS", table(globals, style, column))
  if (isRoot) {
    section("EXIT CODES", table(exitCodes, style))
  }
  if (spec.children.length > 0) {
    const command = ["effect-auth", ...spec.path, "<command>", "--help"].join(" ")
    section("LEARN MORE", wrap(`Use \`${command}\` for more about a command.`, style.width, 2))
  }
  return `${sections.map((lines) => lines.join("\n")).join("\n\n")}\n`
}
