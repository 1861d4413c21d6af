/** @internal */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as PlatformError from "@effect/platform/Error"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { Redis } from "ioredis"
import { CredentialStoreError } from "@effect-auth/core/AuthError"
import * as Fence from "./fence.js"

/** @internal */
export interface ConnectOptions {
  readonly url: string
  readonly timeout?: Duration.DurationInput | undefined
}

/** `redis://user:pass@host:port/db` shown without its password. */
/** @internal */
export const describeUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    parsed.password = ""
    parsed.username = ""
    return `redis ${parsed.toString()}`
  } catch {
    return "redis (invalid URL)"
  }
}

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

/**
 * A connected client, closed with the scope. Commands fail after `timeout` instead of queueing
 * while the server is away.
 *
 * @internal
 */
export const connect = (options: ConnectOptions): Effect.Effect<Redis, CredentialStoreError, Scope.Scope> => {
  const name = describeUrl(options.url)
  const millis = Duration.toMillis(Duration.decode(options.timeout ?? Duration.seconds(3)))
  return Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        if (!/^rediss?:\/\//.test(options.url)) throw new Error("the URL must start with redis:// or rediss://")
        // Loaded on first use: programs that never touch Redis (the CLI with file storage) do not pay for it.
        const { Redis } = await import("ioredis")
        const client = new Redis(options.url, {
          lazyConnect: true,
          connectTimeout: millis,
          commandTimeout: millis,
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false,
          retryStrategy: (times) => times > 20 ? null : Math.min(times * 100, 1_000)
        })
        // Errors are reported by the commands; without a listener ioredis prints them.
        client.on("error", () => {})
        try {
          await client.connect()
        } catch (error) {
          client.disconnect()
          throw error
        }
        return client
      },
      catch: (error) =>
        new CredentialStoreError({
          store: name,
          detail: `Cannot connect to Redis: ${messageOf(error)}`,
          hint: "Check the Redis URL and that the server is reachable."
        })
    }),
    (client) => Effect.promise(() => client.quit().then(() => undefined, () => client.disconnect()))
  )
}

const failure = (method: string, name: string, error: unknown): PlatformError.PlatformError =>
  new PlatformError.SystemError({
    module: "KeyValueStore",
    method,
    reason: "Unknown",
    description: messageOf(error),
    // A failed command (a timeout, a lost connection) says nothing about the entry: try again, do not log out.
    cause: new CredentialStoreError({
      store: name,
      detail: `Redis ${method} failed: ${messageOf(error)}`,
      reason: "Unavailable",
      hint: "Check that Redis is running and reachable, then try again; the stored login is kept."
    })
  })

/**
 * The fenced write: sets KEYS[1] to ARGV[1] when the lock KEYS[2] still holds our owner id ARGV[2],
 * or when the entry is still the one we read under the lock (ARGV[3] = "1" and the value ARGV[4],
 * or ARGV[3] = "0" and nothing stored): then no other process has stored anything since, and
 * whoever reads next gets our token instead of spending the refresh token we spent. Else 0.
 */
const fencedSetScript = `local held = redis.call("get", KEYS[2]) == ARGV[2]
local current = redis.call("get", KEYS[1])
local unchanged = (ARGV[3] == "0" and current == false) or (ARGV[3] == "1" and current == ARGV[4])
if held or unchanged then redis.call("set", KEYS[1], ARGV[1]) return 1 end
return 0`

const superseded = (name: string, key: string): PlatformError.PlatformError =>
  new PlatformError.SystemError({
    module: "KeyValueStore",
    method: "set",
    reason: "Busy",
    description: "the lock was lost and another process stored a newer token",
    cause: new CredentialStoreError({
      store: name,
      key,
      detail: "The lock expired while Redis stalled and another process stored a newer token; this one was not stored",
      reason: "LockLost"
    })
  })

/** @internal */
export const makeStore = (
  client: Redis,
  options: { readonly url: string; readonly prefix?: string | undefined }
): KeyValueStore.KeyValueStore => {
  const prefix = options.prefix ?? "effect-auth:"
  const name = describeUrl(options.url)
  const call = <A>(method: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: (error) => failure(method, name, error) })
  const keys = call("scan", async () => {
    const all: Array<string> = []
    let cursor = "0"
    do {
      const [next, batch] = await client.scan(cursor, "MATCH", `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`, "COUNT", 200)
      cursor = next
      all.push(...batch)
    } while (cursor !== "0")
    return all
  })
  const server = Fence.serverOf(options.url)
  const fenceOf = (key: string) => Effect.map(FiberRef.get(Fence.currentFences), (fences) => Fence.find(fences, server, key))
  return KeyValueStore.makeStringOnly({
    get: (key) =>
      Effect.flatMap(fenceOf(key), (fence) =>
        Effect.map(call("get", () => client.get(prefix + key)), (value) => {
          fence?.read.set(key, value)
          return Option.fromNullable(value)
        })),
    set: (key, value) =>
      Effect.flatMap(fenceOf(key), (fence) => {
        if (fence === undefined) return Effect.asVoid(call("set", () => client.set(prefix + key, value)))
        const read = fence.read.get(key)
        return Effect.flatMap(
          call("set", () =>
            client.eval(
              fencedSetScript,
              2,
              prefix + key,
              fence.lockKey,
              value,
              fence.owner,
              read === undefined ? "-" : read === null ? "0" : "1",
              read ?? ""
            )),
          (written) => {
            if (written !== 1) return Effect.fail(superseded(name, key))
            fence.read.set(key, value)
            return Effect.void
          }
        )
      }),
    remove: (key) => Effect.asVoid(call("remove", () => client.del(prefix + key))),
    has: (key) => Effect.map(call("has", () => client.exists(prefix + key)), (n) => n > 0),
    clear: Effect.flatMap(keys, (all) =>
      all.length === 0 ? Effect.void : Effect.asVoid(call("clear", () => client.del(...all)))),
    size: Effect.map(keys, (all) => all.length)
  })
}
