/** @internal */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as PlatformError from "@effect/platform/Error"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ChildProcess from "node:child_process"
import * as Net from "node:net"
import { CredentialStoreError } from "../AuthError.js"
import * as KeyringBinding from "./keyringBinding.js"

/** @internal */
export interface Options {
  readonly service?: string | undefined
  readonly timeout?: Duration.DurationInput | undefined
}

/** @internal */
export const defaultService = "effect-auth"

/** @internal */
export const describe = (service: string): string => `system keyring (service "${service}")`

const hint = "Unlock the system keyring or start it (on Linux: gnome-keyring or another Secret Service on the " +
  "D-Bus session bus), or use file storage instead (storage = \"file\", or EFFECT_AUTH_STORAGE=file)."

const messageOf = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0].trim()

/**
 * The keyring runs in a helper process. `@napi-rs/keyring` connects to D-Bus synchronously on the
 * calling thread, so a hung bus or keyring daemon would block the event loop (no timer could fire)
 * and, in a worker thread, even `process.exit`. A helper process can be killed when a call times
 * out. It is started on first use (about 50 ms), shared by every store of this process, kept
 * referenced only while a call is pending, and exits when this process's end of its stdin closes.
 */
const helperSource = `
const keyring = require(process.argv[1])
const send = (m) => process.stdout.write(JSON.stringify(m) + "\\n")
const lines = require("node:readline").createInterface({ input: process.stdin })
lines.on("close", () => process.exit(0))
lines.on("line", async (line) => {
  let m
  try { m = JSON.parse(line) } catch { return }
  try {
    let value = null
    if (m.op === "get") value = (await new keyring.AsyncEntry(m.service, m.account).getPassword()) ?? null
    else if (m.op === "set") await new keyring.AsyncEntry(m.service, m.account).setPassword(m.value)
    else if (m.op === "delete") value = await new keyring.AsyncEntry(m.service, m.account).deleteCredential()
    else if (m.op === "list") value = (await keyring.findCredentialsAsync(m.service)).map((c) => c.account)
    send({ id: m.id, ok: true, value })
  } catch (e) {
    send({ id: m.id, ok: false, error: String((e && e.message) || e).split("\\n")[0] })
  }
})
`

/** @internal */
export type Request =
  | { readonly op: "get"; readonly service: string; readonly account: string }
  | { readonly op: "set"; readonly service: string; readonly account: string; readonly value: string }
  | { readonly op: "delete"; readonly service: string; readonly account: string }
  | { readonly op: "list"; readonly service: string }

type Reply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string }

interface Helper {
  readonly child: ChildProcess.ChildProcess
  readonly pending: Map<number, (reply: Reply) => void>
  nextId: number
}

let helper: Helper | undefined

const setRef = (h: Helper, on: boolean) => {
  const streams: ReadonlyArray<unknown> = [h.child.stdout, h.child.stdin]
  for (const stream of streams) {
    if (stream instanceof Net.Socket) {
      if (on) stream.ref()
      else stream.unref()
    }
  }
  if (on) h.child.ref()
  else h.child.unref()
}

const stopHelper = (h: Helper, reason: string) => {
  if (helper === h) helper = undefined
  if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill("SIGKILL")
  for (const resolve of h.pending.values()) resolve({ ok: false, error: reason })
  h.pending.clear()
}

const startHelper = (): Helper => {
  const modulePath = KeyringBinding.resolve()
  if (modulePath === undefined) throw new MissingBinding()
  const child = ChildProcess.spawn(process.execPath, ["-e", helperSource, modulePath], {
    stdio: ["pipe", "pipe", "ignore"],
    env: process.env
  })
  const h: Helper = { child, pending: new Map(), nextId: 1 }
  let buffer = ""
  child.stdout!.setEncoding("utf8")
  child.stdout!.on("data", (chunk: string) => {
    buffer += chunk
    let newline = buffer.indexOf("\n")
    while (newline >= 0) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      newline = buffer.indexOf("\n")
      try {
        const message: unknown = JSON.parse(line)
        if (typeof message === "object" && message !== null && "id" in message && typeof message.id === "number") {
          const resolve = h.pending.get(message.id)
          h.pending.delete(message.id)
          if (h.pending.size === 0) setRef(h, false)
          if (resolve !== undefined) {
            resolve(
              "ok" in message && message.ok === true
                ? { ok: true, value: "value" in message ? message.value : null }
                : { ok: false, error: "error" in message ? String(message.error) : "unknown error" }
            )
          }
        }
      } catch {
        // not ours
      }
    }
  })
  child.stdin!.on("error", () => {})
  child.on("error", (error) => stopHelper(h, `cannot start the keyring helper: ${error.message}`))
  child.on("exit", (code, signal) => stopHelper(h, `the keyring helper exited (${signal ?? code})`))
  setRef(h, false)
  return h
}

