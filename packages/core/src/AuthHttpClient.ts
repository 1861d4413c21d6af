/**
 * `HttpClient` middleware that signs every request with a token from a {@link TokenSource} and
 * recovers from `401`s caused by refresh races; a `401` that the provider classifies as a
 * missing permission is `AccessDenied` at once.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as AuthError from "./AuthError.js"
import type { Token } from "./Token.js"
import { TokenSource } from "./TokenSource.js"

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
 *
 * A `401` is recovered without the caller seeing it, as long as it may be a refresh race: a
 * request refused with a token that was superseded while it was under way (refresh-ahead, or
 * another fiber's `401`) is sent again with the current token; a request refused with the current
 * token invalidates exactly that token (compare-and-set) and is sent once more with a new one.
 * Each distinct token is tried at most once per request, and at most {@link maxAttempts} sends
 * are made. {@link AuthError.InvalidCredentials} means the current token itself was refused after
 * it had been renewed for this request. Each retry rebuilds the request, header included, as
 * `HttpClient.retry` does. Every other status passes through untouched.
 * A `401` that `options.classifyUnauthorized` calls a missing permission fails with
 * {@link AuthError.AccessDenied} at once: no invalidation, no retry.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (source: TokenSource.Service, options?: Options) =>
<E, R>(client: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E | AuthError.AuthError, R> => {
  const classify = options?.classifyUnauthorized ?? insufficientScope
  // retries are classified too: a denial after a renewal is still a denial
  const classified = <E2, R2>(send: Effect.Effect<HttpClientResponse.HttpClientResponse, E2, R2>) =>
    Effect.flatMap(send, (response) =>
      response.status === 401 ? unauthorized(source, classify, response, Effect.succeed(response)) : Effect.succeed(response))
  const headers = new WeakMap<Token, string>()
  const signed = (token: Token): string => {
    let header = headers.get(token)
    if (header === undefined) {
      header = Redacted.value(token.authorizationHeader)
      headers.set(token, header)
    }
    return header
  }
  const refused = (response: HttpClientResponse.HttpClientResponse, attempts: number) =>
    new AuthError.InvalidCredentials({
      site: source.site,
      detail: `${response.request.method} ${urlPath(response.request.url)} was refused (401) ${
        attempts === 2 ? "twice" : `${attempts} times`
      }, ` +
        "the last time with a newly issued token",
      hint: "The account may lack access to this resource, or its credentials were revoked; log in again."
    })
  const leaving = <A>(error: A) => Effect.fail(redactLeaving(error))
  const sign = (request: HttpClientRequest.HttpClientRequest) => (token: Token) =>
    HttpClientRequest.setHeader(request, "authorization", signed(token))
  return client.pipe(
    // a fresh token signs without a step of its own; otherwise the request waits for `get`
    HttpClient.mapRequestEffect((request) => {
      const fresh = source.unsafeFresh?.()
      return fresh !== undefined ? Effect.succeed(sign(request)(fresh)) : Effect.map(source.get, sign(request))
    }),
    // `send` runs the whole request, signing included, so running it again after a 401 signs the
    // retry with the current token; the successful path costs one frame, and whatever leaves
    // carries the header redacted.
    HttpClient.transformResponse((send) =>
      Effect.matchEffect(send, {
        onFailure: leaving,
        onSuccess: (response) =>
          response.status === 401
            ? unauthorized(source, classify, response, recover(source, signed, classified(send), response, refused))
              .pipe(Effect.matchEffect({ onFailure: leaving, onSuccess: (last) => Effect.succeed(redactSent(last)) }))
            : Effect.succeed(redactSent(response))
      })
    )
  )
}

/**
 * At most this many sends of one request through {@link make}: the first, and retries after
 * `401`s for distinct tokens.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxAttempts = 4

/**
 * The `401` path of {@link make}: decides, after each refusal, whether the refused token was the
 * current one (then invalidate it, once per request) or had been superseded (then just send again),
 * and stops at a token already refused for this request or after {@link maxAttempts} sends.
 */
const recover = <E, R>(
  source: TokenSource.Service,
  signed: (token: Token) => string,
  send: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>,
  first: HttpClientResponse.HttpClientResponse,
  refused: (response: HttpClientResponse.HttpClientResponse, attempts: number) => AuthError.InvalidCredentials
): Effect.Effect<HttpClientResponse.HttpClientResponse, E | AuthError.AuthError, R> => {
  const tried = new Set<string>()
  let invalidated = false
  const loop = (
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, E | AuthError.AuthError, R> => {
    if (response.status !== 401) return Effect.succeed(response)
    const sent = response.request.headers["authorization"]
    const repeated = sent === undefined || tried.has(sent)
    if (sent !== undefined) tried.add(sent)
    return Effect.flatMap(source.current, (held) => {
      const current = held._tag === "Some" && signed(held.value) === sent
      if (repeated || tried.size >= maxAttempts || (current && invalidated)) {
        // the current token, renewed for this request, was refused: not a race
        return Effect.zipRight(
          current ? source.invalidate(held.value) : Effect.void,
          Effect.fail(refused(response, tried.size))
        )
      }
      if (current) invalidated = true
      return Effect.zipRight(
        current ? source.invalidate(held.value) : Effect.void,
        Effect.flatMap(send, loop)
      )
    })
  }
  return loop(first)
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
  client: HttpClient.HttpClient.With<E, R>,
  options?: Options
): Effect.Effect<HttpClient.HttpClient.With<E | AuthError.AuthError, R>, never, TokenSource> =>
  Effect.map(TokenSource, (source) => make(source, options)(client))
