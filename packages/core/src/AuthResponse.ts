/**
 * Turning HTTP exchanges with an authentication service into values and typed errors: transport
 * failures and timeouts, status classes, `Retry-After`, bounded reads and Schema decoding whose
 * messages name the offending field but never echo a value.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as AuthError from "./AuthError.js"
import * as TransportError from "./TransportError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Context {
  /** The site or strategy, prefixed to messages. */
  readonly site?: string | undefined
  /** What the call was, for messages: "Anaplan login", "token refresh". */
  readonly operation: string
}

/**
 * The default bound on a response body: 1 MiB.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxBodyBytes = 1024 * 1024

/**
 * The default timeout of one request: 30 seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)

/**
 * Sends `request`, mapping transport failures and the timeout to {@link AuthError.AuthServiceUnavailable}
 * (a proxy or certificate problem of `HttpTransport` to {@link AuthError.InvalidConfiguration}
 * unless only the proxy is not answering).
 * The response is returned whatever its status.
 *
 * @since 0.1.0
 * @category execution
 */
export const execute = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  context: Context & { readonly timeout?: Duration.DurationInput | undefined }
): Effect.Effect<HttpClientResponse.HttpClientResponse, AuthError.AuthServiceUnavailable | AuthError.InvalidConfiguration> =>
  client.execute(request).pipe(
    Effect.timeoutFail({
      duration: context.timeout ?? defaultTimeout,
      onTimeout: () =>
        new AuthError.AuthServiceUnavailable({
          site: context.site,
          detail: `${context.operation}: no answer from ${hostOf(request.url)} within ${
            Duration.format(context.timeout ?? defaultTimeout)
          }`
        })
    }),
    Effect.catchTags({
      RequestError: (error: HttpClientError.RequestError) =>
        Effect.fail(
          TransportError.isTransportError(error.cause)
            ? fromTransport(error.cause, context)
            : new AuthError.AuthServiceUnavailable({
              site: context.site,
              detail: `${context.operation}: cannot reach ${hostOf(request.url)} (${error.reason.toLowerCase()} error${
                error.cause instanceof Error && "code" in error.cause ? `, ${String(error.cause.code)}` : ""
              })`
            })
        ),
      ResponseError: (error: HttpClientError.ResponseError) =>
        Effect.fail(
          new AuthError.AuthServiceUnavailable({
            site: context.site,
            status: error.response.status,
            detail: `${context.operation}: the answer from ${hostOf(request.url)} could not be read`
          })
        )
    })
  )

/** A failure of the network settings (proxy, certificate): transient only when the proxy does not answer. */
const fromTransport = (
  error: TransportError.TransportError,
  context: Context
): AuthError.AuthServiceUnavailable | AuthError.InvalidConfiguration => {
  const fields = { site: context.site, detail: `${context.operation}: ${error.detail}`, hint: error.hint }
  return TransportError.isTransient(error)
    ? new AuthError.AuthServiceUnavailable(fields)
    : new AuthError.InvalidConfiguration(fields)
}

const hostOf = (url: string): string => {
  try {
    return new URL(url).host
  } catch {
    return "the service"
  }
}

/**
 * Parses `Retry-After` (RFC 9110 section 10.2.3): delay-seconds or an HTTP date, relative to
 * `nowMillis`. Returns `undefined` when absent or unparseable.
 *
 * @since 0.1.0
 * @category parsing
 */
export const retryAfterMillis = (value: string | undefined, nowMillis: number): number | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMillis)
}

/**
 * The typed error for a non-2xx status: `429` and `5xx` are transient
 * ({@link AuthError.AuthServiceUnavailable}, with `Retry-After`), `401`/`403` are
 * {@link AuthError.InvalidCredentials} (override with `rejected`), anything else
 * {@link AuthError.MalformedResponse}.
 *
 * @since 0.1.0
 * @category errors
 */
export const statusError = (
  response: HttpClientResponse.HttpClientResponse,
  context: Context & { readonly rejected?: (() => AuthError.AuthError) | undefined }
): Effect.Effect<never, AuthError.AuthError> =>
  Effect.flatMap(Effect.clockWith((clock) => clock.currentTimeMillis), (now) => {
    const status = response.status
    if (status === 429 || status >= 500) {
      return Effect.fail(
        new AuthError.AuthServiceUnavailable({
          site: context.site,
          status,
          retryAfterMillis: retryAfterMillis(response.headers["retry-after"], now),
          detail: `${context.operation}: the service answered ${status}${
            status === 429 ? " (too many requests)" : ""
          }`
        })
      )
    }
    if (status === 401 || status === 403) {
      return Effect.fail(
        context.rejected?.() ??
          new AuthError.InvalidCredentials({
            site: context.site,
            detail: `${context.operation}: the service rejected the credentials (${status})`
          })
      )
    }
    return Effect.fail(
      new AuthError.MalformedResponse({
        site: context.site,
        status,
        detail: `${context.operation}: unexpected status ${status}`
      })
    )
  })

