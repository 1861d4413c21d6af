/**
 * `effect-auth exec -- CMD [ARGS...]`: runs a command with a fresh token in its environment.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as Os from "node:os"
import { CommandError, Exit, UsageError } from "../internal/failure.js"
import { Globals } from "../internal/globals.js"
import * as Session from "../internal/session.js"

const forwarded: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"]

/**
 * Runs `command` with `env`, stdio inherited and signals forwarded; succeeds with its exit code
 * (128 + the signal's number when a signal ended it). The code is also left in
 * `process.exitCode`, so that it survives the interruption a forwarded SIGINT causes.
 *
 * @internal
 */
const run = (command: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<number, CommandError>((resume) => {
    const child = spawn(command, args, { stdio: "inherit", env: { ...process.env, ...env } })
    const forward = (signal: NodeJS.Signals) => () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    }
    const handlers = forwarded.map((signal) => [signal, forward(signal)] as const)
    for (const [signal, handler] of handlers) process.on(signal, handler)
    const done = () => {
      for (const [signal, handler] of handlers) process.removeListener(signal, handler)
    }
    child.once("error", (error: NodeJS.ErrnoException) => {
      done()
      resume(Effect.fail(
        new CommandError({
          detail: error.code === "ENOENT"
            ? `Cannot run ${command}: command not found`
            : `Cannot run ${command}: ${error.message}`,
          hint: "Check the command name and your PATH."
        })
      ))
    })
    child.once("exit", (code, signal) => {
      done()
      const status = code ?? 128 + (signal === null ? 0 : (Os.constants.signals[signal] ?? 0))
      process.exitCode = status
      resume(Effect.succeed(status))
    })
  })

/**
 * The `exec` command: `EFFECT_AUTH_TOKEN` (and `ANAPLAN_AUTH_TOKEN` for Anaplan sites) in the
 * child's environment; exits with the child's code.
 *
 * @since 0.1.0
 * @category commands
 */
export const exec = Command.make(
  "exec",
  {
    command: Args.text({ name: "COMMAND" }).pipe(
      Args.withDescription("The command to run and its arguments, after --"),
      Args.repeated
    )
  },
  ({ command }) =>
    Effect.gen(function*() {
      const [program, ...args] = command
      if (program === undefined) {
        return yield* new UsageError({
          detail: "exec needs a command to run",
          hint: "For example: effect-auth exec -- curl -H \"Authorization: AnaplanAuthToken $ANAPLAN_AUTH_TOKEN\" URL"
        })
      }
      const { plan } = yield* Session.current(yield* Globals)
      const token = yield* Session.withStorage(plan, Effect.scoped(Session.token(plan, "confirm")))
      const code = yield* Effect.uninterruptible(run(program, args, plan.environment(token)))
      if (code !== 0) return yield* new Exit({ code })
    })
).pipe(Command.withDescription("Run COMMAND with a fresh token in EFFECT_AUTH_TOKEN (and ANAPLAN_AUTH_TOKEN for Anaplan sites)"))
