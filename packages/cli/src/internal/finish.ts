/** @internal */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Failure from "./failure.js"

const stderrLogger = Logger.make(({ logLevel, message }) => {
  const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
  // On a terminal, first erase the line: a spinner (LoginAgent) may be drawing there, and a log line
  // appended to its frame would break both; the spinner redraws on its next frame.
  const clear = process.stderr.isTTY === true ? "\r\u001b[2K" : ""
  // `warning:`, as `error:` and `hint:` read (and as git writes them); `debug:`, `info:` otherwise.
  const label = logLevel._tag === "Warning" ? "warning" : logLevel.label.toLowerCase()
  process.stderr.write(`${clear}${label}: ${text}\n`)
})

/** Logs on stderr: warnings, and everything with `--verbose`. @internal */
export const logging = (verbose: boolean): Layer.Layer<never> =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, stderrLogger),
    Logger.minimumLogLevel(verbose ? LogLevel.Debug : LogLevel.Warning)
  )

/**
 * Runs a command to an exit code: every failure becomes one or two lines on stderr (a stack only
 * with `--verbose`).
 *
 * @internal
 */
export const finish = <R>(program: Effect.Effect<void, unknown, R>, verbose: boolean): Effect.Effect<number, never, R> =>
  program.pipe(
    Effect.as(Failure.ExitCode.ok),
    Effect.catchAllCause((cause) =>
      Effect.sync(() => {
        const report = Failure.report(cause, verbose)
        if (report.text !== "") process.stderr.write(report.text)
        return report.code
      })
    ),
    Effect.provide(logging(verbose))
  )
