/** @internal */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as AuthError from "../AuthError.js"
import * as AuthResponse from "../AuthResponse.js"
import type * as Token from "../Token.js"
import { type BodyEncoding, type ClientAuth, clientPost } from "./oauth2ClientAuth.js"
import type { RequestContext } from "./oauth2Discovery.js"
import {
  ExpiresIn,
  optionalString,
  readTokenResponse,
  tokenError,
  tokenFromBody,
  type TokenResponseOptions
} from "./oauth2Token.js"

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

/** @internal */
export interface DeviceAuthorizationRequestOptions {
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly extraParams?: Readonly<Record<string, string>> | undefined
  /** The body encoding: `form` as RFC 8628 section 3.1 prescribes (default), or `json`. */
  readonly body?: BodyEncoding | undefined
}

/**
 * The device authorization request (RFC 8628 section 3.1).
 *
 * @internal
 */
export const deviceAuthorizationRequest = (
  endpoint: string,
  client: ClientAuth,
  options: DeviceAuthorizationRequestOptions = {}
): HttpClientRequest.HttpClientRequest =>
  clientPost(endpoint, client, {
    ...options.extraParams,
    scope: options.scopes !== undefined && options.scopes.length > 0 ? options.scopes.join(" ") : undefined
  }, options.body)

/**
 * The device authorization answer: RFC 8628 section 3.2 (success) and 3.2 / RFC 6749 section 5.2
 * (errors).
 *
 * @internal
 */
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
            return Effect.zipRight(
              Effect.logDebug(`${operation}: the code is not confirmed yet; asking again in ${Duration.format(interval)}`),
              loop(deadline, interval)
            )
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

/**
 * The device access token request (RFC 8628 section 3.4).
 *
 * @internal
 */
export const deviceCodeGrantRequest = (
  tokenEndpoint: string,
  client: ClientAuth,
  options: { readonly deviceCode: Redacted.Redacted<string> }
): HttpClientRequest.HttpClientRequest =>
  clientPost(tokenEndpoint, client, {
    grant_type: "urn:ietf:params:oauth:grant-type:device_code",
    device_code: Redacted.value(options.deviceCode)
  })
