/** @internal */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as AuthError from "../AuthError.js"
import * as AuthResponse from "../AuthResponse.js"
import * as Token from "../Token.js"
import type { RequestContext } from "./oauth2Discovery.js"
import { safeCode } from "./oauth2Redirect.js"

/** @internal */
export const optionalString = Schema.optionalWith(Schema.String, { nullable: true })

// ---------------------------------------------------------------------------------------------
// Token endpoint responses (RFC 6749 sections 5.1, 5.2)
// ---------------------------------------------------------------------------------------------

/**
 * `expires_in` is a number of seconds (RFC 6749 section 5.1); a string of digits is tolerated, as
 * some servers send one; anything else is malformed. Both are bounded by 10^10 s (about 300 years):
 * a larger value would make an expiry that is not a valid date, and the token could not be stored.
 */
/** @internal */
export const ExpiresIn = Schema.Union(
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
 *
 * @internal
 */
export const validateIdToken = (
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
      yield* validateIdToken(body.id_token, options.idToken, options.site)
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

/**
 * Sends a token endpoint request and processes the answer.
 *
 * @internal
 */
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
