/** @internal */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as PlatformError from "@effect/platform/Error"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { Redis } from "ioredis"
import { CredentialStoreError } from "@effect-auth/core/AuthError"

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
    cause: new CredentialStoreError({ store: name, detail: `Redis ${method} failed: ${messageOf(error)}` })
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
  return KeyValueStore.makeStringOnly({
    get: (key) => Effect.map(call("get", () => client.get(prefix + key)), Option.fromNullable),
    set: (key, value) => Effect.asVoid(call("set", () => client.set(prefix + key, value))),
    remove: (key) => Effect.asVoid(call("remove", () => client.del(prefix + key))),
    has: (key) => Effect.map(call("has", () => client.exists(prefix + key)), (n) => n > 0),
    clear: Effect.flatMap(keys, (all) =>
      all.length === 0 ? Effect.void : Effect.asVoid(call("clear", () => client.del(...all)))),
    size: Effect.map(keys, (all) => all.length)
  })
}
