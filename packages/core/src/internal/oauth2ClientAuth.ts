/** @internal */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as AuthError from "../AuthError.js"

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

/** @internal */
export type Params = Record<string, string | undefined>

/**
 * How a request body is encoded: `form` (`application/x-www-form-urlencoded`, what RFC 6749 and
 * RFC 8628 prescribe) or `json` (for providers that only take JSON).
 *
 * @internal
 */
export type BodyEncoding = "form" | "json"

/**
 * A POST to `endpoint` carrying `params` and the client authentication.
 * `client_secret_basic`: RFC 6749 section 2.3.1 (id and secret form-encoded, then Basic);
 * `client_secret_post`: section 2.3.1 (body); `none`: `client_id` in the body (section 3.2.1).
 *
 * @internal
 */
export const clientPost = (
  endpoint: string,
  client: ClientAuth,
  params: Params,
  encoding: BodyEncoding = "form"
): HttpClientRequest.HttpClientRequest => {
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
  return encoding === "json"
    ? HttpClientRequest.bodyUnsafeJson(request, Object.fromEntries(body))
    : HttpClientRequest.bodyUrlParams(request, body)
}

// ---------------------------------------------------------------------------------------------
// Transport security of endpoints (RFC 6749 sections 3.1, 3.2 and 10.9; RFC 8414 section 2)
// ---------------------------------------------------------------------------------------------

/** @internal */
export interface EndpointSecurity {
  readonly site?: string | undefined
  /**
   * Accept plain `http://` on a non-loopback host (secrets, codes and tokens travel in clear);
   * a warning is logged for each such endpoint.
   */
  readonly allowInsecureHttp?: boolean | undefined
  /** The service in messages; default `OAuth 2`. */
  readonly service?: string | undefined
  /** What would travel in clear, in messages; default `client secrets, codes and tokens`. */
  readonly carries?: string | undefined
}

const loopbackHosts = new Set(["localhost", "[::1]", "::1"])

/** The insecure-endpoint warnings this process gave. */
const warnedInsecure = new Set<string>()

/** `localhost`, `*.localhost` (RFC 6761 section 6.3), 127.0.0.0/8 and `[::1]`. */
const isLoopback = (hostname: string): boolean =>
  loopbackHosts.has(hostname) || hostname.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(hostname)

/**
 * Checks that an endpoint is `https://`, or plain `http://` on a loopback host, as RFC 6749 requires
 * TLS for the authorization and token endpoints (sections 3.1 and 3.2) and RFC 8414 for the
 * metadata. `field` names the option or metadata field in the error. With `allowInsecureHttp`, a
 * plain `http://` endpoint elsewhere is accepted with a warning, once per process.
 *
 * @internal
 */
export const checkEndpoint = (
  field: string,
  url: string,
  options: EndpointSecurity = {}
): Effect.Effect<void, AuthError.InvalidConfiguration> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Effect.fail(
      new AuthError.InvalidConfiguration({
        site: options.site,
        detail: `OAuth 2: ${field} is not a URL`,
        hint: `Set ${field} to an https:// URL.`
      })
    )
  }
  if (parsed.protocol === "https:") return Effect.void
  if (parsed.protocol !== "http:") {
    return Effect.fail(
      new AuthError.InvalidConfiguration({
        site: options.site,
        detail: `OAuth 2: ${field} is not an http(s) URL (${parsed.protocol})`,
        hint: `Set ${field} to an https:// URL.`
      })
    )
  }
  if (isLoopback(parsed.hostname)) return Effect.void
  const where = `${field} (${parsed.origin}) is plain http:// on a host that is not loopback`
  const service = options.service ?? "OAuth 2"
  const carries = options.carries ?? "client secrets, codes and tokens"
  if (options.allowInsecureHttp === true) {
    const warning = `${options.site === undefined ? "" : `${options.site}: `}${service}: ${where}; ` +
      `${carries} travel in clear (allow_insecure_http is set)`
    // once per process: an endpoint checked before every call must not warn on every call
    return Effect.suspend(() => {
      if (warnedInsecure.has(warning)) return Effect.void
      warnedInsecure.add(warning)
      return Effect.logWarning(warning)
    })
  }
  return Effect.fail(
    new AuthError.InvalidConfiguration({
      site: options.site,
      detail: `${service}: ${where}, so ${carries} would travel in clear`,
      hint: `Use https:// for ${field}; on a trusted network only, set allow_insecure_http = true for the site ` +
        "(option allowInsecureHttp)."
    })
  )
}
