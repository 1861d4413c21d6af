/**
 * The one service every consumer needs: a valid token, on demand.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { AuthError } from "./AuthError.js"
import type { AuthStrategy } from "./AuthStrategy.js"
import * as engine from "./internal/engine.js"
import type { RefreshPolicy } from "./RefreshPolicy.js"
import type { Token } from "./Token.js"

/**
 * Hands out valid tokens. Built by {@link make} from an {@link AuthStrategy}:
 *
 * - `get` serves the held token while it is fresh, with no I/O;
 * - concurrent `get`s without a fresh token share one call to the strategy (single flight);
 * - tokens are refreshed in the background ahead of expiry;
 * - transient failures are retried, no failure is cached.
 *
 * @since 0.1.0
 * @category tags
 */
export class TokenSource extends Context.Tag("@effect-auth/core/TokenSource")<TokenSource, TokenSource.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace TokenSource {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** The strategy's name, e.g. `anaplan-basic`. */
    readonly name: string
    /** The site served, when the strategy names one. */
    readonly site: string | undefined
    /** A token that is valid now: the held one while fresh, else a new one (single flight). */
    readonly get: Effect.Effect<Token, AuthError>
    /**
     * Reports that `token` was rejected. Compare-and-set: only discards the held token if it is
     * still `token`, so a late `401` for an old token never throws away a newer one.
     */
    readonly invalidate: (token: Token) => Effect.Effect<void>
    /** Renews now (refresh where possible, else a new login), joining a renewal under way. */
    readonly refresh: Effect.Effect<Token, AuthError>
    /** Discards what is held and logs in afresh, even interactively. */
    readonly login: Effect.Effect<Token, AuthError>
    /** The held token, fresh or not, without any I/O. */
    readonly current: Effect.Effect<Option.Option<Token>>
    /**
     * The held token if `get` would serve it now, read synchronously outside any fiber (what
     * `TokenAccessor` answers from); `undefined` when it is not fresh or when the source cannot say.
     */
    readonly unsafeFresh?: (() => Token | undefined) | undefined
  }
}

/**
 * Options for {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  /** Refresh margin, jitter and retries; `RefreshPolicy.defaults` when omitted. */
  readonly policy?: RefreshPolicy | undefined
  /** Revoke (log out) the held token when the scope closes, if the strategy can. Default `true`. */
  readonly revokeOnClose?: boolean | undefined
}

/**
 * The engine: single-flight acquisition, refresh-ahead, transient retries, compare-and-set
 * invalidation, and revocation when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  strategy: AuthStrategy,
  options?: MakeOptions
) => Effect.Effect<TokenSource.Service, never, Scope.Scope> = engine.make

/**
 * A {@link TokenSource} layer from a strategy (or an effect that builds one).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E = never, R = never>(
  strategy: AuthStrategy | Effect.Effect<AuthStrategy, E, R>,
  options?: MakeOptions
): Layer.Layer<TokenSource, E, Exclude<R, Scope.Scope>> =>
  Layer.scoped(
    TokenSource,
    Effect.flatMap(Effect.isEffect(strategy) ? strategy : Effect.succeed(strategy), (s) => make(s, options))
  )

/**
 * A source that always hands out `token`: no refresh, no expiry checks, next to no overhead. For
 * tokens managed elsewhere (a web app's per-request token).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeStatic = (token: Token, options?: { readonly name?: string; readonly site?: string }): TokenSource.Service => {
  const ready = Effect.succeed(token)
  return {
    name: options?.name ?? "static",
    site: options?.site,
    get: ready,
    invalidate: () => Effect.void,
    refresh: ready,
    login: ready,
    current: Effect.succeed(Option.some(token)),
    unsafeFresh: () => token
  }
}

/**
 * A layer for {@link makeStatic}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStatic = (token: Token, options?: { readonly name?: string; readonly site?: string }): Layer.Layer<TokenSource> =>
  Layer.succeed(TokenSource, makeStatic(token, options))

/**
 * The current token from the {@link TokenSource} in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const get: Effect.Effect<Token, AuthError, TokenSource> = Effect.flatMap(TokenSource, (source) => source.get)
