/** @internal */
import type { Globals } from "./globalsType.js"

const globalFlags = new Set(["--json", "--verbose"])
const globalOptionsWithValue = new Set(["--at", "--config"])

/**
 * Moves the global options to the front (before `--` only), so that they work after any
 * subcommand, even one whose optional argument would otherwise take `--json` for a value.
 *
 * @internal
 */
export const hoistGlobalOptions = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const [node, script, ...rest] = argv
  const globals: Array<string> = []
  const others: Array<string> = []
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]
    if (arg === "--") {
      others.push(...rest.slice(i))
      break
    }
    const name = arg.split("=", 1)[0]
    if (globalFlags.has(arg)) globals.push(arg)
    else if (globalOptionsWithValue.has(name) && arg.includes("=")) globals.push(name, arg.slice(name.length + 1))
    else if (globalOptionsWithValue.has(arg) && i + 1 < rest.length) globals.push(arg, rest[++i])
    else others.push(arg)
  }
  return [node, script, ...globals, ...others]
}

/**
 * The global options when the command line is exactly `token` with global options (the fast
 * path), else `undefined`.
 *
 * @internal
 */
export const tokenOnly = (argv: ReadonlyArray<string>): Globals | undefined => {
  const args = hoistGlobalOptions(argv).slice(2)
  const globals = { at: undefined as string | undefined, config: undefined as string | undefined, json: false, verbose: false }
  let i = 0
  for (; i < args.length; i++) {
    const arg = args[i]
    if (arg === "--json") globals.json = true
    else if (arg === "--verbose") globals.verbose = true
    else if (arg === "--at" || arg === "--config") {
      const value = args[++i]
      if (value === undefined) return undefined
      if (arg === "--at") globals.at = value
      else globals.config = value
    } else break
  }
  return args.length === i + 1 && args[i] === "token" ? globals : undefined
}
