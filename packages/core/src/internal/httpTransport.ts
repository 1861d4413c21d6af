/**
 * The `HttpClient` on undici: a direct `Agent` and one `ProxyAgent` per proxy, chosen per request
 * by {@link ProxyRoutes}; certificates checked by our own connector so that a failure can name the
 * issuer; undici's errors turned into {@link TransportError}s that say what to do.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Tls from "node:tls"
import { TransportError } from "../TransportError.js"
import * as ProxyRoutes from "./proxyRoutes.js"
import type { Settings } from "./transportSettings.js"

/** A certificate our connector refused, with what a message needs. */
class CertificateProblem extends Error {
  constructor(
    readonly host: string,
    readonly code: string,
    readonly issuer: string,
    readonly names: string
  ) {
    super(`certificate of ${host} not verified: ${code}`)
  }
}

const describeName = (name: Tls.Certificate | undefined): string => {
  const value = name?.CN ?? name?.O
  return value === undefined ? "unknown" : Array.isArray(value) ? value.join(", ") : value
}

/**
 * Wraps undici's connector: TLS is negotiated without Node's own rejection (`rejectUnauthorized:
 * false` in the options) and rejected here when `verify`, while the peer's certificate can still
 * be read.
 */
const checked = (connect: Undici.buildConnector.connector, verify: boolean): Undici.buildConnector.connector =>
(options, callback) =>
  connect(options, (...args) => {
    const [error, socket] = args
    if (error !== null) return callback(error, null)
    if (!verify || !(socket instanceof Tls.TLSSocket) || socket.authorized) return callback(null, socket)
    const peer = socket.getPeerCertificate()
    const problem = new CertificateProblem(
      options.hostname,
      String(socket.authorizationError),
      describeName(peer.issuer),
      peer.subjectaltname ?? describeName(peer.subject)
    )
    socket.destroy()
    callback(problem, null)
  })

const connectCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET"
])

const codeOf = (cause: unknown): string | undefined =>
  cause instanceof Error && "code" in cause && typeof cause.code === "string" ? cause.code : undefined

const certificateCodes = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE"
])

const trustHint =
  "If a proxy on your network inspects TLS with its own certificate authority, trust that authority: " +
  "put its PEM bundle in the site's ca_file (EFFECT_AUTH_CA_FILE; the caFile option of HttpTransport) " +
  "or in NODE_EXTRA_CA_CERTS."

const certificateError = (problem: CertificateProblem): TransportError =>
  problem.code === "ERR_TLS_CERT_ALTNAME_INVALID"
    ? new TransportError({
      reason: "CertificateMismatch",
      detail: `The certificate of ${problem.host} (issuer "${problem.issuer}") is for other names: ${problem.names}`,
      hint: "Check the host name in the site's URLs; a proxy that inspects TLS must sign for the host you reach."
    })
    : new TransportError({
      reason: "UntrustedCertificate",
      detail: `The certificate of ${problem.host} does not verify (${problem.code}); its issuer is "${problem.issuer}"`,
      hint: trustHint
    })

/** What a failed request through `proxy` (or direct) means, when we can tell. */
const explain = (cause: unknown, url: URL, proxy: ProxyRoutes.Proxy | undefined): TransportError | undefined => {
  if (cause instanceof CertificateProblem) return certificateError(cause)
  const code = codeOf(cause)
  const message = cause instanceof Error ? cause.message : ""
  if (code !== undefined && certificateCodes.has(code)) {
    return new TransportError({
      reason: "UntrustedCertificate",
      detail: `The certificate of ${proxy?.display ?? url.host} does not verify (${code})`,
      hint: trustHint
    })
  }
  if (proxy === undefined) return undefined
  const from = `the proxy ${proxy.display} (from ${proxy.source})`
  const status = /Proxy response \((\d+)\)/.exec(message)?.[1] ?? (/\(407\)/.test(message) ? "407" : undefined)
  // 407 is the standard answer; tinyproxy answers 401 to wrong credentials.
  if (status === "407" || status === "401") {
    return new TransportError({
      reason: "ProxyAuthentication",
      detail: `${from} ${
        proxy.hasCredentials ? "rejected the user and password in its URL" : "requires authentication"
      } (${status === "407" ? "407 Proxy Authentication Required" : "401"})`,
      hint: `Put the proxy's user and password in ${proxy.source}: http://USER:PASSWORD@host:port (percent-encode special characters).`
    })
  }
  if (status !== undefined) {
    return new TransportError({
      reason: "ProxyRefused",
      detail: `${from} refused to connect to ${url.host} (it answered ${status})`,
      hint: `Ask the proxy's administrators to allow ${url.host}, or reach it without the proxy by adding it to NO_PROXY.`
    })
  }
  if (code === "UND_ERR_HEADERS_TIMEOUT") {
    return new TransportError({
      reason: "ProxyUnreachable",
      detail: `${from} accepted the connection but did not answer the tunnel request to ${url.host}`,
      hint: `Check that ${proxy.source} names a working HTTP proxy; to go without it, add ${url.hostname} to NO_PROXY or set the site's proxy = "none".`
    })
  }
  if (code !== undefined && connectCodes.has(code)) {
    return new TransportError({
      reason: "ProxyUnreachable",
      detail: `Cannot connect to ${from}: ${code}`,
      hint: `Check that the proxy runs and that ${proxy.source} names it; to go without it, add ${url.hostname} to NO_PROXY or set the site's proxy = "none".`
    })
  }
  return undefined
}

