/**
 * OAuth 2 for any provider, spec-exact: discovery (RFC 8414, OpenID Connect Discovery), the
 * authorization code grant with PKCE S256 (RFC 6749 section 4.1, RFC 7636), refresh with rotation
 * (section 6), the device authorization grant (RFC 8628), client credentials (section 4.4) and
 * revocation (RFC 7009).
 *
 * Each protocol step is split, as in panva's oauth4webapi, into a request builder
 * (`*Request`, pure) and a response processor (`process*Response`, decoding and checks, each citing
 * its spec section), so that any `HttpClient` can carry them. On top sit strategies
 * (`authorizationCode`, `deviceCode`, `refreshToken`, `clientCredentials`) for the `TokenSource`
 * engine, and their layers.
 *
 * ID tokens: `iss`, `aud` and `nonce` are checked; their signatures are not verified (the token
 * comes straight from the token endpoint over TLS, OIDC Core section 3.1.3.7 item 6, and no
 * decision is taken on its claims).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as AuthError from "./AuthError.js"
import type * as AuthStrategy from "./AuthStrategy.js"
import * as internal from "./internal/oauth2.js"
import * as redirect from "./internal/oauth2Redirect.js"
import * as strategy from "./internal/oauth2Strategy.js"
import type { LoginAgent } from "./LoginAgent.js"
import type * as Token from "./Token.js"
import * as TokenSource from "./TokenSource.js"

// -------------------------------------------------------------------------------------------------
// client authentication
// -------------------------------------------------------------------------------------------------

/**
 * How the client authenticates at the token, device and revocation endpoints (RFC 6749 section 2.3).
 *
 * @since 0.1.0
 * @category client authentication
 */
export type ClientAuth = internal.ClientAuth

/**
 * `client_secret_basic`: id and secret in the `Authorization: Basic` header, each form-encoded first
 * (RFC 6749 section 2.3.1).
 *
 * @since 0.1.0
 * @category client authentication
 */
export const secretBasic: (clientId: string, clientSecret: string | Redacted.Redacted<string>) => ClientAuth =
  internal.secretBasic

/**
 * `client_secret_post`: id and secret in the request body (RFC 6749 section 2.3.1).
 *
 * @since 0.1.0
 * @category client authentication
 */
export const secretPost: (clientId: string, clientSecret: string | Redacted.Redacted<string>) => ClientAuth =
  internal.secretPost

/**
 * `none`: a public client, `client_id` in the body (RFC 6749 section 2.1; PKCE protects the code).
 *
 * @since 0.1.0
 * @category client authentication
 */
export const none: (clientId: string) => ClientAuth = internal.none

/**
 * The three client authentication methods, as values.
 *
 * @since 0.1.0
 * @category client authentication
 */
export const ClientAuth = { secretBasic, secretPost, none } as const

// -------------------------------------------------------------------------------------------------
// discovery
// -------------------------------------------------------------------------------------------------

/**
 * The endpoints and capabilities of an authorization server.
 *
 * @since 0.1.0
 * @category models
 */
export type ServerMetadata = internal.ServerMetadata

/**
 * Per-request context: the site for messages and the request timeout.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestContext = internal.RequestContext

/**
 * `oidc`: `/.well-known/openid-configuration`; `oauth`: `/.well-known/oauth-authorization-server`.
 *
 * @since 0.1.0
 * @category discovery
 */
export type DiscoveryKind = internal.DiscoveryKind

/**
 * The metadata URL of an issuer (OIDC Discovery section 4 appends, RFC 8414 section 3.1 inserts).
 *
 * @since 0.1.0
 * @category discovery
 */
export const discoveryUrl: (issuer: string, kind: DiscoveryKind) => string = internal.discoveryUrl

/**
 * The discovery request.
 *
 * @since 0.1.0
 * @category discovery
 */
export const discoveryRequest: (issuer: string, kind: DiscoveryKind) => HttpClientRequest.HttpClientRequest =
  internal.discoveryRequest

/**
 * Decodes a metadata document; its `issuer` must equal the one asked for (RFC 8414 section 3.3,
 * OIDC Discovery section 4.3).
 *
 * @since 0.1.0
 * @category discovery
 */
export const processDiscoveryResponse: (
  issuer: string,
  response: HttpClientResponse.HttpClientResponse,
  context?: RequestContext
) => Effect.Effect<ServerMetadata, AuthError.AuthError> = internal.processDiscoveryResponse

/**
 * Fetches an issuer's metadata: OIDC Discovery, then RFC 8414 if the first answers 404.
 *
 * @since 0.1.0
 * @category discovery
 */
