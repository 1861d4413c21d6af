/**
 * A `KeyValueStore` on Redis (`ioredis`), for fleets of workers sharing one token.
 *
 * @since 0.1.0
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { CredentialStoreError } from "@effect-auth/core/AuthError"
import * as internal from "./internal/storeRedis.js"
import * as TokenStore from "@effect-auth/core/TokenStore"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. */
  readonly url: string
  /** Prepended to every key. Default `effect-auth:`. */
  readonly prefix?: string | undefined
  /** Bound on connecting and on every command. Default 3 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Describes the store for messages, without the URL's credentials: `redis redis://host:6379/0`.
 *
 * @since 0.1.0
 * @category utils
 */
export const describe = (url: string): string => internal.describeUrl(url)

/**
 * A `KeyValueStore` on Redis. The connection is opened when the layer is built (failing with a
 * `CredentialStoreError` if Redis cannot be reached) and closed with its scope; every command is
 * time-bounded. `clear` and `size` cover the keys under the prefix only (via `SCAN`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<KeyValueStore.KeyValueStore, CredentialStoreError> =>
  Layer.scoped(
    KeyValueStore.KeyValueStore,
    Effect.map(internal.connect(options), (client) => internal.makeStore(client, options))
  )

/**
 * A `TokenStore` on Redis: {@link layer} with `TokenStore.layer`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTokenStore = (options: Options): Layer.Layer<TokenStore.TokenStore, CredentialStoreError> =>
  TokenStore.layer({ describe: describe(options.url) }).pipe(Layer.provide(layer(options)))
