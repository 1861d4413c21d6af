/** @internal */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createHash, randomBytes } from "node:crypto"
import * as AuthError from "../AuthError.js"
import * as AuthResponse from "../AuthResponse.js"
import * as Token from "../Token.js"
import { safeCode } from "./oauth2Redirect.js"

// ---------------------------------------------------------------------------------------------
// Client authentication (RFC 6749 section 2.3)
// ---------------------------------------------------------------------------------------------

/** @internal */
export type ClientAuth =
  | { readonly _tag: "ClientSecretBasic"; readonly clientId: string; readonly clientSecret: Redacted.Redacted<string> }
  | { readonly _tag: "ClientSecretPost"; readonly clientId: string; readonly clientSecret: Redacted.Redacted<string> }
  | { readonly _tag: "None"; readonly clientId: string }

const redact = (value: string | Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.isRedacted(value) ? value : Redacted.make(value)

/** @internal */
export const secretBasic = (clientId: string, clientSecret: string | Redacted.Redacted<string>): ClientAuth => ({
  _tag: "ClientSecretBasic",
  clientId,
  clientSecret: redact(clientSecret)
})

/** @internal */
export const secretPost = (clientId: string, clientSecret: string | Redacted.Redacted<string>): ClientAuth => ({
  _tag: "ClientSecretPost",
  clientId,
  clientSecret: redact(clientSecret)
})

/** @internal */
export const none = (clientId: string): ClientAuth => ({ _tag: "None", clientId })

/** application/x-www-form-urlencoded encoding of one value (RFC 6749 appendix B). */
const formEncode = (value: string): string => new URLSearchParams([["", value]]).toString().slice(1)

type Params = Record<string, string | undefined>

/**
 * A form POST to `endpoint` carrying `params` and the client authentication.
 * `client_secret_basic`: RFC 6749 section 2.3.1 (id and secret form-encoded, then Basic);
 * `client_secret_post`: section 2.3.1 (body); `none`: `client_id` in the body (section 3.2.1).
 */
const formPost = (endpoint: string, client: ClientAuth, params: Params): HttpClientRequest.HttpClientRequest => {
  const body: Array<[string, string]> = []
  for (const [key, value] of Object.entries(params)) if (value !== undefined) body.push([key, value])
  let request = HttpClientRequest.post(endpoint).pipe(HttpClientRequest.acceptJson)
  switch (client._tag) {
    case "ClientSecretBasic": {
      const credentials = `${formEncode(client.clientId)}:${formEncode(Redacted.value(client.clientSecret))}`
      request = HttpClientRequest.setHeader(
        request,
        "authorization",
        `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`
      )
      break
    }
    case "ClientSecretPost":
      body.push(["client_id", client.clientId], ["client_secret", Redacted.value(client.clientSecret)])
      break
    case "None":
      body.push(["client_id", client.clientId])
      break
  }
  return HttpClientRequest.bodyUrlParams(request, body)
}

// ---------------------------------------------------------------------------------------------
// Server metadata and discovery (RFC 8414, OpenID Connect Discovery 1.0)
// ---------------------------------------------------------------------------------------------

/** @internal */
export interface ServerMetadata {
  readonly issuer?: string | undefined
  readonly authorizationEndpoint?: string | undefined
  readonly tokenEndpoint: string
  readonly deviceAuthorizationEndpoint?: string | undefined
  readonly revocationEndpoint?: string | undefined
  readonly codeChallengeMethodsSupported?: ReadonlyArray<string> | undefined
  readonly scopesSupported?: ReadonlyArray<string> | undefined
}

/** @internal */
export interface RequestContext {
  readonly site?: string | undefined
  /** The timeout of each request; `AuthResponse.defaultTimeout` when omitted. */
  readonly timeout?: Duration.DurationInput | undefined
}

const optionalString = Schema.optionalWith(Schema.String, { nullable: true })

const MetadataBody = Schema.Struct({
  issuer: Schema.String,
  authorization_endpoint: optionalString,
  token_endpoint: optionalString,
  device_authorization_endpoint: optionalString,
  revocation_endpoint: optionalString,
  code_challenge_methods_supported: Schema.optionalWith(Schema.Array(Schema.String), { nullable: true }),
  scopes_supported: Schema.optionalWith(Schema.Array(Schema.String), { nullable: true })
})

/** @internal */
export type DiscoveryKind = "oidc" | "oauth"

/**
 * The well-known URL: OIDC Discovery section 4 appends `/.well-known/openid-configuration` to the
 * issuer; RFC 8414 section 3.1 inserts `/.well-known/oauth-authorization-server` between the host and
 * the issuer's path.
 *
 * @internal
 */
export const discoveryUrl = (issuer: string, kind: DiscoveryKind): string => {
  const url = new URL(issuer)
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "")
  if (kind === "oidc") {
    url.pathname = `${path}/.well-known/openid-configuration`
  } else {
    url.pathname = `/.well-known/oauth-authorization-server${path}`
  }
  return url.href
}