export const discover: (
  issuer: string,
  options?: RequestContext & { readonly kind?: DiscoveryKind | undefined }
) => Effect.Effect<ServerMetadata, AuthError.AuthError, HttpClient.HttpClient> = internal.discover

// -------------------------------------------------------------------------------------------------
// authorization code grant
// -------------------------------------------------------------------------------------------------

/**
 * A PKCE code verifier: 32 CSPRNG bytes, base64url, 43 characters (RFC 7636 sections 4.1, 7.1).
 *
 * @since 0.1.0
 * @category pkce
 */
export const generateCodeVerifier: () => Redacted.Redacted<string> = internal.generateCodeVerifier

/**
 * The `S256` code challenge of a verifier (RFC 7636 section 4.2).
 *
 * @since 0.1.0
 * @category pkce
 */
export const codeChallengeS256: (verifier: Redacted.Redacted<string>) => string = internal.codeChallengeS256

/**
 * A prepared authorization request: the URL and what must be kept to check the redirect.
 *
 * @since 0.1.0
 * @category models
 */
export type AuthorizationRequest = internal.AuthorizationRequest

/**
 * @since 0.1.0
 * @category models
 */
export type AuthorizationRequestOptions = internal.AuthorizationRequestOptions

/**
 * Builds the authorization URL (RFC 6749 section 4.1.1) with a fresh `state`, a PKCE S256 challenge
 * (unless `pkce: false`) and, with the `openid` scope, a `nonce`.
 *
 * @since 0.1.0
 * @category authorization code
 */
export const authorizationRequest: (options: AuthorizationRequestOptions) => Effect.Effect<AuthorizationRequest> =
  internal.authorizationRequest

/**
 * The validated authorization response.
 *
 * @since 0.1.0
 * @category models
 */
export type AuthorizationResponse = redirect.AuthorizationResponse

/**
 * The parameters of a redirect given as a URL, a query string or `URLSearchParams`.
 *
 * @since 0.1.0
 * @category authorization code
 */
export const redirectParams: (input: string | URL | URLSearchParams) => URLSearchParams | undefined =
  redirect.redirectParams

/**
 * Validates a redirect: `state` (RFC 6749 section 10.12), `iss` (RFC 9207), `error` (section 4.1.2.1:
 * `access_denied` -> `LoginCancelled`, others -> `InvalidCredentials`), `code` (section 4.1.2).
 *
 * @since 0.1.0
 * @category authorization code
 */
export const validateAuthorizationResponse: (
  params: URLSearchParams,
  expected: {
    readonly state: string
    readonly issuer?: string | undefined
    readonly site?: string | undefined
  }
) => Either.Either<AuthorizationResponse, AuthError.AuthError> = redirect.validateAuthorizationResponse

/**
 * The code exchange request (RFC 6749 section 4.1.3, RFC 7636 section 4.5).
 *
 * @since 0.1.0
 * @category authorization code
 */
export const authorizationCodeGrantRequest: (
  tokenEndpoint: string,
  client: ClientAuth,
  options: {
    readonly code: string
    readonly redirectUri: string
    readonly codeVerifier?: Redacted.Redacted<string> | undefined
  }
) => HttpClientRequest.HttpClientRequest = internal.authorizationCodeGrantRequest

// -------------------------------------------------------------------------------------------------
// other grants and revocation
// -------------------------------------------------------------------------------------------------

/**
 * The refresh request (RFC 6749 section 6).
 *
 * @since 0.1.0
 * @category refresh
 */
export const refreshTokenGrantRequest: (
  tokenEndpoint: string,
  client: ClientAuth,
  options: { readonly refreshToken: Redacted.Redacted<string>; readonly scopes?: ReadonlyArray<string> | undefined }
) => HttpClientRequest.HttpClientRequest = internal.refreshTokenGrantRequest

/**
 * The client credentials request (RFC 6749 section 4.4.2).
 *
 * @since 0.1.0
 * @category client credentials
 */
export const clientCredentialsGrantRequest: (
  tokenEndpoint: string,
  client: ClientAuth,
  options?: {
    readonly scopes?: ReadonlyArray<string> | undefined
    readonly extraParams?: Readonly<Record<string, string>> | undefined
  }
) => HttpClientRequest.HttpClientRequest = internal.clientCredentialsGrantRequest

/**
 * An answer of the device authorization endpoint (RFC 8628 section 3.2).
 *
 * @since 0.1.0
 * @category device authorization
 */
export type DeviceAuthorization = internal.DeviceAuthorization

/**
 * The device authorization request (RFC 8628 section 3.1).
 *
 * @since 0.1.0
 * @category device authorization
 */
