/**
 * OAuth 2 strategies and their layers, for any provider, built on the spec steps of `OAuth2`: the
 * authorization code grant with PKCE through the `LoginAgent`, the device authorization grant, an
 * owned refresh token and client credentials. Each strategy refreshes with the refresh token and
 * revokes where the provider has a revocation endpoint; each layer is `TokenSource.layer` of its
 * strategy.
 *
 * Every endpoint, configured or discovered, must be `https://` (or plain `http://` on a loopback
 * host) unless `allowInsecureHttp` is set, which warns.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as AuthError from "./AuthError.js"
import type * as AuthStrategy from "./AuthStrategy.js"
import * as strategy from "./internal/oauth2Strategy.js"
import type { LoginAgent } from "./LoginAgent.js"
import type { ServerMetadata } from "./OAuth2.js"
import * as TokenSource from "./TokenSource.js"

/**
 * What every flow needs: the issuer or explicit endpoints, the client, scopes, token type rules and
 * `allowInsecureHttp`.
 *
 * @since 0.1.0
 * @category models
 */
export type ProviderOptions = strategy.ProviderOptions

/**
 * The redirect (default: loopback), PKCE (default on), `nonce`, extra parameters, the login timeout.
 *
 * @since 0.1.0
 * @category models
 */
export type AuthorizationCodeOptions = strategy.AuthorizationCodeOptions

/**
 * Extra parameters and the body encoding of the device authorization request.
 *
 * @since 0.1.0
 * @category models
 */
export type DeviceCodeOptions = strategy.DeviceCodeOptions

/**
 * The refresh token to own.
 *
 * @since 0.1.0
 * @category models
 */
export type RefreshTokenOptions = strategy.RefreshTokenOptions

/**
 * Extra parameters of the client credentials grant (`audience`, `resource`, ...).
 *
 * @since 0.1.0
 * @category models
 */
export type ClientCredentialsOptions = strategy.ClientCredentialsOptions

/**
 * Layer options: the strategy's options plus those of the `TokenSource` engine.
 *
 * @since 0.1.0
 * @category models
 */
export type LayerOptions<O> = O & { readonly tokenSource?: TokenSource.MakeOptions | undefined }

/**
 * The endpoints of `options`: discovered when `issuer` is set, overridden by `endpoints`.
 *
 * @since 0.1.0
 * @category strategies
 */
export const resolveMetadata: (
  options: ProviderOptions
) => Effect.Effect<ServerMetadata, AuthError.AuthError, HttpClient.HttpClient> = strategy.resolveMetadata

/**
 * The authorization code grant with PKCE through the {@link LoginAgent} (interactive). Refreshes
 * with the refresh token, revokes when the provider has a revocation endpoint.
 *
 * @since 0.1.0
 * @category strategies
 */
export const authorizationCode: (
  options: AuthorizationCodeOptions
) => Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient | LoginAgent> =
  strategy.authorizationCode

/**
 * The device authorization grant (RFC 8628) through the {@link LoginAgent} (interactive).
 *
 * @since 0.1.0
 * @category strategies
 */
export const deviceCode: (
  options: DeviceCodeOptions
) => Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient | LoginAgent> =
  strategy.deviceCode

/**
 * Owns a refresh token (non-interactive): every refresh spends the LATEST refresh token (the one the
 * previous refresh returned, under rotation) and keeps the old one when none is returned.
 *
 * @since 0.1.0
 * @category strategies
 */
export const refreshToken: (
  options: RefreshTokenOptions
) => Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient> = strategy.refreshToken

/**
 * The client credentials grant (non-interactive; renewal is a new grant, RFC 6749 section 4.4.3).
 *
 * @since 0.1.0
 * @category strategies
 */
export const clientCredentials: (
  options: ClientCredentialsOptions
) => Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient> =
  strategy.clientCredentials

/**
 * A `TokenSource` from {@link authorizationCode}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerAuthorizationCode = (
  options: LayerOptions<AuthorizationCodeOptions>
): Layer.Layer<TokenSource.TokenSource, AuthError.AuthError, HttpClient.HttpClient | LoginAgent> =>
  TokenSource.layer(strategy.authorizationCode(options), options.tokenSource)

/**
 * A `TokenSource` from {@link deviceCode}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDeviceCode = (
  options: LayerOptions<DeviceCodeOptions>
): Layer.Layer<TokenSource.TokenSource, AuthError.AuthError, HttpClient.HttpClient | LoginAgent> =>
  TokenSource.layer(strategy.deviceCode(options), options.tokenSource)

/**
 * A `TokenSource` from {@link refreshToken}. The owned refresh token is long-lived, so closing the
 * layer does NOT revoke it unless `tokenSource.revokeOnClose` is `true`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRefreshToken = (
  options: LayerOptions<RefreshTokenOptions>
): Layer.Layer<TokenSource.TokenSource, AuthError.AuthError, HttpClient.HttpClient> =>
  TokenSource.layer(strategy.refreshToken(options), { revokeOnClose: false, ...options.tokenSource })

/**
 * A `TokenSource` from {@link clientCredentials}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClientCredentials = (
  options: LayerOptions<ClientCredentialsOptions>
): Layer.Layer<TokenSource.TokenSource, AuthError.AuthError, HttpClient.HttpClient> =>
  TokenSource.layer(strategy.clientCredentials(options), options.tokenSource)