const fail = (request: HttpClientRequest.HttpClientRequest, error: TransportError) =>
  Effect.fail(
    new HttpClientError.RequestError({ request, reason: "Transport", cause: error, description: error.message })
  )

/** The client for checked `settings`, its dispatchers closed with the scope. @internal */
export const make = (settings: Settings): Effect.Effect<HttpClient.HttpClient, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { alwaysVerify, routes, verify } = settings
    const ca = settings.ca === undefined ? undefined : [...settings.ca]
    const proxyTimeout = settings.proxyTimeoutMillis
    const tls = { ...(ca === undefined ? {} : { ca }), rejectUnauthorized: false, maxCachedSessions: 0 }
    const acquire = <D extends Undici.Dispatcher>(build: () => D) =>
      Effect.acquireRelease(Effect.sync(build), (dispatcher) => Effect.promise(() => dispatcher.destroy()))
    const clientOf = (dispatcher: Undici.Dispatcher) =>
      HttpClient.withTracerDisabledWhen(NodeHttpClient.makeUndici(dispatcher), () => true)

    const direct = clientOf(yield* acquire(() => new Undici.Agent({ connect: checked(Undici.buildConnector(tls), verify) })))
    const proxied = new Map<string, HttpClient.HttpClient>()
    for (const proxy of [routes.https, routes.http]) {
      if (proxy === undefined || proxied.has(proxy.source)) continue
      const agent = yield* acquire(() =>
        new Undici.ProxyAgent({
          uri: Redacted.value(proxy.url),
          requestTls: tls,
          proxyTls: { ...(ca === undefined ? {} : { ca }), timeout: proxyTimeout },
          // http:// requests go to the proxy as absolute URIs (as curl sends them), https:// through CONNECT.
          proxyTunnel: false,
          factory: (origin, opts) => {
            const pool = opts as Undici.Pool.Options
            return new Undici.Pool(origin, {
              ...pool,
              ...(typeof pool.connect === "function" ? { connect: checked(pool.connect, verify) } : {})
            })
          },
          clientFactory: (origin, opts) => new Undici.Pool(origin, { ...opts, headersTimeout: proxyTimeout })
        })
      )
      proxied.set(proxy.source, clientOf(agent))
    }

    return HttpClient.make((request, url) => {
      if (!verify && alwaysVerify.some((domain) => ProxyRoutes.isWithin(url.hostname, domain))) {
        return fail(
          request,
          new TransportError({
            reason: "VerificationRefused",
            detail: `TLS verification cannot be turned off for ${url.hostname}`,
            hint:
              "Remove tls_verify = false (EFFECT_AUTH_TLS_VERIFY) from the site: this service has a publicly trusted certificate. If a proxy inspects TLS, give its authority in ca_file instead."
          })
        )
      }
      const proxy = ProxyRoutes.route(routes, url)
      const client = proxy === undefined ? direct : proxied.get(proxy.source) ?? direct
      return client.execute(request).pipe(
        Effect.catchTag("RequestError", (error) => {
          const explained = explain(error.cause, url, proxy)
          return explained === undefined ? Effect.fail(error) : fail(request, explained)
        })
      )
    })
  })