export const deviceAuthorizationRequest: (
  endpoint: string,
  client: ClientAuth,
  options?: {
    readonly scopes?: ReadonlyArray<string> | undefined
    readonly extraParams?: Readonly<Record<string, string>> | undefined
  }
) => HttpClientRequest.HttpClientRequest = internal.deviceAuthorizationRequest

/**
 * Decodes the device authorization answer: `interval` defaults to 5 seconds, `verification_uri_complete`
 * is optional (RFC 8628 section 3.2).
 *
 * @since 0.1.0
 * @category device authorization
 */
export const processDeviceAuthorizationResponse: (
  response: HttpClientResponse.HttpClientResponse,
  context?: RequestContext
) => Effect.Effect<DeviceAuthorization, AuthError.AuthError> = internal.processDeviceAuthorizationResponse

/**
 * The device access token request (RFC 8628 section 3.4).
 *
 * @since 0.1.0
 * @category device authorization
 */
export const deviceCodeGrantRequest: (
  tokenEndpoint: string,
  client: ClientAuth,
  options: { readonly deviceCode: Redacted.Redacted<string> }
) => HttpClientRequest.HttpClientRequest = internal.deviceCodeGrantRequest

/**
 * Polls for the device token (RFC 8628 section 3.5): `interval` between requests, `slow_down` adds
 * 5 seconds, `authorization_pending` continues, `access_denied` -> `LoginCancelled`, `expired_token`
 * and the `expires_in` deadline -> `LoginTimeout`. All waiting is on the `Clock`.
 *
 * @since 0.1.0
 * @category device authorization
 */
export const pollDeviceToken: (
  client: HttpClient.HttpClient,
  tokenEndpoint: string,
  clientAuth: ClientAuth,
  device: DeviceAuthorization,
  options?: TokenResponseOptions
) => Effect.Effect<Token.Token, AuthError.AuthError> = internal.pollDeviceToken

/**
 * The revocation request (RFC 7009 section 2.1).
 *
 * @since 0.1.0
 * @category revocation
 */
export const revocationRequest: (
  endpoint: string,
  client: ClientAuth,
  options: { readonly token: Redacted.Redacted<string>; readonly tokenTypeHint?: "access_token" | "refresh_token" }
) => HttpClientRequest.HttpClientRequest = internal.revocationRequest

/**
 * Processes the revocation answer: 200 is success (RFC 7009 section 2.2), 503 transient (2.2.1).
 *
 * @since 0.1.0
 * @category revocation
 */
export const processRevocationResponse: (
  response: HttpClientResponse.HttpClientResponse,
  context?: RequestContext
) => Effect.Effect<void, AuthError.AuthError> = internal.processRevocationResponse

// -------------------------------------------------------------------------------------------------
// token responses
// -------------------------------------------------------------------------------------------------

/**
 * How token answers are turned into `Token`s: accepted token types, the header scheme, requested
 * scopes, the previous refresh token, ID token checks.
 *
 * @since 0.1.0
 * @category token responses
 */
export type TokenResponseOptions = internal.TokenResponseOptions

/**
 * Processes a token endpoint answer (RFC 6749 section 5.1) into a `Token`: `access_token` required,
 * `token_type` accepted case-insensitively, `expires_in` numeric, a missing `refresh_token` keeps the
 * previous one (section 6). Errors (section 5.2): `invalid_grant`/`invalid_client` ->
 * `InvalidCredentials`; 5xx/429 -> `AuthServiceUnavailable`; HTML or other non-JSON ->
 * `MalformedResponse`.
 *
 * @since 0.1.0
 * @category token responses
 */
export const processTokenResponse: (
  response: HttpClientResponse.HttpClientResponse,
  options?: TokenResponseOptions
) => Effect.Effect<Token.Token, AuthError.AuthError> = internal.processTokenResponse

/**
 * The typed error for an OAuth error code (RFC 6749 section 5.2, RFC 8628 section 3.5).
 *
 * @since 0.1.0
 * @category token responses
 */
export const tokenError: (error: string, status: number, options?: TokenResponseOptions) => AuthError.AuthError =
  internal.tokenError

// -------------------------------------------------------------------------------------------------
// strategies and layers
// -------------------------------------------------------------------------------------------------

/**
 * What every flow needs: the issuer or explicit endpoints, the client, scopes and token type rules.
 *
 * @since 0.1.0
 * @category models
 */
export type ProviderOptions = strategy.ProviderOptions

/**
 * @since 0.1.0
 * @category models
 */
export type AuthorizationCodeOptions = strategy.AuthorizationCodeOptions

/**
 * @since 0.1.0
 * @category models
 */
export type DeviceCodeOptions = strategy.DeviceCodeOptions

/**
 * @since 0.1.0
 * @category models
 */
export type RefreshTokenOptions = strategy.RefreshTokenOptions

/**
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