/** @internal */
export const discoveryRequest = (issuer: string, kind: DiscoveryKind): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.get(discoveryUrl(issuer, kind)).pipe(HttpClientRequest.acceptJson)

/**
 * Decodes a metadata document. The `issuer` it states must be identical to the one it was fetched
 * for: RFC 8414 section 3.3, OIDC Discovery section 4.3.
 *
 * @internal
 */
export const processDiscoveryResponse = (
  issuer: string,
  response: HttpClientResponse.HttpClientResponse,
  context: RequestContext = {}
): Effect.Effect<ServerMetadata, AuthError.AuthError> => {
  const ctx = { site: context.site, operation: "OAuth 2 discovery" }
  if (response.status !== 200) return AuthResponse.statusError(response, ctx)
  return Effect.flatMap(AuthResponse.json(response, MetadataBody, ctx), (body) => {
    if (body.issuer !== issuer) {
      return Effect.fail(
        new AuthError.MalformedResponse({
          site: context.site,
          detail: `OAuth 2 discovery: the metadata names another issuer than ${issuer} (RFC 8414 section 3.3)`,
          hint: "Check the configured issuer URL; it must match the provider's issuer exactly."
        })
      )
    }
    if (body.token_endpoint === undefined) {
      return Effect.fail(
        new AuthError.MalformedResponse({
          site: context.site,
          detail: "OAuth 2 discovery: the metadata has no token_endpoint"
        })
      )
    }
    return Effect.succeed<ServerMetadata>({
      issuer: body.issuer,
      authorizationEndpoint: body.authorization_endpoint,
      tokenEndpoint: body.token_endpoint,
      deviceAuthorizationEndpoint: body.device_authorization_endpoint,
      revocationEndpoint: body.revocation_endpoint,
      codeChallengeMethodsSupported: body.code_challenge_methods_supported,
      scopesSupported: body.scopes_supported
    })
  })
}

/**
 * Fetches the issuer's metadata: OIDC Discovery first, then RFC 8414 when the first answers 404
 * (or only the one asked for).
 *
 * @internal
 */
export const discover = (
  issuer: string,
  options: RequestContext & { readonly kind?: DiscoveryKind | undefined } = {}
): Effect.Effect<ServerMetadata, AuthError.AuthError, HttpClient.HttpClient> =>
  Effect.flatMap(HttpClient.HttpClient, (client) => {
    const fetchKind = (kind: DiscoveryKind): Effect.Effect<ServerMetadata, AuthError.AuthError> =>
      Effect.flatMap(
        AuthResponse.execute(client, discoveryRequest(issuer, kind), {
          site: options.site,
          operation: "OAuth 2 discovery",
          timeout: options.timeout
        }),
        (response): Effect.Effect<ServerMetadata, AuthError.AuthError> =>
          response.status === 404 && options.kind === undefined && kind === "oidc"
            ? fetchKind("oauth")
            : processDiscoveryResponse(issuer, response, options)
      )
    return fetchKind(options.kind ?? "oidc")
  })

// ---------------------------------------------------------------------------------------------
// PKCE (RFC 7636) and the authorization request (RFC 6749 section 4.1.1)
// ---------------------------------------------------------------------------------------------

const base64url = (bytes: Buffer): string => bytes.toString("base64url")

/**
 * A code verifier: 32 bytes from the CSPRNG, base64url, 43 characters from the unreserved set
 * (RFC 7636 section 4.1, whose section 7.1 asks for 256 bits of entropy).
 *
 * @internal
 */
export const generateCodeVerifier = (): Redacted.Redacted<string> => Redacted.make(base64url(randomBytes(32)))

/**
 * `S256`: base64url(SHA-256(ASCII(verifier))), RFC 7636 section 4.2.
 *
 * @internal
 */
