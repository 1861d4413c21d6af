/**
 * Storage `redis` of `@effect-auth/core/CredentialStorage` (and of the CLI's `storage = "redis"`):
 * the Redis store and the Redis locks on one connection. `CredentialStorage` loads this module
 * itself when a site uses Redis; install this package next to `@effect-auth/core` for it.
 *
 * @since 0.1.0
 */
import type * as CredentialStorage from "@effect-auth/core/CredentialStorage"
import * as TokenLock from "@effect-auth/core/TokenLock"
import * as TokenStore from "@effect-auth/core/TokenStore"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Redis } from "ioredis"
import * as LockRedis from "./internal/lockRedis.js"
import * as StoreRedis from "./internal/storeRedis.js"

class RedisClient extends Context.Tag("@effect-auth/redis/RedisStorage/RedisClient")<RedisClient, Redis>() {}

/**
 * The driver `CredentialStorage` uses for storage `redis`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const driver: CredentialStorage.RedisDriver = {
  describe: StoreRedis.describeUrl,
  layer: ({ describe, prefix, url }) => {
    const store = Layer.effect(
      TokenStore.TokenStore,
      Effect.map(RedisClient, (redis) => TokenStore.make(StoreRedis.makeStore(redis, { url, prefix }), describe))
    )
    const lock = Layer.effect(
      TokenLock.TokenLock,
      Effect.map(RedisClient, (redis) => {
        const locks = `${describe} locks`
        return { describe: locks, withLock: LockRedis.withLock(redis, { ...LockRedis.defaults, prefix, describe: locks }) }
      })
    )
    return Layer.merge(store, lock).pipe(Layer.provide(Layer.scoped(RedisClient, StoreRedis.connect({ url }))))
  }
}
