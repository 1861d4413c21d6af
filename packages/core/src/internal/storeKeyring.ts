/** @internal */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as PlatformError from "@effect/platform/Error"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Deferred from "effect/Deferred"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as SynchronizedRef from "effect/SynchronizedRef"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Module from "node:module"
import * as Net from "node:net"
import * as Readline from "node:readline"
import * as Url from "node:url"
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

/** What every timeout's detail says: how {@link timedOut} knows one. */
const didNotAnswer = "The system keyring did not answer within"

/** Whether a keyring failure was a timeout: the keyring hangs (locked, or a prompt nobody sees). @internal */
export const timedOut = (error: CredentialStoreError): boolean => error.detail.startsWith(didNotAnswer)

/**
 * A keyring failure in a few words, for the storage decision and its warning:
 * `the system keyring did not answer within 2s`, `the system keyring failed: ...`.
 *
 * @internal
 */
export const reasonOf = (error: CredentialStoreError): string => {
  const first = error.detail.split("; ")[0].replace(/ \([a-z ]+\)(?=:|$)/, "")
  return first.charAt(0).toLowerCase() + first.slice(1)
}

const messageOf = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0].trim()

/** @internal */
export type Request =
  | { readonly op: "get"; readonly service: string; readonly account: string }
  | { readonly op: "set"; readonly service: string; readonly account: string; readonly value: string }
  | { readonly op: "delete"; readonly service: string; readonly account: string }
  | { readonly op: "list"; readonly service: string }

/**
 * The keyring runs in a helper process, `keyringHelper.cjs`. `@napi-rs/keyring` connects to D-Bus
 * synchronously on the calling thread, so a hung bus or keyring daemon would block the event loop
 * (no timer could fire) and, in a worker thread, even `process.exit`. A helper process can be
 * killed when a call times out.
 *
 * The file is beside this module in the sources and in `dist` (the build emits it); a bundle (the
 * CLI's) finds it through the package's `@effect-auth/core/keyringHelper` export.
 */
const helperFile = (): string => {
  const beside = Url.fileURLToPath(new URL("./keyringHelper.cjs", import.meta.url))
  if (Fs.existsSync(beside)) return beside
  try {
    return Module.createRequire(import.meta.url).resolve("@effect-auth/core/keyringHelper")
  } catch {
    throw new Error(`the keyring helper keyringHelper.cjs is neither at ${beside} nor in @effect-auth/core; reinstall it`)
  }
}

interface Helper {
  readonly child: ChildProcess.ChildProcess
  readonly pending: Map<number, Deferred.Deferred<unknown, string>>
  nextId: number
  /** Why the helper is gone, once it is. */
  stopped: string | undefined
}

/** The helper is referenced only while a call is pending, so an idle helper never keeps this process alive. */
const setRef = (helper: Helper, on: boolean) => {
  const streams: ReadonlyArray<unknown> = [helper.child.stdout, helper.child.stdin]
  for (const stream of streams) {
    if (stream instanceof Net.Socket) {
      if (on) stream.ref()
      else stream.unref()
    }
  }
  if (on) helper.child.ref()
  else helper.child.unref()
}

const stop = (helper: Helper, reason: string) => {
  helper.stopped ??= reason
  if (helper.child.exitCode === null && helper.child.signalCode === null) helper.child.kill("SIGKILL")
  for (const reply of helper.pending.values()) Deferred.unsafeDone(reply, Exit.fail(reason))
  helper.pending.clear()
}

const onLine = (helper: Helper, line: string) => {
  let message: unknown
  try {
    message = JSON.parse(line)
  } catch {
    return
  }
  if (typeof message !== "object" || message === null || !("id" in message) || typeof message.id !== "number") return
  const reply = helper.pending.get(message.id)
  if (reply === undefined) return
  helper.pending.delete(message.id)
  if (helper.pending.size === 0) setRef(helper, false)
  Deferred.unsafeDone(
    reply,
    "ok" in message && message.ok === true
      ? Exit.succeed("value" in message ? message.value : null)
      : Exit.fail("error" in message ? String(message.error) : "unknown error")
  )
}

class MissingBinding extends Error {
  constructor() {
    super(KeyringBinding.missing)
  }
}

/** Starts the helper; closing the scope kills it and fails the calls still waiting for it. */
const startHelper: Effect.Effect<Helper, string, Scope.Scope> = Effect.acquireRelease(
  Effect.try({
    try: () => {
      const helperPath = helperFile()
      const modulePath = KeyringBinding.resolve()
      if (modulePath === undefined) throw new MissingBinding()
      const child = ChildProcess.spawn(process.execPath, [helperPath, modulePath], {
        stdio: ["pipe", "pipe", "ignore"],
        env: process.env
      })
      const helper: Helper = { child, pending: new Map(), nextId: 1, stopped: undefined }
      Readline.createInterface({ input: child.stdout! }).on("line", (line) => onLine(helper, line))
      child.stdin!.on("error", () => {})
      child.on("error", (error) => stop(helper, `cannot start the keyring helper: ${error.message}`))
      child.on("exit", (code, signal) => stop(helper, `the keyring helper exited (${signal ?? code})`))
      setRef(helper, false)
      return helper
    },
    catch: (error) => error instanceof MissingBinding ? error.message : `cannot start the keyring helper: ${messageOf(error)}`
  }),
  (helper) => Effect.sync(() => stop(helper, "the keyring store was closed"))
)

