/**
 * A secret-leak audit for tests: captures everything a run lets out (every log line at Debug level
 * in two renderings, every span's name, attributes, events and failure, and any text a test adds:
 * error messages, `Cause.pretty`, a command's output) and finds given secrets in it. effect-auth's
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
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"

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
  /** Adds what a user would see of `exit`'s failure: `Cause.pretty`, each error's message and JSON. */
  readonly recordExit: (label: string, exit: Exit.Exit<unknown, unknown>) => void
  readonly captured: () => ReadonlyArray<Captured>
  /** Where each secret appears: `"<label> contains <secret name>"`; empty when nothing leaked. */
  readonly leaks: (secrets: ReadonlyArray<Secret>) => ReadonlyArray<string>
}

const render = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return `${String(value)} ${JSON.stringify(value)}`
  } catch {
    return String(value)
  }
}

/** The parts of a secret that must never appear: the whole value, and each long line of a PEM body. */
const fragments = (secret: string): ReadonlyArray<string> => {
  const lines = secret.split(/\r?\n/).map((line) => line.trim()).filter((line) =>
    line.length >= 16 && !line.startsWith("-----")
  )
  return lines.length > 1 ? lines : [secret.trim()]
}

/**
 * A new audit. Provide its `layer` to the run (it replaces the default logger, lowers the minimum
 * log level to Debug and installs a recording tracer).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): Audit => {
  const entries: Array<Captured> = []
  const record = (label: string, text: string) => void entries.push({ label, text })

  const logger = Logger.make((options) => {
    record("log", Logger.logfmtLogger.log(options))
    record("log (json)", JSON.stringify(Logger.structuredLogger.log(options)))
  })

  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const events: Array<string> = []
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: Math.random().toString(16).slice(2),
        traceId: parent._tag === "Some" ? parent.value.traceId : Math.random().toString(16).slice(2),
        parent,
        context,
        get status() {
          return status
        },
        attributes,
        links: [...links],
        sampled: true,
        kind,
        end: (endTime, exit) => {
          status = { _tag: "Ended", startTime, endTime, exit }
          record(`span ${name}`, [
            name,
            ...[...attributes].map(([key, value]) => `${key}=${render(value)}`),
            ...events,
            Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
          ].join(" "))
        },
        attribute: (key, value) => void attributes.set(key, value),
        event: (eventName, _time, eventAttributes) => void events.push(`${eventName} ${render(eventAttributes)}`),
        addLinks: () => {}
      }
      spans.push(span)
      return span
    },
    context: (f) => f()
  })

  const recordExit = (label: string, exit: Exit.Exit<unknown, unknown>) => {
    if (Exit.isSuccess(exit)) return
    record(`${label} (Cause.pretty)`, Cause.pretty(exit.cause))
    for (const error of [...Cause.failures(exit.cause), ...Cause.defects(exit.cause)]) {
      record(`${label} (message)`, error instanceof Error ? `${error.name}: ${error.message}` : render(error))
      record(`${label} (JSON)`, render(error))
    }
    Option.map(Cause.failureOption(exit.cause), (error) => record(`${label} (String)`, String(error)))
  }

  return {
    layer: Layer.mergeAll(
      Logger.replace(Logger.defaultLogger, logger),
      Logger.minimumLogLevel(LogLevel.Debug),
      Layer.setTracer(tracer)
    ),
    record,
    recordExit,
    captured: () => [
      ...entries,
      // spans still open at the end (never ended) are audited too
      ...spans.filter((span) => span.status._tag === "Started").map((span) => ({
        label: `span ${span.name} (open)`,
        text: [...span.attributes].map(([key, value]) => `${key}=${render(value)}`).join(" ")
      }))
    ],
    leaks: (secrets) => {
      const found: Array<string> = []
      const all = [
        ...entries,
        ...spans.map((span) => ({
          label: `span ${span.name}`,
          text: `${span.name} ${[...span.attributes].map(([key, value]) => `${key}=${render(value)}`).join(" ")}`
        }))
      ]
      for (const secret of secrets) {
        const value = Redacted.isRedacted(secret.value) ? Redacted.value(secret.value) : secret.value
        if (value.length < 6) throw new Error(`the secret ${secret.name} is too short to search for`)
        for (const fragment of fragments(value)) {
          for (const entry of all) {
            if (entry.text.includes(fragment)) found.push(`${entry.label} contains ${secret.name}`)
          }
        }
      }
      return [...new Set(found)]
    }
  }
}
