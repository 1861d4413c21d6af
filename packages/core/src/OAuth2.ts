/**
 * OAuth 2 for any provider, spec-exact: discovery (RFC 8414, OpenID Connect Discovery), the
 * authorization code grant with PKCE S256 (RFC 6749 section 4.1, RFC 7636), refresh with rotation
 * (section 6), the device authorization grant (RFC 8628), client credentials (section 4.4) and
 * revocation (RFC 7009).
 *
 * Each protocol step is split, as in panva's oauth4webapi, into a request builder
 * (`*Request`, pure) and a response processor (`process*Response`, decoding and checks, each citing
 * its spec section), so that any `HttpClient` can carry them. The strategies and layers built on
 * these steps are in `OAuth2Auth`.
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
import type * as Redacted from "effect/Redacted"
import type * as AuthError from "./AuthError.js"
import * as internal from "./internal/oauth2.js"
import * as clientAuth from "./internal/oauth2ClientAuth.js"
import * as device from "./internal/oauth2Device.js"
import * as discovery from "./internal/oauth2Discovery.js"
import * as redirect from "./internal/oauth2Redirect.js"
import * as tokens from "./internal/oauth2Token.js"
import type * as Token from "./Token.js"

/**
 * How the client authenticates at the token, device and revocation endpoints (RFC 6749 section 2.3).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
 * @since 0.1.0
 * @category client authentication
 */
export type ClientAuth = clientAuth.ClientAuth

/**
 * `client_secret_basic`: id and secret in the `Authorization: Basic` header, each form-encoded first
 * (RFC 6749 section 2.3.1).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 * @since 0.1.0
 * @category client authentication
 */
export const secretBasic: (clientId: string, clientSecret: string | Redacted.Redacted<string>) => ClientAuth =
  clientAuth.secretBasic

/**
 * `client_secret_post`: id and secret in the request body (RFC 6749 section 2.3.1).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 * @since 0.1.0
 * @category client authentication
 */
export const secretPost: (clientId: string, clientSecret: string | Redacted.Redacted<string>) => ClientAuth =
  clientAuth.secretPost

/**
 * `none`: a public client, `client_id` in the body (RFC 6749 section 2.1; PKCE protects the code).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.1
 * @since 0.1.0
 * @category client authentication
 */
export const none: (clientId: string) => ClientAuth = clientAuth.none

/**
 * The three client authentication methods, as values.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
 * @since 0.1.0
 * @category client authentication
 */
export const ClientAuth = { secretBasic, secretPost, none } as const

/**
 * How a request body is encoded: `form` (`application/x-www-form-urlencoded`, what RFC 6749 and
 * RFC 8628 prescribe) or `json`, for providers that take only JSON.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#appendix-B
 * @since 0.1.0
 * @category client authentication
 */
export type BodyEncoding = clientAuth.BodyEncoding

/**
 * The site for messages and `allowInsecureHttp`: accept plain `http://` endpoints on hosts that are
 * not loopback, with a warning.
 *
 * @since 0.1.0
 * @category transport security
 */
export type EndpointSecurity = clientAuth.EndpointSecurity

/**
 * Refuses an endpoint that is not `https://` (or plain `http://` on `localhost`, 127.0.0.0/8 or
 * `[::1]`) with an `InvalidConfiguration` naming `field`; with `allowInsecureHttp` it warns instead
 * (once per process for each endpoint).
 * Client secrets, codes and refresh tokens must not travel in clear.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.9
 * @since 0.1.0
 * @category transport security
 */
export const checkEndpoint: (
  field: string,
  url: string,
  options?: EndpointSecurity
) => Effect.Effect<void, AuthError.InvalidConfiguration> = clientAuth.checkEndpoint

/**
 * {@link checkEndpoint} for every endpoint of a metadata value: `configured` endpoints are named by
 * their site field and option (`token_url (tokenEndpoint)`), `discovered` ones by their RFC 8414
 * field (`token_endpoint`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 * @since 0.1.0
 * @category transport security
 */
export const checkMetadata: (
  metadata: Partial<ServerMetadata>,
  options: EndpointSecurity,
  source: "configured" | "discovered"
) => Effect.Effect<void, AuthError.InvalidConfiguration> = discovery.checkMetadata

/**
 * The endpoints and capabilities of an authorization server.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 * @since 0.1.0
 * @category models
 */
