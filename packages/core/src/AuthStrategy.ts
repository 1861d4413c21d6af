/**
 * What a strategy (basic, certificate, OAuth 2 flows, persistence wrappers) gives the engine.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AuthError } from "./AuthError.js"
import type { Token } from "./Token.js"

/**
 * The capabilities of one way of obtaining tokens. The engine (`TokenSource.make`) decides when to
 * use each one; strategies never cache.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthStrategy {
  /** A short name for spans and logs, e.g. `anaplan-basic`. Never a secret. */
  readonly name: string
  /** The site this strategy serves, for spans, logs and error messages. */
  readonly site?: string | undefined
  /** A full login. */
  readonly acquire: Effect.Effect<Token, AuthError>
  /**
   * Whether `acquire` needs a person (a browser, a prompt). The engine never falls back to an
   * interactive `acquire` from a background refresh: it reports `TokenExpired` instead.
   */
  readonly interactive: boolean
  /** Renews a token without a full login, when the service can. */
  readonly refresh: Option.Option<(token: Token) => Effect.Effect<Token, AuthError>>
  /** Ends a token upstream (logout, RFC 7009 revocation), when the service can. */
  readonly revoke: Option.Option<(token: Token) => Effect.Effect<void, AuthError>>
}

/**
 * Builds an {@link AuthStrategy}; `refresh` and `revoke` are optional, `interactive` defaults to
 * `false`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly name: string
  readonly site?: string | undefined
  readonly acquire: Effect.Effect<Token, AuthError>
  readonly interactive?: boolean | undefined
  readonly refresh?: ((token: Token) => Effect.Effect<Token, AuthError>) | undefined
  readonly revoke?: ((token: Token) => Effect.Effect<void, AuthError>) | undefined
}): AuthStrategy => ({
  name: options.name,
  site: options.site,
  acquire: options.acquire,
  interactive: options.interactive ?? false,
  refresh: Option.fromNullable(options.refresh),
  revoke: Option.fromNullable(options.revoke)
})