/**
 * Sends one request to the helper; on timeout or interruption the helper is killed (its state is
 * unknown) and the next call starts a new one.
 *
 * @internal
 */
export const request = (req: Request, timeoutMillis: number): Effect.Effect<unknown, string | "timeout"> =>
  Effect.async<unknown, string | "timeout">((resume) => {
    let h: Helper
    try {
      h = helper ?? (helper = startHelper())
    } catch (error) {
      resume(Effect.fail(error instanceof MissingBinding ? error.message : `cannot start the keyring helper: ${messageOf(error)}`))
      return
    }
    const id = h.nextId++
    if (h.pending.size === 0) setRef(h, true)
    const timer = setTimeout(() => {
      h.pending.delete(id)
      stopHelper(h, "timed out")
      resume(Effect.fail("timeout"))
    }, timeoutMillis)
    h.pending.set(id, (reply) => {
      clearTimeout(timer)
      resume(reply.ok ? Effect.succeed(reply.value) : Effect.fail(reply.error))
    })
    h.child.stdin!.write(JSON.stringify({ id, ...req }) + "\n")
    return Effect.sync(() => {
      clearTimeout(timer)
      if (h.pending.delete(id)) stopHelper(h, "interrupted")
    })
  })

class MissingBinding extends Error {
  constructor() {
    super(KeyringBinding.missing)
  }
}

/** @internal */
export interface Keyring {
  readonly service: string
  readonly describe: string
  /** One keyring call, bounded by the timeout; `method` and `key` go into the error. */
  readonly call: (method: string, key: string | undefined, req: Request) => Effect.Effect<unknown, CredentialStoreError>
}

/** @internal */
export const makeKeyring = (options: Options = {}): Keyring => {
  const service = options.service ?? defaultService
  const name = describe(service)
  const timeout = Duration.decode(options.timeout ?? Duration.seconds(3))
  const millis = Math.max(1, Duration.toMillis(timeout))
  return {
    service,
    describe: name,
    call: (method, key, req) =>
      Effect.mapError(request(req, millis), (error) =>
        new CredentialStoreError({
          store: name,
          key,
          detail: error === "timeout"
            ? `The system keyring did not answer within ${Duration.format(timeout)} (${method}); ` +
              "it may be locked or waiting for a password prompt nobody can see"
            : `The system keyring failed (${method}): ${error}`,
          hint: error === KeyringBinding.missing ? KeyringBinding.installHint : hint
        }))
  }
}

const platformError = (method: string, error: CredentialStoreError): PlatformError.PlatformError =>
  new PlatformError.SystemError({
    module: "KeyValueStore",
    method,
    reason: error.detail.includes("did not answer") ? "TimedOut" : "Unknown",
    description: error.detail,
    cause: error
  })

const asString = (value: unknown): Option.Option<string> =>
  typeof value === "string" ? Option.some(value) : Option.none()
const asAccounts = (value: unknown): ReadonlyArray<string> =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []

/** @internal */
export const make = (options: Options = {}): KeyValueStore.KeyValueStore => {
  const keyring = makeKeyring(options)
  const { service } = keyring
  const call = (method: string, key: string | undefined, req: Request) =>
    Effect.mapError(keyring.call(method, key, req), (error) => platformError(method, error))
  const list = Effect.map(call("list", undefined, { op: "list", service }), asAccounts)
  return KeyValueStore.makeStringOnly({
    get: (key) => Effect.map(call("get", key, { op: "get", service, account: key }), asString),
    set: (key, value) => Effect.asVoid(call("set", key, { op: "set", service, account: key, value })),
    remove: (key) => Effect.asVoid(call("remove", key, { op: "delete", service, account: key })),
    clear: Effect.flatMap(list, (accounts) =>
      Effect.forEach(
        accounts,
        (account) => call("clear", account, { op: "delete", service, account }),
        { discard: true }
      )),
    size: Effect.map(list, (accounts) => accounts.length)
  })
}

/**
 * Writes, reads back and deletes a probe entry; fails with the reason the keyring cannot be used.
 *
 * @internal
 */
export const check = (options: Options = {}): Effect.Effect<void, CredentialStoreError> => {
  const keyring = makeKeyring(options)
  const { service } = keyring
  return Effect.gen(function*() {
    const account = `effect-auth-probe-${process.pid}-${Math.random().toString(36).slice(2)}`
    const value = `probe-${Date.now()}`
    yield* keyring.call("probe write", account, { op: "set", service, account, value })
    const read = yield* keyring.call("probe read", account, { op: "get", service, account }).pipe(
      Effect.ensuring(Effect.ignore(keyring.call("probe delete", account, { op: "delete", service, account })))
    )
    if (read !== value) {
      return yield* Effect.fail(
        new CredentialStoreError({
          store: keyring.describe,
          key: account,
          detail: "The system keyring did not return what was written to it",
          hint
        })
      )
    }
  })
}
