/**
 * A secret-leak audit for tests: captures everything a run lets out (every log line at Debug level
 * as Effect's logfmt, structured, json and pretty loggers render it; every span's name, attributes,
 * events and failure; every failure as `JSON.stringify`, `util.inspect`, `String`, `Cause.pretty`
 * and the four loggers print it; and any text a test adds: a command's output) and finds given
 * secrets in it. effect-auth's
 * own suites use it to prove that no password, token, refresh token, private key or passphrase
 * escapes; use it the same way on your program:
 *
 * ```ts
 * const audit = SecretAudit.make()
 * const exit = yield* Effect.exit(program.pipe(Effect.provide(audit.layer)))
 * audit.recordExit("program", exit)
 * assert.deepStrictEqual(audit.leaks([{ name: "password", value: password }]), [])
 * ```
 *
 * @since 0.1.0
 */
import type * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as internal from "./internal/secretAudit.js"

/**
 * One piece of captured text.
 *
 * @since 0.1.0
 * @category models
 */
export interface Captured {
  /** Where the text came from: `log`, `span <name>`, `error <what>`, `stdout`, ... */
  readonly label: string
  readonly text: string
}

/**
 * A secret to look for, with a name for the report (the report never shows the value).
 *
 * @since 0.1.0
 * @category models
 */
export interface Secret {
  readonly name: string
  readonly value: string | Redacted.Redacted<string>
}

/**
 * A running audit.
 *
 * @since 0.1.0
 * @category models
 */
export interface Audit {
  /** Captures logs (minimum level Debug, replacing the default logger) and spans (a recording tracer). */
  readonly layer: Layer.Layer<never>
  /** Adds text the run produced: an error message, a `Cause.pretty`, a command's output. */
  readonly record: (label: string, text: string) => void
  /**
   * Adds what a user would see of `exit`'s failure: `Cause.pretty`, each error's message, `String`,
   * `JSON.stringify` and `util.inspect` (what `console.log`, pino, winston and Sentry print), and the
   * failure logged through the logfmt, structured, json and pretty loggers outside any fiber.
   */
  readonly recordExit: (label: string, exit: Exit.Exit<unknown, unknown>) => void
  readonly captured: () => ReadonlyArray<Captured>
  /** Where each secret appears: `"<label> contains <secret name>"`; empty when nothing leaked. */
  readonly leaks: (secrets: ReadonlyArray<Secret>) => ReadonlyArray<string>
}

/**
 * A new audit. Provide its `layer` to the run (it replaces the default logger, lowers the minimum
 * log level to Debug and installs a recording tracer).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: () => Audit = internal.make
