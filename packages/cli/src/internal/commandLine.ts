/**
 * The command line checked against the command tree before `@effect/cli` parses it: what to do
 * (help, a completion script, completions, or run the command) or the usage error in the CLI's
 * own words (`error:` and `hint:`, exit 2) with the nearest command or option.
 *
 * @internal
 */
import * as AutoCorrect from "@effect/cli/AutoCorrect"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Either from "effect/Either"
import * as Spec from "./commandSpec.js"
import { UsageError } from "./failure.js"
import * as Help from "./help.js"

/** @internal */
export type Action =
  | { readonly _tag: "Help"; readonly spec: Spec.CommandSpec }
  | { readonly _tag: "Completions"; readonly shell: string }
  | { readonly _tag: "Run" }

const config = CliConfig.make({})

/** The candidate nearest to `word` (a prefix of it, or within a few edits), if any is near. @internal */
export const nearest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  const prefixed = candidates.filter((c) => c.startsWith(word) && word.replace(/^-+/, "").length >= 2)
  if (prefixed.length === 1) return prefixed[0]
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const distance = AutoCorrect.levensteinDistance(word, candidate, config)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}

const commandName = (spec: Spec.CommandSpec): string => ["effect-auth", ...spec.path].join(" ")

/** Options the root takes that are not in the tree: `@effect/cli`'s hidden built-ins. */
const hiddenWithValue = new Set(["--log-level"])
const hiddenFlags = new Set(["--wizard"])

/**
 * What the command line asks for; fails with the usage error when it cannot be carried out.
 * `args` are the words after `effect-auth`, global options hoisted to the front.
 *
 * @internal
 */
export const interpret = (root: Spec.CommandSpec, args: ReadonlyArray<string>): Either.Either<Action, UsageError> => {
  let current = root
  let help = false
  let completions: string | undefined
  const positional: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === "--") {
      positional.push(...args.slice(i + 1))
      break
    }
    if (arg.startsWith("-") && arg !== "-") {
      const [name, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined]
      if (name === "-h" || name === "--help") {
        help = true
        continue
      }
      if (hiddenFlags.has(name)) continue
      const builtIn = current === root ? Spec.option(Help.rootOnlyOptions, name) : undefined
      const known = Spec.option(current.options, name) ?? Spec.option(root.options, name) ?? builtIn
      if (known === undefined && !hiddenWithValue.has(name)) {
        const candidates = [...current.options, ...root.options, ...Help.builtInOptions, ...(current === root ? Help.rootOnlyOptions : [])]
          .flatMap((o) => o.names.filter((n) => n.startsWith("--")))
        const suggestion = nearest(name, candidates)
        return fail({
          detail: `unknown option ${name} for \`${commandName(current)}\``,
          hint: suggestion !== undefined
            ? `Did you mean ${suggestion}? See \`${commandName(current)} --help\`.`
            : `See \`${commandName(current)} --help\` for its options.`
        })
      }
      if (known !== undefined && known.value === undefined) continue
      const value = inline ?? (args[i + 1] !== undefined && !args[i + 1].startsWith("-") ? args[++i] : undefined)
      if (value === undefined || value === "") {
        return fail({
          detail: `option ${name} needs a value`,
          hint: name === "--at"
            ? "Name a site: `effect-auth --at NAME COMMAND` (`effect-auth sites list` lists them)."
            : `Give it one: \`${name} ${known?.value ?? "VALUE"}\`${known?.choices ? `, one of ${known.choices.join(", ")}` : ""}.`
        })
      }
      if (known?.choices !== undefined && !known.choices.includes(value)) {
        const suggestion = nearest(value, known.choices)
        return fail({
          detail: `${JSON.stringify(value)} is not a valid value for ${name}`,
          hint: `${suggestion !== undefined ? `Did you mean ${suggestion}? ` : ""}It is one of: ${known.choices.join(", ")}.`
        })
      }
      if (builtIn !== undefined && name === "--completions") completions = value
      continue
    }
    if (current.children.length > 0) {
      const child = current.children.find((c) => c.name === arg)
      if (child === undefined) {
        const suggestion = nearest(arg, current.children.map((c) => c.name))
        return fail({
          detail: `unknown command ${JSON.stringify(arg)} for \`${commandName(current)}\``,
          hint: suggestion !== undefined
            ? `Did you mean \`${commandName(current)} ${suggestion}\`?`
            : `The commands are ${current.children.map((c) => c.name).join(", ")}; see \`${commandName(current)} --help\`.`
        })
      }
      current = child
      continue
    }
    positional.push(arg)
  }
  if (help) return Either.right({ _tag: "Help", spec: current })
  if (completions !== undefined) return Either.right({ _tag: "Completions", shell: completions })
  if (current.children.length > 0) {
    // `effect-auth` alone, or `effect-auth sites`: the help, as gh does (`--version` runs).
    const runs = current === root && args.some((arg) => arg === "--version" || hiddenFlags.has(arg))
    return Either.right(runs ? { _tag: "Run" } : { _tag: "Help", spec: current })
  }
  const required = current.args.filter((arg) => !arg.optional)
  if (positional.length < required.length) {
    const missing = required[positional.length]
    return fail({
      detail: `\`${commandName(current)}\` needs ${missing.name}${missing.description === "" ? "" : ` (${missing.description.replace(/\.$/, "")})`}`,
      hint: `For example: \`${commandName(current)} ${required.map((a) => a.name).join(" ")}\`; see \`${commandName(current)} --help\`.`
    })
  }
  if (!current.args.some((arg) => arg.repeatable) && positional.length > current.args.length) {
    return fail({
      detail: `unexpected argument ${JSON.stringify(positional[current.args.length])} for \`${commandName(current)}\``,
      hint: `See \`${commandName(current)} --help\`.`
    })
  }
  return Either.right({ _tag: "Run" })
}

const fail = (fields: { readonly detail: string; readonly hint: string }): Either.Either<Action, UsageError> =>
  Either.left(new UsageError(fields))
