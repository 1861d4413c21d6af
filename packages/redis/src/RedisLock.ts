/**
 * A `TokenLock` on Redis, for fleets of workers on several hosts sharing one token.
 *
 * @since 0.1.0
 */
import type { CredentialStoreError } from "@effect-auth/core/AuthError"
import * as TokenLock from "@effect-auth/core/TokenLock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LockRedis from "./internal/lockRedis.js"
import * as StoreRedis from "./internal/storeRedis.js"

/**
 * Options for {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `redis://` or `rediss://`. */
  readonly url: string
  /** Key prefix; lock keys are `<prefix>lock:<key>`. Default `effect-auth:`. */
  readonly prefix?: string | undefined
  /**
   * The lock expires after this unless its holder, still alive, extends it (it does every third of
   * the ttl), so a dead holder frees it within one ttl. Default 30 s.
   */
  readonly ttl?: Duration.DurationInput | undefined
  /** How long to wait for the lock. Default 60 s. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Polling interval (randomised up to twice this). Default 20 ms. */
  readonly poll?: Duration.DurationInput | undefined
  /** Bound on connecting and on every command. Default 3 s. */
  readonly commandTimeout?: Duration.DurationInput | undefined
}

/**
 * Redis locks: `SET <key> <owner> NX PX <ttl>` to take, extended by its live holder, a Lua
 * compare-and-delete to release (only the owner releases). The connection is closed with the scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<TokenLock.TokenLock, CredentialStoreError> =>
  Layer.scoped(
    TokenLock.TokenLock,
    Effect.map(StoreRedis.connect({ url: options.url, timeout: options.commandTimeout }), (client) => {
      const describe = `${StoreRedis.describeUrl(options.url)} locks`
      const withLock = LockRedis.withLock(client, {
        prefix: options.prefix ?? "effect-auth:",
        ttl: Duration.decode(options.ttl ?? Duration.seconds(30)),
        timeout: Duration.decode(options.timeout ?? Duration.seconds(60)),
        poll: Duration.decode(options.poll ?? Duration.millis(20)),
        describe
      })
      return { describe, withLock }
    })
  )
