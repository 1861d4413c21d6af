/** @internal */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import * as Path from "node:path"
import { type CredentialStoreError, InvalidConfiguration } from "../AuthError.js"
import * as TokenLock from "../TokenLock.js"
import * as TokenStore from "../TokenStore.js"
import * as LockRedis from "./lockRedis.js"
import * as StoreFile from "./storeFile.js"
import * as StoreKeyring from "./storeKeyring.js"
import * as StoreRedis from "./storeRedis.js"
import type { Options, Selection } from "../CredentialStorage.js"

// One probe and one warning per keyring service per process: `status` builds a layer per site.
const probes = new Map<string, Effect.Effect<string | undefined>>()
const warned = new Set<string>()

const probeOnce = (options: Options): Effect.Effect<string | undefined> =>
  Effect.suspend(() => {
    const service = options.keyringService ?? StoreKeyring.defaultService
    let cached = probes.get(service)
    if (cached === undefined) {
      cached = StoreKeyring.check({ service, timeout: options.keyringTimeout }).pipe(
        Effect.as(undefined),
        Effect.catchAll((error) => Effect.succeed(error.detail)),
        Effect.tap((reason) => Effect.sync(() => probes.set(service, Effect.succeed(reason))))
      )
    }
    return cached
  })

const directoryOf = (options: Options): string => Path.resolve(options.directory ?? StoreFile.defaultDirectory())

const fileDescribe = (options: Options): string =>
  StoreFile.describe(Path.join(directoryOf(options), "credentials.json"))

const redisUrl = (options: Options): Effect.Effect<string, InvalidConfiguration> => {
  const url = options.redisUrl
  if (url === undefined || url === "") {
    return Effect.fail(
      new InvalidConfiguration({
        detail: "Storage \"redis\" needs the address of the Redis server",
        hint: "Set redis_url in the site's configuration or EFFECT_AUTH_REDIS_URL (redis://host:6379 or rediss:// for TLS)."
      })
    )
  }
  if (!/^rediss?:\/\/./.test(url)) {
    return Effect.fail(
      new InvalidConfiguration({
        detail: `The Redis URL ${StoreRedis.describeUrl(url).replace(/^redis /, "")} is not a redis:// or rediss:// URL`,
        hint: "Set redis_url / EFFECT_AUTH_REDIS_URL to redis://host:6379 (or rediss:// for TLS)."
      })
    )
  }
  return Effect.succeed(url)
}

/** @internal */
export const select = (options: Options): Effect.Effect<Selection, InvalidConfiguration> => {
  switch (options.kind) {
    case "memory":
      return Effect.succeed({ kind: "memory", describe: "memory" })
    case "file":
      return Effect.succeed({ kind: "file", describe: fileDescribe(options) })
    case "keyring":
      return Effect.succeed({ kind: "keyring", describe: StoreKeyring.describe(options.keyringService ?? StoreKeyring.defaultService) })
    case "redis":
      return Effect.map(redisUrl(options), (url) => ({ kind: "redis", describe: StoreRedis.describeUrl(url) }))
    case "auto":
      return Effect.map(probeOnce(options), (reason): Selection =>
        reason === undefined
          ? { kind: "keyring", describe: StoreKeyring.describe(options.keyringService ?? StoreKeyring.defaultService) }
          : { kind: "file", describe: fileDescribe(options), fallbackReason: reason })
  }
}

const fileLock = (options: Options) => TokenLock.layerFile({ directory: directoryOf(options) })

const layerFor = (
  selection: Selection,
  options: Options
): Layer.Layer<TokenStore.TokenStore | TokenLock.TokenLock, CredentialStoreError | InvalidConfiguration> => {
  switch (selection.kind) {
    case "memory":
      return Layer.merge(TokenStore.layerMemory, TokenLock.layerMemory)
    case "file":
      return Layer.merge(
        Layer.effect(
          TokenStore.TokenStore,
          Effect.map(StoreFile.make({ directory: directoryOf(options) }), (file) => TokenStore.make(file.store, file.describe))
        ),
        fileLock(options)
      )
    case "keyring":
      return Layer.merge(
        Layer.scoped(
          TokenStore.TokenStore,
          Effect.map(
            StoreKeyring.make({ service: options.keyringService, timeout: options.keyringTimeout }),
            (store) => TokenStore.make(store, selection.describe)
          )
        ),
        fileLock(options)
      )
    case "redis":
      return Layer.unwrapEffect(Effect.map(redisUrl(options), (url) => {
        const prefix = options.redisPrefix ?? "effect-auth:"
        // One connection serves the store and the locks.
        const client = Layer.scoped(RedisClient, StoreRedis.connect({ url }))
        const store = Layer.effect(
          TokenStore.TokenStore,
          Effect.map(RedisClient, (redis) => TokenStore.make(StoreRedis.makeStore(redis, { url, prefix }), selection.describe))
        )
        const lock = Layer.effect(
          TokenLock.TokenLock,
          Effect.map(RedisClient, (redis) => {
            const describe = `${selection.describe} locks`
            return {
              describe,
              withLock: LockRedis.withLock(redis, { ...LockRedis.defaults, prefix, describe })
            }
          })
        )
        return Layer.merge(store, lock).pipe(Layer.provide(client))
      }))
  }
}

class RedisClient extends Context.Tag("@effect-auth/core/internal/RedisClient")<RedisClient, Redis>() {}

/** @internal */
export const layer = (
  options: Options
): Layer.Layer<TokenStore.TokenStore | TokenLock.TokenLock, CredentialStoreError | InvalidConfiguration> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const selection = yield* select(options)
    if (selection.fallbackReason !== undefined) {
      const service = options.keyringService ?? StoreKeyring.defaultService
      if (!warned.has(service)) {
        warned.add(service)
        yield* Effect.logWarning(
          `The system keyring cannot be used (${selection.fallbackReason}); ` +
            `storing credentials in ${selection.describe} instead, readable only by you. ` +
            "Set storage = \"file\" (EFFECT_AUTH_STORAGE=file) to silence this warning, or unlock/start the keyring."
        )
      }
    }
    return layerFor(selection, options)
  }))
