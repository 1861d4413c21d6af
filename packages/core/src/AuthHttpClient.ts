/**
 * `HttpClient` middleware that signs every request with a token from a {@link TokenSource} and
 * recovers from one `401`.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as AuthError from "./AuthError.js"
import type { Token } from "./Token.js"
import { TokenSource } from "./TokenSource.js"

class Rejected extends Data.TaggedError("@effect-auth/core/AuthHttpClient/Rejected")<{
  readonly response: HttpClientResponse.HttpClientResponse
}> {}

/**
 * Wraps `client` so that each request carries `Authorization: <tokenType> <token>` from `source`.
 * A `401` invalidates exactly the token that was sent (compare-and-set) and the request is sent once
 * more with a fresh token (the request is rebuilt, header included, as `HttpClient.retry` does); a second `401`
 * fails with {@link AuthError.InvalidCredentials}. Every other status passes through untouched.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (source: TokenSource.Service) =>
<E, R>(client: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E | AuthError.AuthError, R> => {
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
    // retry with a fresh token, as `HttpClient.retry` would; a single `catchAll` costs the
    // successful path nothing, where `Effect.retry` drives a schedule for every request.
    HttpClient.transformResponse((send) =>
      Effect.catchAll(
        Effect.flatMap(send, (response) =>
          response.status === 401
            ? Effect.zipRight(invalidateSent(response.request), Effect.fail(new Rejected({ response })))
            : Effect.succeed(redactSent(response))),
        (error) =>
          error instanceof Rejected
            ? Effect.flatMap(send, (response) =>
              response.status === 401
                ? Effect.zipRight(invalidateSent(response.request), Effect.fail(refused(response)))
                : Effect.succeed(redactSent(response))).pipe(Effect.tapError((error) => Effect.sync(() => redactLeaving(error))))
            : Effect.fail(redactLeaving(error))
      )
    )
  )
}

/**
 * What leaves the middleware (a response, an `HttpClientError`) carries the request as sent, whose
 * `Authorization` header holds the token as a plain string: `JSON.stringify` and `util.inspect` (what
 * `console.log`, pino, winston and Sentry do) would print it. Once the request is sent, its header
 * becomes `<scheme> <redacted>`: the request object is the middleware's own (built by `setHeader`
 * when signing), and a request sent again through the middleware is signed again.
 */
const redactLeaving = <A>(value: A): A => {
  if (typeof value === "object" && value !== null) {
    if ("request" in value && isRequest(value.request)) redactHeader(value.request)
    if ("response" in value && Predicate.hasProperty(value.response, "request") && isRequest(value.response.request)) {
      redactHeader(value.response.request)
    }
  }
  return value
}

const redactSent = (response: HttpClientResponse.HttpClientResponse): HttpClientResponse.HttpClientResponse => {
  redactHeader(response.request)
  return response
}

const isRequest = (u: unknown): u is HttpClientRequest.HttpClientRequest =>
  Predicate.hasProperty(u, HttpClientRequest.TypeId)

const redactHeader = (request: HttpClientRequest.HttpClientRequest): void => {
  const headers: Record<string, string> = request.headers
  const header = headers["authorization"]
  if (header === undefined || header.endsWith(redacted)) return
  const space = header.indexOf(" ")
  headers["authorization"] = space < 0 ? redacted.trimStart() : `${header.slice(0, space)}${redacted}`
}

const redacted = " <redacted>"

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
  client: HttpClient.HttpClient.With<E, R>
): Effect.Effect<HttpClient.HttpClient.With<E | AuthError.AuthError, R>, never, TokenSource> =>
  Effect.map(TokenSource, (source) => make(source)(client))
