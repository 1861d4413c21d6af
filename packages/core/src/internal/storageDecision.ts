/**
 * What storage `auto` decided, per keyring service, kept in `storage.json` in the state directory
 * so that the keyring is probed, and a fallback announced, once and not in every process: the
 * CLI is a new process per command.
 *
 * `{ "version": 1, "services": { "<service>": { "storage": "file", "decidedAt": "...",
 * "reason": "...", "timedOut": true } } }`, 0600 in the 0700 state directory, written atomically.
 * A missing or unreadable file, or a service without a valid entry, means "decide again", never a
 * failure.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import type { CredentialStoreError } from "../AuthError.js"
import type { Decision } from "../CredentialStorage.js"
import { writeFileAtomic } from "./atomicFile.js"
import * as StoreFile from "./storeFile.js"
import * as StoreKeyring from "./storeKeyring.js"

/** The decision file of a state directory. @internal */
export const fileOf = (directory: string): string => Path.join(directory, "storage.json")

/** Where one decision is kept: the decision file and the keyring service it is for. @internal */
export interface Target {
  readonly file: string
  readonly service: string
}

const Entry = Schema.Struct({
  storage: Schema.Literal("keyring", "file"),
  decidedAt: Schema.DateTimeUtc,
  reason: Schema.optional(Schema.String),
  timedOut: Schema.optionalWith(Schema.Boolean, { default: () => false })
})
const decodeEntry = Schema.decodeUnknownOption(Entry)
const encodeEntry = Schema.encodeSync(Entry)

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The file's entries as JSON values by service (`{}` when it is missing or not ours). */
const readServices = (file: string): Effect.Effect<Record<string, unknown>> =>
  Effect.promise(async () => {
    try {
      const value: unknown = JSON.parse(await Fs.readFile(file, "utf8"))
      return isRecord(value) && value.version === 1 && isRecord(value.services) ? { ...value.services } : {}
    } catch {
      return {}
    }
  })

const toDecision = (target: Target, entry: typeof Entry.Type): Decision => ({
  kind: entry.storage,
  decidedAtMillis: DateTime.toEpochMillis(entry.decidedAt),
  reason: entry.reason,
  timedOut: entry.timedOut,
  file: target.file
})

const read = (target: Target): Effect.Effect<Option.Option<Decision>> =>
  Effect.map(readServices(target.file), (services) =>
    Option.map(
      Object.hasOwn(services, target.service) ? decodeEntry(services[target.service]) : Option.none(),
      (entry) => toDecision(target, entry)
    ))

/** Best effort: a decision that cannot be written is made again by the next process. */
const write = (target: Target, decision: Decision): Effect.Effect<void> =>
  Effect.flatMap(readServices(target.file), (services) => {
    services[target.service] = encodeEntry({
      storage: decision.kind,
      decidedAt: DateTime.unsafeMake(decision.decidedAtMillis),
      reason: decision.reason,
      timedOut: decision.timedOut
    })
    return Effect.tryPromise(() =>
      writeFileAtomic(target.file, JSON.stringify({ version: 1, services }, null, 2) + "\n", { createDirectory: true })
    ).pipe(
      Effect.catchAll((error) => Effect.logDebug(`Cannot record the storage decision in ${target.file}`, error.cause))
    )
  })

// The decisions of this process by target, so that layers built one after another (`status`
// builds one per site) share one probe, one warning and every fallback; the file shares them
// with the next processes. One permit: two layers built at once wait for one probe.
const known = new Map<string, Decision>()
const permit = Effect.unsafeMakeSemaphore(1)
const keyOf = (target: Target) => `${target.file}\n${target.service}`

/**
 * The one warning of a decision for the file: why, where the credentials go, and how to get the
 * keyring back.
 */
const warn = (decision: Decision, fileDescribe: string): Effect.Effect<void> =>
  Effect.logWarning(
    `The system keyring cannot be used (${decision.reason}); storing credentials in ${fileDescribe} instead, ` +
      `readable only by you, from now on (remembered in ${StoreFile.shortPath(decision.file)}). ` +
      "To use the keyring again once it works, delete that file or set storage = \"keyring\"."
  )

const forFile = (target: Target, error: CredentialStoreError, now: number): Decision => ({
  kind: "file",
  decidedAtMillis: now,
  reason: StoreKeyring.reasonOf(error),
  timedOut: StoreKeyring.timedOut(error),
  file: target.file
})

/**
 * The decision for `target`: this process's, else the file's, else made now by `probe` (the
 * keyring when it works, else the file, with one warning) and recorded.
 *
 * @internal
 */
export const decide = (
  target: Target,
  probe: Effect.Effect<void, CredentialStoreError>,
  fileDescribe: string
): Effect.Effect<Decision> =>
  permit.withPermits(1)(Effect.gen(function*() {
    const key = keyOf(target)
    const cached = known.get(key)
    if (cached !== undefined) return cached
    const stored = yield* read(target)
    if (Option.isSome(stored)) {
      known.set(key, stored.value)
      return stored.value
    }
    const failure = yield* Effect.flip(probe).pipe(Effect.option)
    const now = yield* Clock.currentTimeMillis
    const decision: Decision = Option.match(failure, {
      onNone: () => ({ kind: "keyring", decidedAtMillis: now, timedOut: false, file: target.file }),
      onSome: (error) => forFile(target, error, now)
    })
    yield* write(target, decision)
    known.set(key, decision)
    if (decision.kind === "file") yield* warn(decision, fileDescribe)
    return decision
  }))

/**
 * This process's decision for `target`, once {@link decide} made or read it.
 *
 * @internal
 */
export const current = (target: Target): Decision | undefined => known.get(keyOf(target))

/**
 * The keyring failed during a call although the decision was the keyring: from now on the file,
 * recorded, with one warning (a second failure in this process changes nothing).
 *
 * @internal
 */
export const fallBack = (target: Target, error: CredentialStoreError, fileDescribe: string): Effect.Effect<void> =>
  permit.withPermits(1)(Effect.gen(function*() {
    if (known.get(keyOf(target))?.kind === "file") return
    const decision = forFile(target, error, yield* Clock.currentTimeMillis)
    yield* write(target, decision)
    known.set(keyOf(target), decision)
    yield* warn(decision, fileDescribe)
  }))