export type ServerMetadata = discovery.ServerMetadata

/**
 * Per-request context: the site for messages, the request timeout and whether plain `http://`
 * endpoints on non-loopback hosts are allowed.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestContext = discovery.RequestContext

/**
 * `oidc`: `/.well-known/openid-configuration`; `oauth`: `/.well-known/oauth-authorization-server`.
 *
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 * @since 0.1.0
 * @category discovery
 */
export type DiscoveryKind = discovery.DiscoveryKind

/**
 * The metadata URL of an issuer (OIDC Discovery section 4 appends, RFC 8414 section 3.1 inserts).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.1
 * @since 0.1.0
 * @category discovery
 */
export const discoveryUrl: (issuer: string, kind: DiscoveryKind) => string = discovery.discoveryUrl

/**
 * The discovery request.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.1
 * @since 0.1.0
 * @category discovery
 */
export const discoveryRequest: (issuer: string, kind: DiscoveryKind) => HttpClientRequest.HttpClientRequest =
  discovery.discoveryRequest

/**
 * Decodes a metadata document; its `issuer` must equal the one asked for (RFC 8414 section 3.3,
 * OIDC Discovery section 4.3).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.3
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfigurationValidation
 * @since 0.1.0
 * @category discovery
 */
export const processDiscoveryResponse: (
  issuer: string,
  response: HttpClientResponse.HttpClientResponse,
  context?: RequestContext
) => Effect.Effect<ServerMetadata, AuthError.AuthError> = discovery.processDiscoveryResponse

/**
 * Fetches an issuer's metadata: OIDC Discovery, then RFC 8414 if the first answers 404. The issuer
 * and the discovered endpoints pass {@link checkEndpoint}.
 *
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 * @since 0.1.0
 * @category discovery
 */
export const discover: (
  issuer: string,
  options?: RequestContext & { readonly kind?: DiscoveryKind | undefined }
) => Effect.Effect<ServerMetadata, AuthError.AuthError, HttpClient.HttpClient> = discovery.discover

/**
 * A PKCE code verifier: 32 CSPRNG bytes, base64url, 43 characters (RFC 7636 sections 4.1, 7.1).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.1
 * @since 0.1.0
 * @category pkce
 */
export const generateCodeVerifier: () => Redacted.Redacted<string> = internal.generateCodeVerifier

/**
 * The `S256` code challenge of a verifier (RFC 7636 section 4.2).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.2
 * @since 0.1.0
 * @category pkce
 */
export const codeChallengeS256: (verifier: Redacted.Redacted<string>) => string = internal.codeChallengeS256

/**
 * A prepared authorization request: the URL and what must be kept to check the redirect.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @since 0.1.0
 * @category models
 */
export type AuthorizationRequest = internal.AuthorizationRequest

/**
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @since 0.1.0
 * @category models
 */
export type AuthorizationRequestOptions = internal.AuthorizationRequestOptions

/**
 * Builds the authorization URL (RFC 6749 section 4.1.1) with a fresh `state`, a PKCE S256 challenge
 * (unless `pkce: false`) and, with the `openid` scope, a `nonce`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest
 * @since 0.1.0
 * @category authorization code
 */
export const authorizationRequest: (options: AuthorizationRequestOptions) => Effect.Effect<AuthorizationRequest> =
  internal.authorizationRequest

/**
 * The validated authorization response.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @since 0.1.0
 * @category models
 */
export type AuthorizationResponse = redirect.AuthorizationResponse

/**
 * The parameters of a redirect given as a URL, a query string or `URLSearchParams`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @since 0.1.0
 * @category authorization code
 */
export const redirectParams: (input: string | URL | URLSearchParams) => URLSearchParams | undefined =
  redirect.redirectParams

/**
 * Validates a redirect: `state` (RFC 6749 section 10.12), `iss` (RFC 9207), `error` (section 4.1.2.1:
 * `access_denied` -> `LoginCancelled`, others -> `InvalidCredentials`), `code` (section 4.1.2).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.12
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
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
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.5
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

/**
 * The refresh request (RFC 6749 section 6).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
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
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4.2
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
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.2
 * @since 0.1.0
 * @category device authorization
 */
export type DeviceAuthorization = device.DeviceAuthorization

/**
 * The scopes, extra parameters and body encoding of a device authorization request.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.1
 * @since 0.1.0
 * @category device authorization
 */