/**
 * One helper at a time, started on first use (about 50 ms) in a scope of its own inside `scope`,
 * and closed (killed) after a call that timed out or was interrupted: its state is unknown, and
 * the next call starts a new one.
 */
const makeRequester = (scope: Scope.Scope, timeout: Duration.Duration) =>
  Effect.map(
    SynchronizedRef.make<Option.Option<{ readonly helper: Helper; readonly scope: Scope.CloseableScope }>>(Option.none()),
    (current) => {
      const acquire = SynchronizedRef.modifyEffect(current, (state) =>
        Option.isSome(state) && state.value.helper.stopped === undefined
          ? Effect.succeed([state.value.helper, state] as const)
          : Effect.gen(function*() {
            if (Option.isSome(state)) yield* Scope.close(state.value.scope, Exit.void)
            const child = yield* Scope.fork(scope, ExecutionStrategy.sequential)
            const helper = yield* Scope.extend(startHelper, child).pipe(
              Effect.tapError(() => Scope.close(child, Exit.void))
            )
            return [helper, Option.some({ helper, scope: child })] as const
          }))
      const discard = (helper: Helper) =>
        SynchronizedRef.updateEffect(current, (state) =>
          Option.isSome(state) && state.value.helper === helper
            ? Effect.as(Scope.close(state.value.scope, Exit.void), Option.none())
            : Effect.succeed(state))
      return (req: Request): Effect.Effect<unknown, string | "timeout"> =>
        Effect.flatMap(acquire, (helper) =>
          Effect.flatMap(Deferred.make<unknown, string>(), (reply) => {
            const id = helper.nextId++
            helper.pending.set(id, reply)
            if (helper.pending.size === 1) setRef(helper, true)
            helper.child.stdin!.write(JSON.stringify({ id, ...req }) + "\n")
            return Deferred.await(reply).pipe(
              Effect.timeout(timeout),
              Effect.catchTag("TimeoutException", () => Effect.fail("timeout" as const)),
              Effect.onExit((exit) => {
                if (!helper.pending.delete(id)) return Effect.void
                if (helper.pending.size === 0) setRef(helper, false)
                return Exit.isFailure(exit) ? discard(helper) : Effect.void
              })
            )
          }))
    }
  )

/** @internal */
export interface Keyring {
  readonly service: string
  readonly describe: string
  /** One keyring call, bounded by the timeout; `method` and `key` go into the error. */
  readonly call: (method: string, key: string | undefined, req: Request) => Effect.Effect<unknown, CredentialStoreError>
}

/**
 * The keyring of `service`, its helper process living at most as long as the scope.
 *
 * @internal
 */
export const makeKeyring = (options: Options = {}): Effect.Effect<Keyring, never, Scope.Scope> =>
  Effect.gen(function*() {
  const service = options.service ?? defaultService
  const name = describe(service)
  const timeout = Duration.decode(options.timeout ?? Duration.seconds(3))
  const request = yield* makeRequester(yield* Effect.scope, timeout)
  return {
    service,
    describe: name,
    call: (method, key, req) =>
      Effect.mapError(request(req), (error) =>
        new CredentialStoreError({
          store: name,
          key,
          detail: error === "timeout"
            ? `${didNotAnswer} ${Duration.format(timeout)} (${method}); ` +
              "it may be locked or waiting for a password prompt nobody can see"
            : `The system keyring failed (${method}): ${error}`,
          hint: error === KeyringBinding.missing ? KeyringBinding.installHint : hint,
          reason: "Unavailable"
        }))
  } satisfies Keyring
  })

const platformError = (method: string, error: CredentialStoreError): PlatformError.PlatformError =>
  new PlatformError.SystemError({
    module: "KeyValueStore",
    method,
    reason: timedOut(error) ? "TimedOut" : "Unknown",
    description: error.detail,
    cause: error
  })

const asString = (value: unknown): Option.Option<string> =>
  typeof value === "string" ? Option.some(value) : Option.none()
const asAccounts = (value: unknown): ReadonlyArray<string> =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []

/** @internal */
export const make = (options: Options = {}): Effect.Effect<KeyValueStore.KeyValueStore, never, Scope.Scope> =>
  Effect.map(makeKeyring(options), (keyring) => {
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
  })

/**
 * Writes, reads back and deletes a probe entry; fails with the reason the keyring cannot be used.
 *
 * @internal
 */
export const check = (options: Options = {}): Effect.Effect<void, CredentialStoreError> =>
  Effect.scoped(Effect.gen(function*() {
    const keyring = yield* makeKeyring(options)
    const { service } = keyring
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
  }))
