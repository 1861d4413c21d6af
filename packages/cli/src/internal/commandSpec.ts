/**
 * The command tree as data (names, options, arguments, one-line descriptions), read from
 * `@effect/cli`'s own descriptors (`Command.getUsage`, `Command.getHelp`): what the help, the
 * usage checks and the shell completions share.
 *
 * @internal
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import type * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"
import type * as Usage from "@effect/cli/Usage"
import * as Option from "effect/Option"

/** @internal */
export interface OptionSpec {
  /** Every name, the long one last (`-y`, `--yes`). */
  readonly names: ReadonlyArray<string>
  /** The value's placeholder (`NAME`), `undefined` for a flag. */
  readonly value: string | undefined
  /** The values a choice accepts. */
  readonly choices: ReadonlyArray<string> | undefined
  readonly description: string
  readonly repeatable: boolean
}

/** @internal */
export interface ArgSpec {
  readonly name: string
  readonly description: string
  readonly optional: boolean
  readonly repeatable: boolean
}

/** @internal */
export interface CommandSpec {
  readonly name: string
  /** The words after `effect-auth` that select this command. */
  readonly path: ReadonlyArray<string>
  readonly description: string
  readonly options: ReadonlyArray<OptionSpec>
  readonly args: ReadonlyArray<ArgSpec>
  readonly children: ReadonlyArray<CommandSpec>
}

/** A command and, for a command with subcommands, the tree of its children. @internal */
export interface Tree {
  readonly command: { readonly descriptor: Descriptor.Command<unknown> }
  readonly children?: ReadonlyArray<Tree>
}

const spanText = (span: Span.Span): string => {
  switch (span._tag) {
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
    case "Text":
    case "URI":
      return span.value
    default:
      return spanText(span.value)
  }
}

/** The paragraphs and description lists of a help document, in order. */
const blocks = (doc: HelpDoc.HelpDoc): ReadonlyArray<HelpDoc.HelpDoc> =>
  doc._tag === "Sequence" ? [...blocks(doc.left), ...blocks(doc.right)] : doc._tag === "Empty" ? [] : [doc]

const paragraphs = (doc: HelpDoc.HelpDoc): ReadonlyArray<string> =>
  blocks(doc).flatMap((block) => block._tag === "Paragraph" ? [spanText(block.value)] : [])

/** `@effect/cli`'s generic lines around a description ("A user-defined piece of text.", "This setting is optional."). */
const generic = /^(A user-defined piece of text\.|A true or false value\.|One of the following: |This (setting|argument|option) )/

/** Option and argument descriptions by first name (`--at`, `<NAME>`), and the command's description. */
const descriptions = (doc: HelpDoc.HelpDoc) => {
  const byName = new Map<string, string>()
  let description = ""
  let section = ""
  for (const block of blocks(doc)) {
    if (block._tag === "Header") section = spanText(block.value)
    else if (block._tag === "Paragraph" && section === "DESCRIPTION" && description === "") description = spanText(block.value)
    else if (block._tag === "DescriptionList") {
      for (const [term, body] of block.definitions) {
        const name = spanText(term).replace(/^[[(]+/, "").split(/[ ,.]/, 1)[0]
        byName.set(name, paragraphs(body).filter((text) => !generic.test(text)).join(" "))
      }
    }
  }
  return { byName, description }
}

const config = CliConfig.make({ showBuiltIns: false, showAllNames: false })

const fromCommand = (tree: Tree, path: ReadonlyArray<string>): CommandSpec => {
  const usage = Descriptor.getUsage(tree.command.descriptor)
  const { byName, description } = descriptions(Descriptor.getHelp(tree.command.descriptor, config))
  const options: Array<OptionSpec> = []
  const args: Array<ArgSpec> = []
  let name = ""
  const walk = (node: Usage.Usage, optional: boolean, repeatable: boolean): void => {
    switch (node._tag) {
      case "Concat":
      case "Alternation":
        walk(node.left, optional, repeatable)
        walk(node.right, optional, repeatable)
        return
      case "Optional":
        return walk(node.usage, true, repeatable)
      case "Repeated":
        return walk(node.usage, true, true)
      case "Named": {
        const first = node.names[0] ?? ""
        if (name === "") {
          name = first
        } else if (first.startsWith("-")) {
          const value = Option.getOrUndefined(node.acceptedValues)
          const choices = value?.includes(" | ") ? value.split(" | ") : undefined
          const long = node.names.find((n) => n.startsWith("--")) ?? first
          options.push({
            names: [...node.names].sort((a, b) => a.length - b.length),
            value: choices !== undefined ? long.slice(2).toUpperCase() : value,
            choices,
            description: node.names.map((n) => byName.get(n)).find((d) => d !== undefined) ?? "",
            repeatable
          })
        } else {
          args.push({
            name: first.replace(/^<|>$/g, ""),
            description: byName.get(first) ?? "",
            optional,
            repeatable
          })
        }
        return
      }
      default:
        return
    }
  }
  walk(usage, false, false)
  const own = [...path, name].slice(1)
  return {
    name,
    path: own,
    description,
    options,
    args,
    children: (tree.children ?? []).map((child) => fromCommand(child, [...path, name]))
  }
}

/** The spec of a command tree; the root's path is empty. @internal */
export const make = (tree: Tree): CommandSpec => fromCommand(tree, [])

/** The command a path of words selects, and how many of the words it used. @internal */
export const find = (root: CommandSpec, words: ReadonlyArray<string>): CommandSpec => {
  let current = root
  for (const word of words) {
    const child = current.children.find((c) => c.name === word)
    if (child === undefined) break
    current = child
  }
  return current
}

/** The long name of an option (`--yes` of `-y, --yes`). @internal */
export const longName = (option: OptionSpec): string => option.names[option.names.length - 1]

/** The option `name` (`--at`, `-y`) of `options`. @internal */
export const option = (options: ReadonlyArray<OptionSpec>, name: string): OptionSpec | undefined =>
  options.find((o) => o.names.includes(name))