export const codeChallengeS256 = (verifier: Redacted.Redacted<string>): string =>
  base64url(createHash("sha256").update(Redacted.value(verifier), "ascii").digest())

/** A random value for `state` and `nonce`: 128 bits or more (RFC 6749 section 10.10). */
const randomValue = (): string => base64url(randomBytes(24))

/** @internal */
export interface AuthorizationRequest {
  /** Where to send the person. */
  readonly url: URL
  readonly redirectUri: string
  /** Checked against the redirect (RFC 6749 section 10.12). */
  readonly state: string
  /** Sent with the code exchange (RFC 7636 section 4.5); `undefined` when PKCE is off. */
  readonly codeVerifier: Redacted.Redacted<string> | undefined
  /** Checked against the ID token (OIDC Core section 3.1.2.1); `undefined` without `openid`. */
  readonly nonce: string | undefined
}

/** @internal */
export interface AuthorizationRequestOptions {
  readonly authorizationEndpoint: string
  readonly clientId: string
  readonly redirectUri: string
  readonly scopes?: ReadonlyArray<string> | undefined
  /** PKCE S256; default `true`. */
  readonly pkce?: boolean | undefined
  /** Send a nonce; default: when the scopes include `openid`. */
  readonly nonce?: boolean | undefined
  /** Extra query parameters (`prompt`, `audience`, ...); they cannot override the protocol ones. */
  readonly extraParams?: Readonly<Record<string, string>> | undefined
}

/** @internal */
export const authorizationRequest = (options: AuthorizationRequestOptions): Effect.Effect<AuthorizationRequest> =>
  Effect.sync(() => {
    const scopes = options.scopes ?? []
    const state = randomValue()
    const codeVerifier = options.pkce === false ? undefined : generateCodeVerifier()
    const nonce = (options.nonce ?? scopes.includes("openid")) ? randomValue() : undefined
    const url = new URL(options.authorizationEndpoint)
    for (const [key, value] of Object.entries(options.extraParams ?? {})) url.searchParams.set(key, value)
    url.searchParams.set("response_type", "code")
    url.searchParams.set("client_id", options.clientId)
    url.searchParams.set("redirect_uri", options.redirectUri)
    if (scopes.length > 0) url.searchParams.set("scope", scopes.join(" "))
    url.searchParams.set("state", state)
    if (nonce !== undefined) url.searchParams.set("nonce", nonce)
    if (codeVerifier !== undefined) {
      url.searchParams.set("code_challenge", codeChallengeS256(codeVerifier))
      url.searchParams.set("code_challenge_method", "S256")
    }
    return { url, redirectUri: options.redirectUri, state, codeVerifier, nonce }
  })

// ---------------------------------------------------------------------------------------------
// Token endpoint requests (RFC 6749 sections 4.1.3, 4.4.2, 6; RFC 8628 section 3.4)
// ---------------------------------------------------------------------------------------------

/** @internal */
export const authorizationCodeGrantRequest = (
  tokenEndpoint: string,
  client: ClientAuth,
  options: {
    readonly code: string
    readonly redirectUri: string
    readonly codeVerifier?: Redacted.Redacted<string> | undefined
  }
): HttpClientRequest.HttpClientRequest =>
  formPost(tokenEndpoint, client, {
    grant_type: "authorization_code",
    code: options.code,
    redirect_uri: options.redirectUri,
    code_verifier: options.codeVerifier === undefined ? undefined : Redacted.value(options.codeVerifier)
  })

/** @internal */
export const refreshTokenGrantRequest = (
  tokenEndpoint: string,
  client: ClientAuth,
  options: { readonly refreshToken: Redacted.Redacted<string>; readonly scopes?: ReadonlyArray<string> | undefined }
): HttpClientRequest.HttpClientRequest =>
  formPost(tokenEndpoint, client, {
    grant_type: "refresh_token",
    refresh_token: Redacted.value(options.refreshToken),
    scope: options.scopes !== undefined && options.scopes.length > 0 ? options.scopes.join(" ") : undefined
  })

/** @internal */
export const clientCredentialsGrantRequest = (
  tokenEndpoint: string,
  client: ClientAuth,
  options: {
    readonly scopes?: ReadonlyArray<string> | undefined
    readonly extraParams?: Readonly<Record<string, string>> | undefined
  } = {}
): HttpClientRequest.HttpClientRequest =>
  formPost(tokenEndpoint, client, {
    ...options.extraParams,
    grant_type: "client_credentials",
    scope: options.scopes !== undefined && options.scopes.length > 0 ? options.scopes.join(" ") : undefined
  })

