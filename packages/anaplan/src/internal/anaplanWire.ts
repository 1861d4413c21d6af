/**
 * The wire of Anaplan's authentication service: its requests (the `AnaplanAuthToken` header, the
 * spans) and its answers (the token answer's Schema, status codes, typed errors for rejections).
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as AuthError from "@effect-auth/core/AuthError"
import * as AuthResponse from "@effect-auth/core/AuthResponse"
import * as Token from "@effect-auth/core/Token"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/** @internal */
export const tokenType = "AnaplanAuthToken"

/**
 * Anaplan's login and refresh answer (help.anaplan.com, "Use basic authentication", "Refresh your
 * authentication token"). Unknown fields are ignored, as Anaplan asks (it is adding `refreshToken`).
 */
const TokenResponse = Schema.Struct({
  status: Schema.optional(Schema.String),
  statusMessage: Schema.optional(Schema.String),
  tokenInfo: Schema.Struct({
    // Epoch milliseconds; past 8.64e15 it is not a date (ECMA-262 time values) and would be a defect.
    expiresAt: Schema.Number.pipe(Schema.finite(), Schema.positive(), Schema.lessThanOrEqualTo(8.64e15)),
    tokenId: Schema.optional(Schema.String),
    tokenValue: Schema.NonEmptyTrimmedString,
    refreshTokenId: Schema.optional(Schema.String)
  })
})

/** @internal */
export const decodeTokenResponse = (
  body: unknown,
  options?: { readonly site?: string | undefined; readonly operation?: string | undefined; readonly status?: number | undefined }
): Effect.Effect<Token.Token, AuthError.MalformedResponse> =>
  Either.match(Schema.decodeUnknownEither(TokenResponse)(body, { errors: "all" }), {
    onLeft: (error) =>
      Effect.fail(
        new AuthError.MalformedResponse({
          site: options?.site,
          status: options?.status,
          detail: `${options?.operation ?? "Anaplan login"}: unexpected answer: ${AuthResponse.describeParseError(error)}`
        })
      ),
    onRight: ({ tokenInfo }) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        Token.make({
          accessToken: tokenInfo.tokenValue,
          tokenType,
          issuedAt: now,
          expiresAt: tokenInfo.expiresAt
        }))
  })

/** @internal */
export interface Context {
  readonly site: string
  readonly operation: string
}

/**
 * The `status` code of an Anaplan failure body (`{"status": "FAILURE_BAD_CREDENTIAL"}`, or the
 * integration API's `{"status": {"message": ...}}`), when it looks like a code: never free text.
 *
 * @internal
 */
export const anaplanStatus = (body: string): string | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return undefined
  }
  if (typeof parsed !== "object" || parsed === null) return undefined
  const status: unknown = (parsed as { readonly status?: unknown }).status
  const candidates = typeof status === "object" && status !== null
    ? [(status as { readonly message?: unknown }).message, (status as { readonly code?: unknown }).code]
    : [status]
  return candidates.find((value): value is string => typeof value === "string" && /^[A-Z][A-Z0-9_]{2,63}$/.test(value))
}

/** How a rejection reads with Anaplan's status code: ` (Anaplan status FAILURE_BAD_CREDENTIAL)`. */
const statusNote = (status: string | undefined): string => (status === undefined ? "" : ` (Anaplan status ${status})`)

/** Builds the error for a rejected call (`401`/`403`, or `400` with an Anaplan `FAILURE_*` status). */
/** @internal */
export type Rejected = (note: string) => AuthError.AuthError

/**
 * Drains a rejected answer (so the connection is reused) and maps its status to a typed error; the
 * body's Anaplan status code, never its text, goes into the error.
 */
/** @internal */
export const failWith = (
  response: HttpClientResponse.HttpClientResponse,
  context: Context,
  rejected?: Rejected
): Effect.Effect<never, AuthError.AuthError> =>
  Effect.flatMap(Effect.option(AuthResponse.text(response, { ...context, maxBytes: 64 * 1024 })), (body) => {
    const status = Option.getOrUndefined(Option.flatMapNullable(body, anaplanStatus))
    if (rejected !== undefined && response.status === 400 && status?.startsWith("FAILURE_")) {
      return Effect.fail(rejected(statusNote(status)))
    }
    return AuthResponse.statusError(response, {
      ...context,
      rejected: rejected === undefined ? undefined : () => rejected(statusNote(status))
    })
  })

/** @internal */
export const isSuccess = (response: HttpClientResponse.HttpClientResponse) => response.status >= 200 && response.status < 300

/** Sends `request`; a 2xx answer is returned, anything else is a typed error (`rejected` for 401/403). */
/** @internal */
export const send = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  context: Context,
  rejected?: Rejected
): Effect.Effect<HttpClientResponse.HttpClientResponse, AuthError.AuthError> =>
  Effect.flatMap(
    AuthResponse.execute(client, request, context),
    (response) => isSuccess(response) ? Effect.succeed(response) : failWith(response, context, rejected)
  )

/** @internal */
export const tokenCall = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  context: Context,
  rejected: Rejected
): Effect.Effect<Token.Token, AuthError.AuthError> =>
  Effect.flatMap(send(client, request, context, rejected), (response) =>
    Effect.flatMap(
      AuthResponse.json(response, Schema.Unknown, context),
      (body) => decodeTokenResponse(body, { ...context, status: response.status })
    ))

/** @internal */
export const traced = (name: string, method: string, site: string) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withSpan(self, `AnaplanAuth.${name}`, { attributes: { "anaplan.method": method, "auth.site": site } })

/** @internal */
export const anaplanTokenHeader = (token: Token.Token | Redacted.Redacted<string>): string =>
  `${tokenType} ${Redacted.value(Redacted.isRedacted(token) ? token : token.accessToken)}`

/** @internal */
export const authRequest = (method: "GET" | "POST", url: string, authorization: string) =>
  HttpClientRequest.make(method)(url).pipe(
    HttpClientRequest.setHeader("authorization", authorization),
    HttpClientRequest.acceptJson
  )