/**
 * Reads the body as text, failing with {@link AuthError.MalformedResponse} past `maxBytes`
 * (default {@link defaultMaxBodyBytes}) and with {@link AuthError.AuthServiceUnavailable} when the
 * connection breaks mid-body.
 *
 * @since 0.1.0
 * @category decoding
 */
export const text = (
  response: HttpClientResponse.HttpClientResponse,
  context: Context & { readonly maxBytes?: number | undefined }
): Effect.Effect<string, AuthError.MalformedResponse | AuthError.AuthServiceUnavailable> => {
  const maxBytes = context.maxBytes ?? defaultMaxBodyBytes
  const declared = Number(response.headers["content-length"])
  if (Number.isFinite(declared) && declared > maxBytes) return Effect.fail(tooLarge(response, context, maxBytes))
  // No body to read (RFC 9110 section 6.4.1): streaming one would fail with `EmptyBody` in a fiber
  // of the client's and log it.
  if (response.status === 204 || response.status === 304 || declared === 0) return Effect.succeed("")
  return response.stream.pipe(
    Stream.runFoldEffect(
      { chunks: [] as Array<Uint8Array>, size: 0 },
      (acc, chunk) => {
        acc.size += chunk.length
        if (acc.size > maxBytes) return Effect.fail(tooLarge(response, context, maxBytes))
        acc.chunks.push(chunk)
        return Effect.succeed(acc)
      }
    ),
    Effect.map(({ chunks }) => Buffer.concat(chunks).toString("utf8")),
    Effect.catchTag("ResponseError", () =>
      Effect.fail(
        new AuthError.AuthServiceUnavailable({
          site: context.site,
          status: response.status,
          detail: `${context.operation}: the connection broke while reading the answer`
        })
      ))
  )
}

const tooLarge = (response: HttpClientResponse.HttpClientResponse, context: Context, maxBytes: number) =>
  new AuthError.MalformedResponse({
    site: context.site,
    status: response.status,
    detail: `${context.operation}: the answer is larger than ${maxBytes} bytes`
  })

/**
 * Describes a decoding failure by paths only (`tokenInfo.expiresAt: wrong type`), so that no value
 * from the response, possibly a secret, reaches a message.
 *
 * @since 0.1.0
 * @category decoding
 */
export const describeParseError = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error).slice(0, 3).map((issue) => {
    const path = issue.path.length === 0 ? "the body" : issue.path.map(String).join(".")
    switch (issue._tag) {
      case "Missing":
        return `${path} is missing`
      case "Unexpected":
        return `${path} is not expected`
      default:
        return `${path} has the wrong type or format`
    }
  }).join("; ")

/**
 * Reads a bounded body, parses it as JSON and decodes it with `schema`. Non-JSON (an HTML error
 * page, truncated JSON) and schema mismatches are {@link AuthError.MalformedResponse} naming the
 * field, never echoing a value.
 *
 * @since 0.1.0
 * @category decoding
 */
export const json = <A, I>(
  response: HttpClientResponse.HttpClientResponse,
  schema: Schema.Schema<A, I>,
  context: Context & { readonly maxBytes?: number | undefined }
): Effect.Effect<A, AuthError.MalformedResponse | AuthError.AuthServiceUnavailable> =>
  Effect.flatMap(text(response, context), (body) => {
    const malformed = (detail: string) =>
      new AuthError.MalformedResponse({
        site: context.site,
        status: response.status,
        detail: `${context.operation}: ${detail}`
      })
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      const type = response.headers["content-type"] ?? "no content type"
      return Effect.fail(malformed(`expected JSON, got ${body.length === 0 ? "an empty body" : type}`))
    }
    return Either.match(Schema.decodeUnknownEither(schema)(parsed, { errors: "all" }), {
      onLeft: (error) => Effect.fail(malformed(`unexpected answer: ${describeParseError(error)}`)),
      onRight: Effect.succeed
    })
  })
