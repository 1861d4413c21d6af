/**
 * One entry point to choose where tokens are kept and how processes take turns refreshing them:
 * a `TokenStore` and the matching `TokenLock` for a storage kind (what the CLI's `storage`
 * setting names).
 *
 * | kind | store | lock |
 * | --- | --- | --- |
 * | `keyring` | system keyring (`KeyringStore`) | lock files in the state directory |
 * | `file` | `credentials.json` in the state directory (`SecureFileStore`) | lock files in the state directory |
 * | `redis` | Redis (`RedisStore` of `@effect-auth/redis`) | Redis `SET NX PX` locks on the same connection |
 * | `memory` | memory, gone with the process | in-process |
 * | `auto` | the keyring if it works, else the file with one warning: decided once and remembered | lock files in the state directory |
 *
 * `auto` probes the keyring once and records its {@link Decision} in `storage.json` in the state
 * directory (per keyring service), so later processes neither probe nor warn. While the decision
 * is the keyring, the file stays behind it: a keyring that fails or hangs during a call turns the
 * decision to the file (one warning), and reads take the freshest entry of the two (the later
 * `issuedAt`, then the later expiry). While it is the file, the keyring is not asked at all, so a
 * keyring that hung is never waited on twice. Deleting `storage.json` or choosing the storage
 * explicitly decides again.
 *
 * `keyring` needs the optional package `@napi-rs/keyring` and `redis` the package
 * `@effect-auth/redis`; without them the layer fails with an `InvalidConfiguration` naming the
 * package to install.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { CredentialStoreError, InvalidConfiguration } from "./AuthError.js"
import * as internal from "./internal/credentialStorage.js"
import type { TokenLock } from "./TokenLock.js"
import type { TokenStore } from "./TokenStore.js"

/**
 * The storage kinds.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "auto" | "keyring" | "file" | "redis" | "memory"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly kind: Kind
  /** The state directory for the credential file and the lock files. Default `SecureFileStore.defaultDirectory()`. */
  readonly directory?: string | undefined
  /** Required for `redis`: `redis://host:6379` or `rediss://` for TLS. */
  readonly redisUrl?: string | undefined
  /** Prefix of every Redis key. Default `effect-auth:`. */
  readonly redisPrefix?: string | undefined
  /** The keyring service name. Default `effect-auth`. */
  readonly keyringService?: string | undefined
  /** Bound on every keyring call. Default 3 seconds. */
  readonly keyringTimeout?: Duration.DurationInput | undefined
}

/**
 * What `auto` decided for a keyring service, as `storage.json` in the state directory keeps it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decision {
  readonly kind: "keyring" | "file"
  readonly decidedAtMillis: number
  /** Why not the keyring: `the system keyring did not answer within 2s`. */
  readonly reason?: string | undefined
  /** Whether the keyring hung (a timeout) rather than failed. */
  readonly timedOut: boolean
  /** The decision file, `storage.json` in the state directory. */
  readonly file: string
}

/**
 * What {@link select} chose: the concrete kind, its description for messages, and for `auto` its
 * decision.
 *
 * @since 0.1.0
 * @category models
 */
export interface Selection {
  readonly kind: Exclude<Kind, "auto">
  readonly describe: string
  /** For `auto`: what it decided (for the file, `reason` says why not the keyring). */
  readonly decision?: Decision | undefined
}

/**
 * Resolves `auto` (its recorded decision, else a probe of the keyring, recorded, with the
 * warning when it falls back) and checks the options, without opening anything else: `redis`
 * without a URL fails with `InvalidConfiguration` saying to set `redis_url` / `EFFECT_AUTH_REDIS_URL`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const select = (options: Options): Effect.Effect<Selection, InvalidConfiguration> =>
  Effect.flatMap(RedisLoader, (load) => internal.select(options, load))

/**
 * The `TokenStore` and `TokenLock` for `options.kind`. For `auto`, the process that decides for
 * the file, or falls back to it, logs one warning (`Effect.logWarning`) naming why, the file used
 * and how to get the keyring back, as `gh` does; later processes follow the decision silently.
 * The Redis connection (one for both services) is closed with the layer's scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<TokenStore | TokenLock, CredentialStoreError | InvalidConfiguration> =>
  Layer.unwrapEffect(Effect.map(RedisLoader, (load) => internal.layer(options, load)))

/**
 * What storage `redis` gets from `@effect-auth/redis` (its `RedisStorage.driver`): core itself
 * does not depend on a Redis client.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisDriver {
  /** The server for messages, without the URL's credentials: `redis redis://host:6379/0`. */
  readonly describe: (url: string) => string
  /** The store and the locks on one connection, closed with the layer's scope. */
  readonly layer: (options: {
    readonly url: string
    readonly prefix: string
    readonly describe: string
  }) => Layer.Layer<TokenStore | TokenLock, CredentialStoreError>
}

/**
 * How storage `redis` loads `@effect-auth/redis`: by default a dynamic `import()` of the package
 * when a site first uses Redis, so programs that never use it never load it. A bundled program
 * provides its own, so that the bundler sees the import:
 * `Effect.provideService(CredentialStorage.RedisLoader, () => import("@effect-auth/redis"))`.
 *
 * @since 0.1.0
 * @category references
 */
export class RedisLoader extends Context.Reference<RedisLoader>()("@effect-auth/core/CredentialStorage/RedisLoader", {
  defaultValue: (): () => Promise<unknown> => internal.importRedis
}) {}