/** @internal */
export const deviceCodeGrantRequest = (
  tokenEndpoint: string,
  client: ClientAuth,
  options: { readonly deviceCode: Redacted.Redacted<string> }
): HttpClientRequest.HttpClientRequest =>
  formPost(tokenEndpoint, client, {
    grant_type: "urn:ietf:params:oauth:grant-type:device_code",
    device_code: Redacted.value(options.deviceCode)
  })

// ---------------------------------------------------------------------------------------------
// Token endpoint responses (RFC 6749 sections 5.1, 5.2)
// ---------------------------------------------------------------------------------------------

/**
 * `expires_in` is a number of seconds (RFC 6749 section 5.1); a string of digits is tolerated, as
 * some servers send one; anything else is malformed. Both are bounded by 10^10 s (about 300 years):
 * a larger value would make an expiry that is not a valid date, and the token could not be stored.
 */
const ExpiresIn = Schema.Union(
  Schema.NonNegative.pipe(Schema.lessThan(1e10)),
  Schema.compose(Schema.String.pipe(Schema.pattern(/^\d{1,10}$/)), Schema.NumberFromString)
)

const TokenBody = Schema.Struct({
  access_token: Schema.NonEmptyString,
  token_type: Schema.String,
  expires_in: Schema.optionalWith(ExpiresIn, { nullable: true }),
  refresh_token: optionalString,
  scope: optionalString,
  id_token: optionalString
})

const ErrorBody = Schema.Struct({
  error: Schema.String,
  error_description: optionalString
})

/** @internal */
export type TokenEndpointOutcome =
  | { readonly _tag: "Success"; readonly body: typeof TokenBody.Type }
  | { readonly _tag: "Error"; readonly status: number; readonly error: string }

/** @internal */
export interface TokenResponseOptions extends RequestContext {
  /** What the call was, for messages; default "token request". */
  readonly operation?: string | undefined
  /** Accepted `token_type`s, compared case-insensitively (RFC 6749 section 7.1); default `["Bearer"]`. */
  readonly acceptTokenTypes?: ReadonlyArray<string> | undefined
  /** The header scheme of the resulting `Token`, where it differs from `token_type` (Anaplan). */
  readonly tokenType?: string | undefined
  /** The scopes asked for: the granted ones when the answer has no `scope` (section 5.1). */
  readonly requestedScopes?: ReadonlyArray<string> | undefined
  /** The refresh token used, kept when the answer carries none (RFC 6749 section 6). */
  readonly previousRefreshToken?: Redacted.Redacted<string> | undefined
  /** The ID token checks (OIDC Core section 3.1.3.7): nonce, audience, issuer. */
  readonly idToken?: {
    readonly nonce?: string | undefined
    readonly clientId: string
    readonly issuer?: string | undefined
  } | undefined
}

/**
 * Reads a token endpoint answer: a 200 with the token JSON (RFC 6749 section 5.1), or a 400/401 with
 * an OAuth error object (section 5.2). Anything else is mapped by `AuthResponse.statusError`: 5xx and
 * 429 are transient, other statuses malformed; bodies that are not JSON are malformed.
 *
 * @internal
 */
export const readTokenResponse = (
  response: HttpClientResponse.HttpClientResponse,
  options: TokenResponseOptions = {}
): Effect.Effect<TokenEndpointOutcome, AuthError.AuthError> => {
  const ctx = { site: options.site, operation: options.operation ?? "token request" }
  if (response.status === 200) {
    return Effect.map(AuthResponse.json(response, TokenBody, ctx), (body) => ({ _tag: "Success" as const, body }))
  }
  if (response.status === 400 || response.status === 401 || response.status === 403) {
    return AuthResponse.text(response, ctx).pipe(
      Effect.flatMap((text) => {
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          return AuthResponse.statusError(response, ctx)
        }
        return Either.match(Schema.decodeUnknownEither(ErrorBody)(parsed), {
          onLeft: () => AuthResponse.statusError(response, ctx),
          onRight: (body) => Effect.succeed({ _tag: "Error" as const, status: response.status, error: body.error })
        })
      })
    )
  }
  return AuthResponse.statusError(response, ctx)
}

/**
 * The typed error for an OAuth error code at the token endpoint (RFC 6749 section 5.2,
 * RFC 8628 section 3.5).
 *
 * @internal
 */