export type DeviceAuthorizationRequestOptions = device.DeviceAuthorizationRequestOptions

/**
 * The device authorization request (RFC 8628 section 3.1), form-encoded unless `body: "json"`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.1
 * @since 0.1.0
 * @category device authorization
 */
export const deviceAuthorizationRequest: (
  endpoint: string,
  client: ClientAuth,
  options?: DeviceAuthorizationRequestOptions
) => HttpClientRequest.HttpClientRequest = device.deviceAuthorizationRequest

/**
 * Decodes the device authorization answer: `interval` defaults to 5 seconds, `verification_uri_complete`
 * is optional (RFC 8628 section 3.2).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.2
 * @since 0.1.0
 * @category device authorization
 */
export const processDeviceAuthorizationResponse: (
  response: HttpClientResponse.HttpClientResponse,
  context?: RequestContext
) => Effect.Effect<DeviceAuthorization, AuthError.AuthError> = device.processDeviceAuthorizationResponse

/**
 * The device access token request (RFC 8628 section 3.4).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.4
 * @since 0.1.0
 * @category device authorization
 */
export const deviceCodeGrantRequest: (
  tokenEndpoint: string,
  client: ClientAuth,
  options: { readonly deviceCode: Redacted.Redacted<string> }
) => HttpClientRequest.HttpClientRequest = device.deviceCodeGrantRequest

/**
 * Polls for the device token (RFC 8628 section 3.5): `interval` between requests, `slow_down` adds
 * 5 seconds, `authorization_pending` continues, `access_denied` -> `LoginCancelled`, `expired_token`
 * and the `expires_in` deadline -> `LoginTimeout`. All waiting is on the `Clock`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.4
 * @since 0.1.0
 * @category device authorization
 */
export const pollDeviceToken: (
  client: HttpClient.HttpClient,
  tokenEndpoint: string,
  clientAuth: ClientAuth,
  device: DeviceAuthorization,
  options?: TokenResponseOptions
) => Effect.Effect<Token.Token, AuthError.AuthError> = device.pollDeviceToken

/**
 * The revocation request (RFC 7009 section 2.1).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
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
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
 * @since 0.1.0
 * @category revocation
 */
export const processRevocationResponse: (
  response: HttpClientResponse.HttpClientResponse,
  context?: RequestContext
) => Effect.Effect<void, AuthError.AuthError> = internal.processRevocationResponse

/**
 * How token answers are turned into `Token`s: accepted token types, the header scheme, requested
 * scopes, the previous refresh token, ID token checks.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 * @since 0.1.0
 * @category token responses
 */
export type TokenResponseOptions = tokens.TokenResponseOptions

/**
 * Processes a token endpoint answer (RFC 6749 section 5.1) into a `Token`: `access_token` required,
 * `token_type` accepted case-insensitively, `expires_in` numeric, a missing `refresh_token` keeps the
 * previous one (section 6). Errors (section 5.2): `invalid_grant`/`invalid_client` ->
 * `InvalidCredentials`; 5xx/429 -> `AuthServiceUnavailable`; HTML or other non-JSON ->
 * `MalformedResponse`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @since 0.1.0
 * @category token responses
 */
export const processTokenResponse: (
  response: HttpClientResponse.HttpClientResponse,
  options?: TokenResponseOptions
) => Effect.Effect<Token.Token, AuthError.AuthError> = tokens.processTokenResponse

/**
 * The typed error for an OAuth error code (RFC 6749 section 5.2, RFC 8628 section 3.5).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 * @since 0.1.0
 * @category token responses
 */
export const tokenError: (error: string, status: number, options?: TokenResponseOptions) => AuthError.AuthError =
  tokens.tokenError

/**
 * The ID token checks of OIDC Core section 3.1.3.7: `iss` (item 2), `aud` contains the client
 * (item 3) and `nonce` (item 11). The signature is not verified: the token comes straight from the
 * token endpoint over TLS (item 6). {@link processTokenResponse} runs them when given `idToken`.
 *
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 * @since 0.1.0
 * @category token responses
 */
export const validateIdToken: (
  idToken: string,
  expected: {
    readonly nonce?: string | undefined
    readonly clientId: string
    readonly issuer?: string | undefined
  },
  site: string | undefined
) => Effect.Effect<void, AuthError.AuthError> = tokens.validateIdToken
