/**
 * The `effect-auth` command tree, for the binary and for programs that embed the CLI.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Provider from "@effect-auth/core/Provider"
import { exec } from "./commands/exec.js"
import * as Login from "./commands/login.js"
import { logout } from "./commands/logout.js"
import * as SitesCommand from "./commands/sites.js"
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
import * as Network from "./internal/network.js"
import * as Prompt from "./internal/prompt.js"
import * as Session from "./internal/session.js"
import { version as internalVersion } from "./internal/version.js"
import * as Providers from "./Providers.js"

/**
 * The command tree for a list of providers: global options `--at`, `--config`, `--json`,
 * `--verbose` (before or after the subcommand) and the subcommands.
 *
 * @since 0.1.0
 * @category commands
 */
export const make = (providers: ReadonlyArray<Provider.Provider>) =>
  root.pipe(
    Command.withDescription("Log in to Anaplan and OAuth 2 services and hand out tokens to scripts"),
    Command.withSubcommands([Login.make(providers), logout, token, whoami, status, exec, SitesCommand.make(providers)])
  )

/** The command tree as data, for the help, the usage checks and the completions. */
const specOf = (providers: ReadonlyArray<Provider.Provider>, tree: ReturnType<typeof make>): CommandSpec.CommandSpec =>
  CommandSpec.make({
    command: tree,
    children: [
      ...[Login.make(providers), logout, token, whoami, status, exec].map((c) => ({ command: c })),
      { command: SitesCommand.make(providers), children: SitesCommand.subcommands(providers).map((c) => ({ command: c })) }
    ]
  })

/**
 * The command tree of the built-in providers.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = make(Providers.builtin)

/**
 * What {@link run} and {@link main} accept besides `argv`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /** Providers to know besides the built-in ones (`Providers.builtin`). */
  readonly providers?: ReadonlyArray<Provider.Provider> | undefined
}

/**
 * The version in `package.json`.
 *
 * @since 0.1.0
 * @category constants
 */
export const version: string = internalVersion()

/**
 * Parses `argv` (as `process.argv`: node and the script first) and runs the command: the help,
 * a completion script and usage errors (`error:` and `hint:`, exit 2) are the CLI's own;
 * `@effect/cli` parses what passes those checks.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  argv: ReadonlyArray<string>,
  options: RunOptions = {}
): Effect.Effect<void, unknown, NodeContext.NodeContext | HttpClient.HttpClient> =>
  Effect.suspend(() => {
    const extra = options.providers ?? []
    const providers = extra.length === 0 ? Providers.builtin : Providers.withExtra(extra)
    const tree = extra.length === 0 ? command : make(providers)
    const spec = specOf(providers, tree)
    const [, , first, shell, ...words] = argv
    const program = ((): Effect.Effect<void, unknown, NodeContext.NodeContext | HttpClient.HttpClient> => {
      if (first === "__complete") {
        return shell !== undefined && Completion.isShell(shell)
          ? Effect.flatMap(Completion.complete(spec, shell, words), (text) => Effect.sync(() => void process.stdout.write(text)))
          : Effect.void
      }
      const hoisted = Argv.hoistGlobalOptions(argv)
      const action = CommandLine.interpret(spec, hoisted.slice(2))
      if (Either.isLeft(action)) return Effect.fail(action.left)
      const todo = action.right
      switch (todo._tag) {
        case "Help":
          return Effect.sync(() => void process.stdout.write(Help.render(spec, todo.spec, Help.stdoutStyle())))
        case "Completions": {
          const script = todo.shell
          return Completion.isShell(script) ? Effect.sync(() => void process.stdout.write(Completion.script(script))) : Effect.void
        }
        case "Run":
          return Command.run(tree, { name: "effect-auth", version })(hoisted)
      }
    })()
    return extra.length === 0 ? program : Effect.provideService(program, Providers.Current, providers)
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
 * What the binary runs: the command with Node's context and the HTTP client of the site it works
 * on (`HttpTransport`: proxy, CA bundle, TLS verification), logs on stderr, and
 * every failure turned into one or two lines on stderr and an exit code (0 ok, 1 error, 2 usage,
 * 4 a login is needed).
 *
 * @since 0.1.0
 * @category running
 */
export const main = (argv: ReadonlyArray<string>, options: RunOptions = {}): Effect.Effect<number> =>
  finish(run(argv, options), isVerbose(argv)).pipe(
    // Prompts on the terminal a person is at, also when stdout is captured (`$(effect-auth token)`).
    Effect.provide(Prompt.terminalLayer),
    Effect.provide(Layer.merge(NodeContext.layer, Network.layer(Session.siteFor(Network.globalsIn(argv)))))
  )

/**
 * The exit codes: 0 ok, 1 error, 2 usage, 4 a login is needed.
 *
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = Failure.ExitCode