export const tokenError = (error: string, status: number, options: TokenResponseOptions = {}): AuthError.AuthError => {
  const site = options.site
  const operation = options.operation ?? "token request"
  const code = safeCode(error)
  switch (error) {
    case "invalid_client":
      return new AuthError.InvalidCredentials({
        site,
        detail: `${operation}: the client was not accepted (invalid_client)`,
        hint: "Check the client id and client secret, and the client authentication method registered with the provider."
      })
    case "invalid_grant":
      return new AuthError.InvalidCredentials({
        site,
        detail: `${operation}: the grant is invalid, expired, revoked or already used (invalid_grant)`,
        hint: "Log in again."
      })
    case "access_denied":
      return new AuthError.LoginCancelled({ site, detail: `${operation}: the login was declined (access_denied)` })
    case "expired_token":
      return new AuthError.LoginTimeout({ site, detail: `${operation}: the device code expired (expired_token)` })
    case "temporarily_unavailable":
    case "server_error":
      return new AuthError.AuthServiceUnavailable({ site, status, detail: `${operation}: the service answered ${code}` })
    default:
      return new AuthError.InvalidCredentials({
        site,
        detail: `${operation}: the service refused the request (${code})`,
        hint: "Check the client registration: grant types, scopes and redirect URIs."
      })
  }
}

const decodeJwtPayload = (jwt: string): Option.Option<Record<string, unknown>> => {
  const parts = jwt.split(".")
  if (parts.length !== 3) return Option.none()
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"))
    return typeof payload === "object" && payload !== null && !Array.isArray(payload)
      ? Option.some(payload as Record<string, unknown>)
      : Option.none()
  } catch {
    return Option.none()
  }
}

/**
 * The cheap ID token checks of OIDC Core section 3.1.3.7: `iss` (item 2), `aud` contains the client
 * (item 3) and `nonce` (item 11). The signature is NOT verified: the token came straight from the
 * token endpoint over TLS (item 6 allows skipping it then), and we do not use its claims for
 * authorization.
 */
const checkIdToken = (
  idToken: string,
  expected: NonNullable<TokenResponseOptions["idToken"]>,
  site: string | undefined
): Effect.Effect<void, AuthError.AuthError> => {
  const payload = decodeJwtPayload(idToken)
  if (Option.isNone(payload)) {
    return Effect.fail(new AuthError.MalformedResponse({ site, detail: "The ID token is not a JWT" }))
  }
  const claims = payload.value
  const fail = (detail: string) =>
    Effect.fail(
      new AuthError.InvalidCredentials({ site, detail, hint: "Start the login again; if it persists, check the issuer." })
    )
  if (expected.issuer !== undefined && claims.iss !== expected.issuer) {
    return fail("The ID token was issued by another issuer (OIDC Core section 3.1.3.7, item 2)")
  }
  const aud = claims.aud
  const audiences = Array.isArray(aud) ? aud : [aud]
  if (!audiences.includes(expected.clientId)) {
    return fail("The ID token is meant for another client (OIDC Core section 3.1.3.7, item 3)")
  }
  if (expected.nonce !== undefined && claims.nonce !== expected.nonce) {
    return fail("The ID token's nonce does not match this login (OIDC Core section 3.1.3.7, item 11)")
  }
  return Effect.void
}

/**
 * Turns a successful token answer into a `Token`: `token_type` must be accepted (RFC 6749 section
 * 7.1, compared case-insensitively per RFC 6750 section 4 / RFC 9110 section 11.1), `expires_in` is
 * counted from the `Clock`, a missing `refresh_token` keeps the previous one (section 6), a missing
 * `scope` means the requested scopes (section 5.1).
 *
 * @internal
 */
export const tokenFromBody = (
  body: typeof TokenBody.Type,
  options: TokenResponseOptions = {}
): Effect.Effect<Token.Token, AuthError.AuthError> =>
  Effect.gen(function*() {
    const accepted = options.acceptTokenTypes ?? ["Bearer"]
    const matched = accepted.find((type) => type.toLowerCase() === body.token_type.toLowerCase())
    if (matched === undefined) {
      return yield* Effect.fail(
        new AuthError.MalformedResponse({
          site: options.site,
          detail: `${options.operation ?? "token request"}: the token type is not one of ${
            accepted.join(", ")
          } (RFC 6749 section 7.1)`,
          hint: "Configure the accepted token types for this provider."
        })
      )
    }
    if (body.id_token !== undefined && options.idToken !== undefined) {
      yield* checkIdToken(body.id_token, options.idToken, options.site)
    }
    const now = yield* Clock.currentTimeMillis
    return Token.make({
      accessToken: body.access_token,
      tokenType: options.tokenType ?? matched,
      issuedAt: now,
      expiresIn: body.expires_in === undefined ? undefined : Duration.seconds(body.expires_in),
      refreshToken: body.refresh_token ?? options.previousRefreshToken,
      scopes: body.scope !== undefined ? body.scope.split(" ").filter((s) => s.length > 0) : options.requestedScopes,
      idToken: body.id_token
    })
  })

