/**
 * Persistence of tokens on a `@effect/platform` `KeyValueStore`, and the {@link persisted}
 * combinator that makes any `AuthStrategy` survive restarts and be shared by a fleet.
 *
 * @since 0.1.0
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { CredentialStoreError } from "./AuthError.js"
import type { AuthStrategy } from "./AuthStrategy.js"
import * as internal from "./internal/storePersisted.js"
import type { RefreshPolicy } from "./RefreshPolicy.js"
import type { Token } from "./Token.js"
import { TokenLock } from "./TokenLock.js"
import * as TokenSource from "./TokenSource.js"

/**
 * Where tokens are kept between runs, keyed by site (`site`) or site and principal
 * (`site/principal`). Entries are `Token`s encoded with `Schema.parseJson(Token)`.
 *
 * @since 0.1.0
 * @category tags
 */
export class TokenStore extends Context.Tag("@effect-auth/core/TokenStore")<TokenStore, TokenStore.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace TokenStore {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** Where the tokens go, for messages: `file ~/.local/state/effect-auth/credentials.json`. */
    readonly describe: string
    /**
     * The stored token, if any. An entry that cannot be decoded fails with a
     * `CredentialStoreError` naming the store and key, and stays in place.
     */
    readonly load: (key: string) => Effect.Effect<Option.Option<Token>, CredentialStoreError>
    /** Stores `token` under `key`, replacing what was there. */
    readonly save: (key: string, token: Token) => Effect.Effect<void, CredentialStoreError>
    /** Deletes the entry, readable or not. */
    readonly remove: (key: string) => Effect.Effect<void, CredentialStoreError>
  }
}

/**
 * How {@link persisted} uses the store: `ReadWrite` (default) loads, refreshes when stale and
 * saves; `WriteOnly` always logs in afresh, then saves; `Disabled` does not touch the store.
 *
 * @since 0.1.0
 * @category models
 */
export type CacheMode = "ReadWrite" | "WriteOnly" | "Disabled"

/**
 * The store key for a site, and a principal where a site has several.
 *
 * @since 0.1.0
 * @category constructors
 */
export const key = (site: string, principal?: string | undefined): string =>
  principal === undefined || principal === "" ? site : `${site}/${principal}`

/**
 * A {@link TokenStore} over a `KeyValueStore`. Backend failures become `CredentialStoreError`s
 * that name `describe` and the key.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (store: KeyValueStore.KeyValueStore, describe: string) => TokenStore.Service = internal.makeStore

/**
 * A {@link TokenStore} over the `KeyValueStore` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: { readonly describe: string }): Layer.Layer<TokenStore, never, KeyValueStore.KeyValueStore> =>
  Layer.effect(TokenStore, Effect.map(KeyValueStore.KeyValueStore, (store) => make(store, options.describe)))

/**
 * A {@link TokenStore} in memory (the platform's `KeyValueStore.layerMemory`): nothing survives
 * the process. For tests and for `memory` storage.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<TokenStore> = layer({ describe: "memory" }).pipe(
  Layer.provide(KeyValueStore.layerMemory)
)

/**
 * Options for {@link persisted}.
 *
 * @since 0.1.0
 * @category models
 */
export interface PersistedOptions {
  /** The store key, see {@link key}. */
  readonly key: string
  /** Default `ReadWrite`. */
  readonly mode?: CacheMode | undefined
  /**
   * Decides when a stored token is fresh enough to serve as is: it must not be due for refresh
   * under this policy (`RefreshPolicy.marginFor`). Use the engine's policy. Default
   * `RefreshPolicy.defaults`.
   */
  readonly policy?: RefreshPolicy | undefined
}

/**
 * Makes `strategy` persistent:
 *
 * - `acquire` serves a stored token that is still fresh with no network call, refreshes a stale
 *   stored token where the strategy can, and only then logs in; it runs under the
 *   `TokenLock` for the key and re-reads the store after taking it, so one process logs in for all;
 * - `refresh` takes the lock, re-reads the store and returns a newer fresh token another process
 *   stored, else refreshes the STORED token (never a refresh token that another process already
 *   spent);
 * - a strategy without `refresh` that logs in without a person gets one here: it takes a newer
 *   token another process stored, else logs in (under the lock). The engine calls it for a token a
 *   `401` rejected, which `acquire` alone would serve again from the store;
 * - a stored token the service rejects on refresh (its holder died after the service rotated it)
 *   leads to a new login under the lock when the strategy needs no person;
 * - every new token is saved before it is returned, so a rotated refresh token survives a crash;
 * - `revoke` revokes upstream (if the strategy can), then removes the entry.
 *
 * A save that fails fails the call: handing out a token whose rotated refresh token was not
 * stored would make the next process spend the old one.
 *
 * @since 0.1.0
 * @category combinators
 */
export const persisted = (
  strategy: AuthStrategy,
  options: PersistedOptions
): Effect.Effect<AuthStrategy, never, TokenStore | TokenLock> =>
  options.mode === "Disabled"
    ? Effect.succeed(strategy)
    : Effect.map(Effect.all([TokenStore, TokenLock]), ([store, lock]) => internal.persisted(strategy, options, store, lock))

/**
 * A `TokenSource` from a strategy (or an effect building one) made {@link persisted}. Closing
 * the layer does not revoke the token (`revokeOnClose: false`): other processes may share it; log
 * out with the strategy's `revoke`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPersisted = <E = never, R = never>(
  strategy: AuthStrategy | Effect.Effect<AuthStrategy, E, R>,
  options: PersistedOptions
): Layer.Layer<TokenSource.TokenSource, E, Exclude<R, Scope.Scope> | TokenStore | TokenLock> =>
  Layer.scoped(
    TokenSource.TokenSource,
    Effect.gen(function*() {
      const inner = Effect.isEffect(strategy) ? yield* strategy : strategy
      const outer = yield* persisted(inner, options)
      return yield* TokenSource.make(outer, { policy: options.policy, revokeOnClose: false })
    })
  )
