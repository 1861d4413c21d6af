/** @internal */
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import { Console as NodeConsole } from "node:console"
import { Writable } from "node:stream"
import { inspect } from "node:util"
import type { Audit, Captured } from "../SecretAudit.js"

/** `String`, `JSON.stringify` and `util.inspect` of a value: what `console.log`, pino, winston and Sentry print. */
const render = (value: unknown): string => {
  if (typeof value === "string") return value
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch {
    json = undefined
  }
  return `${String(value)} ${json ?? ""} ${inspect(value, { depth: 12, showHidden: false })}`
}

/** The parts of a secret that must never appear: the whole value, and each long line of a PEM body. */
const fragments = (secret: string): ReadonlyArray<string> => {
  const lines = secret.split(/\r?\n/).map((line) => line.trim()).filter((line) =>
    line.length >= 16 && !line.startsWith("-----")
  )
  return lines.length > 1 ? lines : [secret.trim()]
}

/** A `Console` service writing into `sink`, for rendering the pretty logger to text. */
const recordingConsole = (sink: (text: string) => void): Console.Console => {
  const stream = new Writable({
    write: (chunk, _encoding, done) => {
      sink(String(chunk))
      done()
    }
  })
  const unsafe: Console.UnsafeConsole = new NodeConsole({ stdout: stream, stderr: stream, colorMode: false })
  const run = <A extends ReadonlyArray<unknown>>(f: (...args: A) => void) => (...args: A) => Effect.sync(() => f(...args))
  return {
    [Console.TypeId]: Console.TypeId,
    assert: run(unsafe.assert.bind(unsafe)),
    clear: Effect.sync(() => unsafe.clear()),
    count: run(unsafe.count.bind(unsafe)),
    countReset: run(unsafe.countReset.bind(unsafe)),
    debug: run(unsafe.debug.bind(unsafe)),
    dir: run(unsafe.dir.bind(unsafe)),
    dirxml: run(unsafe.dirxml.bind(unsafe)),
    error: run(unsafe.error.bind(unsafe)),
    group: (options) => Effect.sync(() => unsafe.group(options?.label)),
    groupEnd: Effect.sync(() => unsafe.groupEnd()),
    info: run(unsafe.info.bind(unsafe)),
    log: run(unsafe.log.bind(unsafe)),
    table: run(unsafe.table.bind(unsafe)),
    time: run(unsafe.time.bind(unsafe)),
    timeEnd: run(unsafe.timeEnd.bind(unsafe)),
    timeLog: run(unsafe.timeLog.bind(unsafe)),
    trace: run(unsafe.trace.bind(unsafe)),
    warn: run(unsafe.warn.bind(unsafe)),
    unsafe
  }
}

/** @internal */
export const make = (): Audit => {
  const entries: Array<Captured> = []
  const record = (label: string, text: string) => void entries.push({ label, text })

  let pretty = ""
  const prettyConsole = recordingConsole((text) => void (pretty += text))
  const prettyLogger = Logger.prettyLogger({ colors: false, mode: "tty" })
  /** Every rendering of one log entry by Effect's own loggers: logfmt, structured, json and pretty. */
  const renderings = (options: Logger.Logger.Options<unknown>): ReadonlyArray<[string, string]> => {
    const services = FiberRefs.getOrDefault(options.context, DefaultServices.currentServices)
    pretty = ""
    prettyLogger.log({
      ...options,
      context: FiberRefs.updateAs(options.context, {
        fiberId: FiberId.none,
        fiberRef: DefaultServices.currentServices,
        value: Context.add(services, Console.Console, prettyConsole)
      })
    })
    return [
      ["", Logger.logfmtLogger.log(options)],
      [" (json)", JSON.stringify(Logger.structuredLogger.log(options))],
      [" (jsonLogger)", Logger.jsonLogger.log(options)],
      [" (pretty)", pretty]
    ]
  }

  const logger = Logger.make((options) => {
    for (const [suffix, text] of renderings(options)) record(`log${suffix}`, text)
  })

  const spans: Array<Tracer.Span> = []
  const attributesOf = (span: Tracer.Span) => [...span.attributes].map(([key, value]) => `${key}=${render(value)}`)
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
            ...attributesOf(span),
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
    // the failure as a program logs it, `Effect.logError(cause)`, outside any fiber's redaction context
    const logged: Logger.Logger.Options<unknown> = {
      fiberId: FiberId.none,
      logLevel: LogLevel.Error,
      message: [...Cause.failures(exit.cause), ...Cause.defects(exit.cause)],
      cause: exit.cause,
      context: FiberRefs.empty(),
      spans: List.empty(),
      annotations: HashMap.empty(),
      date: new Date(0)
    }
    for (const [suffix, text] of renderings(logged)) record(`${label} (logged${suffix})`, text)
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
        text: attributesOf(span).join(" ")
      }))
    ],
    leaks: (secrets) => {
      const found: Array<string> = []
      const all = [
        ...entries,
        ...spans.map((span) => ({ label: `span ${span.name}`, text: `${span.name} ${attributesOf(span).join(" ")}` }))
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