/**
 * Processes a token endpoint answer into a `Token` or the typed error of section 5.2.
 *
 * @internal
 */
export const processTokenResponse = (
  response: HttpClientResponse.HttpClientResponse,
  options: TokenResponseOptions = {}
): Effect.Effect<Token.Token, AuthError.AuthError> =>
  Effect.flatMap(readTokenResponse(response, options), (outcome) =>
    outcome._tag === "Success"
      ? tokenFromBody(outcome.body, options)
      : Effect.fail(tokenError(outcome.error, outcome.status, options)))

/** Sends a token endpoint request and processes the answer. */
export const tokenCall = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  options: TokenResponseOptions
): Effect.Effect<Token.Token, AuthError.AuthError> =>
  Effect.flatMap(
    AuthResponse.execute(client, request, {
      site: options.site,
      operation: options.operation ?? "token request",
      timeout: options.timeout
    }),
    (response) => processTokenResponse(response, options)
  )

// ---------------------------------------------------------------------------------------------
// Device authorization (RFC 8628)
// ---------------------------------------------------------------------------------------------

const DeviceBody = Schema.Struct({
  device_code: Schema.NonEmptyString,
  user_code: Schema.NonEmptyString,
  verification_uri: optionalString,
  /** Google's pre-standard name. */
  verification_url: optionalString,
  verification_uri_complete: optionalString,
  expires_in: ExpiresIn,
  interval: Schema.optionalWith(ExpiresIn, { nullable: true })
})

/** @internal */
export interface DeviceAuthorization {
  readonly deviceCode: Redacted.Redacted<string>
  readonly userCode: string
  readonly verificationUri: string
  readonly verificationUriComplete: string | undefined
  readonly expiresIn: Duration.Duration
  /** The minimum polling interval: the server's, default 5 seconds (RFC 8628 section 3.2). */
  readonly interval: Duration.Duration
}

/** RFC 8628 section 3.1. */
export const deviceAuthorizationRequest = (
  endpoint: string,
  client: ClientAuth,
  options: {
    readonly scopes?: ReadonlyArray<string> | undefined
    readonly extraParams?: Readonly<Record<string, string>> | undefined
  } = {}
): HttpClientRequest.HttpClientRequest =>
  formPost(endpoint, client, {
    ...options.extraParams,
    scope: options.scopes !== undefined && options.scopes.length > 0 ? options.scopes.join(" ") : undefined
  })

/** RFC 8628 section 3.2 (success) and 3.2 / RFC 6749 section 5.2 (errors). */
export const processDeviceAuthorizationResponse = (
  response: HttpClientResponse.HttpClientResponse,
  context: RequestContext = {}
): Effect.Effect<DeviceAuthorization, AuthError.AuthError> => {
  const ctx = { site: context.site, operation: "device authorization" }
  if (response.status !== 200) {
    return Effect.flatMap(readTokenResponse(response, { ...context, operation: ctx.operation }), (outcome) =>
      outcome._tag === "Error"
        ? Effect.fail(tokenError(outcome.error, outcome.status, { ...context, operation: ctx.operation }))
        : AuthResponse.statusError(response, ctx))
  }
  return Effect.flatMap(AuthResponse.json(response, DeviceBody, ctx), (body) => {
    const verificationUri = body.verification_uri ?? body.verification_url
    if (verificationUri === undefined) {
      return Effect.fail(
        new AuthError.MalformedResponse({
          site: context.site,
          detail: "device authorization: verification_uri is missing (RFC 8628 section 3.2)"
        })
      )
    }
    return Effect.succeed<DeviceAuthorization>({
      deviceCode: Redacted.make(body.device_code),
      userCode: body.user_code,
      verificationUri,
      verificationUriComplete: body.verification_uri_complete,
      expiresIn: Duration.seconds(body.expires_in),
      interval: Duration.seconds(body.interval ?? 5)
    })
  })
}

