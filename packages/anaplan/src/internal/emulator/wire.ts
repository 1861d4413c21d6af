/**
 * The emulator's wire format: reading requests (the `Authorization` header, bodies, query strings)
 * and writing Anaplan's answers (JSON, HTML pages, redirects).
 *
 * @internal
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"

/** @internal */
export const json = (status: number, body: unknown, headers?: Record<string, string>) =>
  HttpServerResponse.unsafeJson(body, { status, ...(headers === undefined ? {} : { headers }) })

/**
 * The auth service's failure answer (`401`, `status` `FAILURE_BAD_CREDENTIAL`); clients must not
 * rely on its text.
 *
 * @internal
 */
export const authFailure = (statusMessage: string) =>
  json(401, { status: "FAILURE_BAD_CREDENTIAL", statusMessage }, { "www-authenticate": "AnaplanAuthToken" })

/**
 * The auth service's answer to a malformed `Authorization` header: `400`, `FAILURE_BAD_HEADER`.
 *
 * @internal
 */
export const badHeader = (statusMessage: string) => json(400, { status: "FAILURE_BAD_HEADER", statusMessage })

/**
 * Whether the request carries an `Authorization` header that is not `<scheme> <credentials>`.
 *
 * @internal
 */
export const malformedAuthorization = (request: HttpServerRequest.HttpServerRequest) =>
  request.headers["authorization"] !== undefined && parseAuthorization(request.headers["authorization"]) === undefined

/**
 * The integration API's failure answer.
 *
 * @internal
 */
export const apiFailure = (code: number, message: string) => json(code, { status: { code, message } })

/**
 * OAuth error answer (RFC 6749 section 5.2).
 *
 * @internal
 */
export const oauthError = (status: number, error: string, description: string, headers?: Record<string, string>) =>
  json(status, { error, error_description: description }, { "cache-control": "no-store", pragma: "no-cache", ...headers })

/** @internal */
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** @internal */
export const html = (status: number, body: string) =>
  HttpServerResponse.text(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Anaplan (emulator)</title></head>` +
      `<body style="font-family:sans-serif;margin:3em">${body}</body></html>`,
    {
      status,
      contentType: "text/html; charset=utf-8",
      headers: {
        "cache-control": "no-store",
        "x-frame-options": "DENY",
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
      }
    }
  )

/** @internal */
export const errorPage = (title: string, detail: string) =>
  html(400, `<h1 id="title">${escapeHtml(title)}</h1><p id="error" role="alert">${escapeHtml(detail)}</p>`)

/** @internal */
export const redirect = (location: string) =>
  HttpServerResponse.empty({ status: 302, headers: { location, "cache-control": "no-store" } })

/** @internal */
export const redirectTo = (redirectUri: string, params: Record<string, string | undefined>) => {
  const url = new URL(redirectUri)
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value)
  return url.href
}

const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * Strict base64: Node's decoder silently skips garbage, Anaplan's does not.
 *
 * @internal
 */
export const decodeBase64 = (text: string): Buffer | undefined =>
  text.length % 4 === 0 && base64Pattern.test(text) ? Buffer.from(text, "base64") : undefined

/**
 * `<scheme> <credentials>` (RFC 9110 section 11.4: the scheme is case-insensitive).
 *
 * @internal
 */
export const parseAuthorization = (header: string | undefined) => {
  if (header === undefined) return undefined
  const match = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +([^\s]+)\s*$/.exec(header)
  return match === null ? undefined : { scheme: match[1].toLowerCase(), credentials: match[2] }
}

/**
 * The parameters of a form-encoded or JSON body (public Anaplan clients send JSON to `/oauth/*`).
 *
 * @internal
 */
export const bodyParams = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Map<string, string>> =>
  request.text.pipe(
    Effect.map((text) => {
      const params = new Map<string, string>()
      if ((request.headers["content-type"] ?? "").toLowerCase().includes("json")) {
        try {
          const parsed: unknown = JSON.parse(text)
          if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
            for (const [key, value] of Object.entries(parsed)) {
              if (typeof value === "string") params.set(key, value)
              else if (typeof value === "number") params.set(key, String(value))
            }
          }
        } catch {
          // an empty map: every required parameter is then missing
        }
      } else {
        for (const [key, value] of new URLSearchParams(text)) if (!params.has(key)) params.set(key, value)
      }
      return params
    }),
    Effect.orElseSucceed(() => new Map<string, string>())
  )

/** @internal */
export const queryParams = (request: HttpServerRequest.HttpServerRequest) => {
  const query = request.url.indexOf("?")
  const params = new Map<string, string>()
  if (query >= 0) {
    for (const [key, value] of new URLSearchParams(request.url.slice(query + 1))) {
      if (!params.has(key)) params.set(key, value)
    }
  }
  return params
}
