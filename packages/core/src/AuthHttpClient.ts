/**
 * `HttpClient` middleware that signs every request with a token from a {@link TokenSource} and
 * recovers from one `401`; a `401` that the provider classifies as a missing permission is
 * `AccessDenied` at once.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as AuthError from "./AuthError.js"
import type { Token } from "./Token.js"
import { TokenSource } from "./TokenSource.js"

class Rejected extends Data.TaggedError("@effect-auth/core/AuthHttpClient/Rejected")<{
  readonly response: HttpClientResponse.HttpClientResponse
}> {}

/**
 * What a `401` means: `None` when the token was rejected (expired, revoked: invalidate it and send
 * again), `Some(reason)` when the token is good but the account lacks the permission (`reason` is
 * the service's code, e.g. `ACCESS_CONTROL_DENIED`): then nothing is refreshed or retried.
 *
 * @since 0.1.0
 * @category models
 */
export type UnauthorizedClassifier = (
  response: HttpClientResponse.HttpClientResponse
) => Effect.Effect<Option.Option<string>>

/**
 * RFC 6750 section 3.1: a `WWW-Authenticate: Bearer` challenge with `error="insufficient_scope"`
 * means the token lacks a scope. The default classifier.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1
 * @since 0.1.0
 * @category classifiers
 */
export const insufficientScope: UnauthorizedClassifier = (response) =>
  Effect.succeed(
    /(?:^|,)\s*bearer\b[^]*?\berror\s*=\s*"?insufficient_scope\b/i.test(response.headers["www-authenticate"] ?? "")
      ? Option.some("insufficient_scope")
      : Option.none()
  )

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How to tell a missing permission from a rejected token; default {@link insufficientScope}. */
  readonly classifyUnauthorized?: UnauthorizedClassifier | undefined
}

/** A `401` the classifier calls a missing permission fails with `AccessDenied`; others go to `rejected`. */
const unauthorized = <A, E, R>(
  source: TokenSource.Service,
  classify: UnauthorizedClassifier,
  response: HttpClientResponse.HttpClientResponse,
  rejected: Effect.Effect<A, E, R>
): Effect.Effect<A, E | AuthError.AccessDenied, R> =>
  Effect.flatMap(classify(response), (reason): Effect.Effect<A, E | AuthError.AccessDenied, R> => {
    if (Option.isNone(reason)) return rejected
    const resource = `${response.request.method} ${urlPath(response.request.url)}`
    return Effect.fail(
      new AuthError.AccessDenied({
        site: source.site,
        resource,
        reason: reason.value,
        detail: `${resource} was refused (401 ${reason.value}): the token is valid, the account lacks the permission`
      })
    )
  })

/**
 * Wraps `client` so that each request carries `Authorization: <tokenType> <token>` from `source`.
 * A `401` invalidates exactly the token that was sent (compare-and-set) and the request is sent once
 * more with a fresh token (the request is rebuilt, header included, as `HttpClient.retry` does); a second `401`
 * fails with {@link AuthError.InvalidCredentials}. A `401` that `options.classifyUnauthorized` calls
 * a missing permission fails with {@link AuthError.AccessDenied} at once: no invalidation, no
 * retry. Every other status passes through untouched.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (source: TokenSource.Service, options?: Options) =>
<E, R>(client: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E | AuthError.AuthError, R> => {
  const classify = options?.classifyUnauthorized ?? insufficientScope
  const headers = new WeakMap<Token, string>()
  const signed = (token: Token): string => {
    let header = headers.get(token)
    if (header === undefined) {
      header = Redacted.value(token.authorizationHeader)
      headers.set(token, header)
    }
    return header
  }
  // Invalidate exactly the token that was sent: the held one only if its header is the one the
  // rejected request carried, so a late 401 for an old token never discards a newer one.
  const invalidateSent = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.flatMap(source.current, (held) =>
      held._tag === "Some" && signed(held.value) === request.headers["authorization"]
        ? source.invalidate(held.value)
        : Effect.void)
  const refused = (response: HttpClientResponse.HttpClientResponse) =>
    new AuthError.InvalidCredentials({
      site: source.site,
      detail: `${response.request.method} ${urlPath(response.request.url)} was refused (401) twice, the second time with a fresh token`,
      hint: "The account may lack access to this resource, or its credentials were revoked; log in again."
    })
  return client.pipe(
    HttpClient.mapRequestEffect((request) =>
      Effect.map(source.get, (token) => HttpClientRequest.setHeader(request, "authorization", signed(token)))
    ),
    // `send` runs the whole request, signing included, so running it again after a 401 signs the
    // retry with a fresh token, as `HttpClient.retry` would; a single `catchIf` costs the
    // successful path nothing, where `Effect.retry` drives a schedule for every request.
    HttpClient.transformResponse((send) =>
      Effect.catchIf(
        Effect.flatMap(send, (response) =>
          response.status === 401
            ? unauthorized(
              source,
              classify,
              response,
              Effect.zipRight(invalidateSent(response.request), Effect.fail(new Rejected({ response })))
            )
            : Effect.succeed(response)),
        (error): error is Rejected => error instanceof Rejected,
        () =>
          Effect.flatMap(send, (response) =>
            response.status === 401
              ? unauthorized(
                source,
                classify,
                response,
                Effect.zipRight(invalidateSent(response.request), Effect.fail(refused(response)))
              )
              : Effect.succeed(response))
      )
    )
  )
}

const urlPath = (url: string): string => {
  try {
    return new URL(url).pathname
  } catch {
    return url
  }
}

/**
 * The `HttpClient` in context, wrapped with {@link make} over the {@link TokenSource} in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const withTokenSource = <E, R>(
  client: HttpClient.HttpClient.With<E, R>,
  options?: Options
): Effect.Effect<HttpClient.HttpClient.With<E | AuthError.AuthError, R>, never, TokenSource> =>
  Effect.map(TokenSource, (source) => make(source, options)(client))