/**
 * Polls the token endpoint for a device code (RFC 8628 section 3.4/3.5): waits `interval` before
 * each request, `authorization_pending` continues, `slow_down` adds 5 seconds to the interval for
 * good, `access_denied` -> `LoginCancelled`, `expired_token` -> `LoginTimeout`; a transient failure
 * (network, 5xx) backs off like `slow_down` (section 3.5 asks for backoff on timeouts). Past
 * `expires_in`, `LoginTimeout`. All waiting is on the `Clock`.
 *
 * @internal
 */
export const pollDeviceToken = (
  client: HttpClient.HttpClient,
  tokenEndpoint: string,
  clientAuth: ClientAuth,
  device: DeviceAuthorization,
  options: TokenResponseOptions = {}
): Effect.Effect<Token.Token, AuthError.AuthError> => {
  const operation = options.operation ?? "device login"
  const tokenOptions = { ...options, operation }
  const request = deviceCodeGrantRequest(tokenEndpoint, clientAuth, { deviceCode: device.deviceCode })
  const slower = (interval: Duration.Duration) => Duration.sum(interval, Duration.seconds(5))
  const expired = () =>
    new AuthError.LoginTimeout({
      site: options.site,
      detail: `${operation}: the code was not confirmed within ${Duration.format(device.expiresIn)}`
    })
  const loop = (deadline: number, interval: Duration.Duration): Effect.Effect<Token.Token, AuthError.AuthError> =>
    Effect.sleep(interval).pipe(
      // No poll at or past the code's expiry (RFC 8628 section 3.2, `expires_in`).
      Effect.zipRight(Effect.flatMap(Clock.currentTimeMillis, (now) => now >= deadline ? Effect.fail(expired()) : Effect.void)),
      Effect.zipRight(
        AuthResponse.execute(client, request, { site: options.site, operation, timeout: options.timeout }).pipe(
          Effect.flatMap((response) => readTokenResponse(response, tokenOptions)),
          Effect.either
        )
      ),
      Effect.flatMap((result): Effect.Effect<Token.Token, AuthError.AuthError> => {
        if (Either.isLeft(result)) {
          return AuthError.isTransient(result.left)
            ? Effect.zipRight(Effect.logDebug("device login: transient failure, slowing down"), loop(deadline, slower(interval)))
            : Effect.fail(result.left)
        }
        const outcome = result.right
        if (outcome._tag === "Success") return tokenFromBody(outcome.body, tokenOptions)
        switch (outcome.error) {
          case "authorization_pending":
            return loop(deadline, interval)
          case "slow_down":
            return loop(deadline, slower(interval))
          default:
            return Effect.fail(tokenError(outcome.error, outcome.status, tokenOptions))
        }
      })
    )
  return Clock.currentTimeMillis.pipe(
    Effect.flatMap((start) => loop(start + Duration.toMillis(device.expiresIn), device.interval)),
    Effect.timeoutFail({ duration: device.expiresIn, onTimeout: expired })
  )
}

// ---------------------------------------------------------------------------------------------
// Revocation (RFC 7009)
// ---------------------------------------------------------------------------------------------

/** RFC 7009 section 2.1. */
export const revocationRequest = (
  endpoint: string,
  client: ClientAuth,
  options: { readonly token: Redacted.Redacted<string>; readonly tokenTypeHint?: "access_token" | "refresh_token" }
): HttpClientRequest.HttpClientRequest =>
  formPost(endpoint, client, { token: Redacted.value(options.token), token_type_hint: options.tokenTypeHint })

/**
 * RFC 7009 section 2.2: 200 means revoked (or already invalid, which is the same to us); section
 * 2.2.1: 503 is transient; other errors are typed as at the token endpoint.
 */
export const processRevocationResponse = (
  response: HttpClientResponse.HttpClientResponse,
  context: RequestContext = {}
): Effect.Effect<void, AuthError.AuthError> => {
  const options = { ...context, operation: "token revocation" }
  if (response.status === 200) return Effect.void
  return Effect.flatMap(readTokenResponse(response, options), (outcome) =>
    outcome._tag === "Error"
      ? Effect.fail(tokenError(outcome.error, outcome.status, options))
      : AuthResponse.statusError(response, { site: context.site, operation: options.operation }))
}
