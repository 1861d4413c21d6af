/**
 * The `effect-auth` command tree, for the binary and for programs that embed the CLI.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { exec } from "./commands/exec.js"
import { login } from "./commands/login.js"
import { logout } from "./commands/logout.js"
import { sites, sitesSubcommands } from "./commands/sites.js"
import { status } from "./commands/status.js"
import { token } from "./commands/token.js"
import { whoami } from "./commands/whoami.js"
import * as Argv from "./internal/argv.js"
import * as CommandLine from "./internal/commandLine.js"
import * as CommandSpec from "./internal/commandSpec.js"
import * as Completion from "./internal/completion.js"
import * as Failure from "./internal/failure.js"
import { finish } from "./internal/finish.js"
import { root } from "./internal/globals.js"
import * as Help from "./internal/help.js"
import * as Prompt from "./internal/prompt.js"
import { version as internalVersion } from "./internal/version.js"

/**
 * The command tree: global options `--at`, `--config`, `--json`, `--verbose` (before or after
 * the subcommand) and the subcommands.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = root.pipe(
  Command.withDescription("Log in to Anaplan and OAuth 2 services and hand out tokens to scripts"),
  Command.withSubcommands([login, logout, token, whoami, status, exec, sites])
)

/**
 * The version in `package.json`.
 *
 * @since 0.1.0
 * @category constants
 */
export const version: string = internalVersion

let specCache: CommandSpec.CommandSpec | undefined

/** The command tree as data, for the help, the usage checks and the completions. */
const spec = (): CommandSpec.CommandSpec =>
  specCache ??= CommandSpec.make({
    command,
    children: [
      ...[login, logout, token, whoami, status, exec].map((c) => ({ command: c })),
      { command: sites, children: sitesSubcommands.map((c) => ({ command: c })) }
    ]
  })

/**
 * Parses `argv` (as `process.argv`: node and the script first) and runs the command: the help,
 * a completion script and usage errors (`error:` and `hint:`, exit 2) are the CLI's own;
 * `@effect/cli` parses what passes those checks.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  argv: ReadonlyArray<string>
): Effect.Effect<void, unknown, NodeContext.NodeContext | HttpClient.HttpClient> =>
  Effect.suspend(() => {
    const [, , first, shell, ...words] = argv
    if (first === "__complete") {
      return shell !== undefined && Completion.isShell(shell)
        ? Effect.flatMap(Completion.complete(spec(), shell, words), (text) => Effect.sync(() => void process.stdout.write(text)))
        : Effect.void
    }
    const hoisted = Argv.hoistGlobalOptions(argv)
    const action = CommandLine.interpret(spec(), hoisted.slice(2))
    if (Either.isLeft(action)) return Effect.fail(action.left)
    const todo = action.right
    switch (todo._tag) {
      case "Help":
        return Effect.sync(() => void process.stdout.write(Help.render(spec(), todo.spec, Help.stdoutStyle())))
      case "Completions": {
        const shell = todo.shell
        return Completion.isShell(shell) ? Effect.sync(() => void process.stdout.write(Completion.script(shell))) : Effect.void
      }
      case "Run":
        return Command.run(command, { name: "effect-auth", version })(hoisted)
    }
  })

/**
 * Moves the global options to the front (before `--` only), so that they work after any
 * subcommand, even one whose optional argument would otherwise take `--json` for a value.
 *
 * @since 0.1.0
 * @category running
 */
export const hoistGlobalOptions: (argv: ReadonlyArray<string>) => ReadonlyArray<string> = Argv.hoistGlobalOptions

/** `--verbose` anywhere before `--`. */
const isVerbose = (argv: ReadonlyArray<string>): boolean => {
  const end = argv.indexOf("--")
  return (end === -1 ? argv : argv.slice(0, end)).includes("--verbose")
}

/**
 * What the binary runs: the command with Node's context and HTTP client, logs on stderr, and
 * every failure turned into one or two lines on stderr and an exit code (0 ok, 1 error, 2 usage,
 * 4 a login is needed).
 *
 * @since 0.1.0
 * @category running
 */
export const main = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  finish(run(argv), isVerbose(argv)).pipe(
    // Prompts on the terminal a person is at, also when stdout is captured (`$(effect-auth token)`).
    Effect.provide(Prompt.terminalLayer),
    Effect.provide(Layer.merge(NodeContext.layer, FetchHttpClient.layer))
  )

/**
 * The exit codes: 0 ok, 1 error, 2 usage, 4 a login is needed.
 *
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = Failure.ExitCode
