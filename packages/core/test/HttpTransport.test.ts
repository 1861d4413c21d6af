import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { createServer } from "node:http"
import { type AddressInfo, createServer as createNetServer } from "node:net"
import * as AuthResponse from "../src/AuthResponse.js"
import * as HttpTransport from "../src/HttpTransport.js"
import { noProxyMatcher } from "../src/internal/proxyRoutes.js"
import * as SecretAudit from "../src/SecretAudit.js"
import * as TransportError from "../src/TransportError.js"
import * as Network from "./support/network.js"
import * as Programs from "./support/programs.js"

/** A plain HTTP server on 127.0.0.1 answering `ok <path>`; returns its port. */
const origin: Effect.Effect<number, never, Scope.Scope> = Effect.acquireRelease(
  Effect.async<ReturnType<typeof createServer>>((resume) => {
    const server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain" })
      res.end(`ok ${req.url}`)
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map((server) => (server.address() as AddressInfo).port))

/** The origin over http and over https (certificate from the "Test Corp CA"). */
const site = Effect.gen(function*() {
  const port = yield* origin
  const ca = yield* Network.authority("Test Corp CA")
  const https = yield* Network.tlsFront(port, ca)
  return { http: `http://127.0.0.1:${port}`, https, ca }
})

/** GET `url` with a transport built from `options`; the body or the failure. */
const get = (url: string, options: HttpTransport.Options) =>
  Effect.gen(function*() {
    const client = yield* HttpTransport.make(options)
    const response = yield* client.execute(HttpClientRequest.get(url))
    return yield* response.text
  }).pipe(Effect.scoped)

/** The TransportError behind a failed request. */
const transportError = <A, E>(exit: Exit.Exit<A, E>): TransportError.TransportError => {
  const failure = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
  const cause = failure !== null && typeof failure === "object" && "cause" in failure ? failure.cause : undefined
  assert.isTrue(TransportError.isTransportError(cause), `expected a TransportError, got ${String(failure)}`)
  return cause as TransportError.TransportError
}

const run = Programs.shouldRun(Network.openssl, Network.tinyproxy)

describe("HttpTransport", () => {
  describe("NO_PROXY, as curl reads it", () => {
    const bypass = (list: string, url: string) => noProxyMatcher(list)(new URL(url))
    it("matches a name, its subdomains, a leading dot, * and ports", () => {
      assert.isTrue(bypass("example.com", "https://example.com/"))
      assert.isTrue(bypass("example.com", "https://api.example.com/"))
      assert.isTrue(bypass(".example.com", "https://example.com/"))
      assert.isTrue(bypass("*.example.com", "https://a.b.example.com/"))
      assert.isFalse(bypass("example.com", "https://notexample.com/"))
      assert.isTrue(bypass("intranet, EXAMPLE.com ", "https://Example.COM/"))
      assert.isTrue(bypass("*", "https://anything.org/"))
      assert.isTrue(bypass("example.com:8443", "https://example.com:8443/"))
      assert.isFalse(bypass("example.com:8443", "https://example.com/"))
      assert.isFalse(bypass("", "https://example.com/"))
    })
    it("matches IP addresses and CIDR ranges, v4 and v6", () => {
      assert.isTrue(bypass("127.0.0.1", "http://127.0.0.1:8080/"))
      assert.isTrue(bypass("10.0.0.0/8", "http://10.20.30.40/"))
      assert.isFalse(bypass("10.0.0.0/8", "http://11.0.0.1/"))
      assert.isTrue(bypass("::1", "http://[::1]:3000/"))
      assert.isTrue(bypass("fd00::/8", "http://[fd12::1]/"))
    })
  })

  describe("which proxy a request takes", () => {
    const env = { https_proxy: "http://lower:1", HTTPS_PROXY: "http://upper:2", HTTP_PROXY: "http://plain:3" }
    it("lower case first, HTTP_PROXY for http, ALL_PROXY as the fallback, NO_PROXY around all", () => {
      assert.deepStrictEqual(HttpTransport.proxyFor("https://x.org/", { env }), Either.right("http://lower:1"))
      assert.deepStrictEqual(HttpTransport.proxyFor("http://x.org/", { env }), Either.right("http://plain:3"))
      assert.deepStrictEqual(
        HttpTransport.proxyFor("https://x.org/", { env: { ALL_PROXY: "proxy.corp:8080" } }),
        Either.right("http://proxy.corp:8080")
      )
      assert.deepStrictEqual(
        HttpTransport.proxyFor("https://x.org/", { env: { ...env, NO_PROXY: "x.org" } }),
        Either.right(undefined)
      )
    })
    it("an explicit proxy overrides the environment, and none goes direct", () => {
      assert.deepStrictEqual(
        HttpTransport.proxyFor("https://x.org/", { env, proxy: Redacted.make("http://u:p@site-proxy:3128") }),
        Either.right("http://site-proxy:3128")
      )
      assert.deepStrictEqual(HttpTransport.proxyFor("https://x.org/", { env, proxy: "none" }), Either.right(undefined))
    })
    it("a malformed proxy is a configuration error naming its variable, never its credentials", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(
          Effect.scoped(HttpTransport.make({ env: { HTTPS_PROXY: "socks5://user:hunter2@proxy:1080" } }))
        )
        assert.isTrue(Exit.isFailure(exit))
        const message = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
        assert.include(message, "HTTPS_PROXY")
        assert.notInclude(message, "hunter2")
      }).pipe(Effect.runPromise))
    it("check reports an unreadable CA bundle before any request", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(HttpTransport.check({ caFile: "/nonexistent/corp-ca.pem", site: "corp" }))
        const message = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
        assert.include(message, "[corp] Cannot read the CA bundle /nonexistent/corp-ca.pem (ca_file): ENOENT")
        assert.isTrue(Exit.isSuccess(yield* Effect.exit(HttpTransport.check({ env: { HTTPS_PROXY: "proxy:3128" } }))))
      }).pipe(Effect.runPromise))
  })

  describe.runIf(run)("through a real proxy (tinyproxy) to an HTTPS server with a test CA", () => {
    it.live("https goes through a CONNECT tunnel of HTTPS_PROXY and trusts ca_file", () =>
      Effect.gen(function*() {
        const { ca, https } = yield* site
        const proxy = yield* Network.proxy()
        const body = yield* get(`${https}/token/validate`, { env: { HTTPS_PROXY: proxy.url }, caFile: ca.caFile })
        assert.strictEqual(body, "ok /token/validate")
        assert.deepStrictEqual(proxy.requests(), [`CONNECT ${new URL(https).host}`])
      }).pipe(Effect.scoped))

    it.live("http goes to http_proxy as an absolute URI; NO_PROXY bypasses; proxy = none overrides", () =>
      Effect.gen(function*() {
        const { http, https, ca } = yield* site
        const proxy = yield* Network.proxy()
        assert.strictEqual(yield* get(`${http}/a`, { env: { http_proxy: proxy.url } }), "ok /a")
        assert.deepStrictEqual(proxy.requests(), [`GET ${http}/a`])
        const env = { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url, NO_PROXY: "localhost,127.0.0.0/8" }
        assert.strictEqual(yield* get(`${https}/b`, { env, caFile: ca.caFile }), "ok /b")
        assert.strictEqual(yield* get(`${http}/c`, { env: { HTTP_PROXY: proxy.url }, proxy: "none" }), "ok /c")
        assert.strictEqual(proxy.requests().length, 1)
      }).pipe(Effect.scoped))

    it.live("an authenticating proxy: credentials in the URL work, none or wrong ones are a 407 that says so", () =>
      Effect.gen(function*() {
        const { ca, http, https } = yield* site
        const proxy = yield* Network.proxy({ user: "alice", password: "pr0xy-s3cret" })
        const audit = SecretAudit.make()
        const ok = yield* get(`${https}/ok`, {
          proxy: Redacted.make(proxy.urlWithCredentials),
          proxySource: "EFFECT_AUTH_PROXY",
          caFile: ca.caFile
        }).pipe(Effect.provide(audit.layer))
        assert.strictEqual(ok, "ok /ok")

        for (const url of [`${https}/no`, `${http}/no`]) {
          const missing = transportError(yield* Effect.exit(get(url, { env: { HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url }, caFile: ca.caFile })))
          assert.strictEqual(missing.reason, "ProxyAuthentication")
          assert.include(missing.message, `the proxy ${proxy.url} (from ${url.startsWith("https") ? "HTTPS_PROXY" : "HTTP_PROXY"}) requires authentication (407`)
          assert.include(missing.message, "http://USER:PASSWORD@host:port")
        }

        const wrong = `http://alice:not-the-password@127.0.0.1:${proxy.port}`
        const exit = yield* Effect.exit(get(`${https}/wrong`, { env: { https_proxy: wrong }, caFile: ca.caFile }).pipe(Effect.provide(audit.layer)))
        const rejected = transportError(exit)
        assert.strictEqual(rejected.reason, "ProxyAuthentication")
        assert.include(rejected.message, `the proxy ${proxy.url} (from https_proxy) rejected the user and password in its URL`)
        audit.recordExit("wrong credentials", exit)
        assert.deepStrictEqual(
          audit.leaks([{ name: "proxy password", value: "pr0xy-s3cret" }, { name: "wrong password", value: "not-the-password" }]),
          []
        )
      }).pipe(Effect.scoped))

    it.live("a proxy that is down fails at once, naming the proxy and its variable", () =>
      Effect.gen(function*() {
        const { ca, https } = yield* site
        const port = yield* Network.proxy().pipe(Effect.map((p) => p.port), Effect.scoped) // stopped again: nothing listens
        const error = transportError(yield* Effect.exit(get(`${https}/x`, { env: { HTTPS_PROXY: `127.0.0.1:${port}` }, caFile: ca.caFile })))
        assert.strictEqual(error.reason, "ProxyUnreachable")
        assert.include(error.message, `Cannot connect to the proxy http://127.0.0.1:${port} (from HTTPS_PROXY): ECONNREFUSED`)
        assert.isTrue(TransportError.isTransient(error))
      }).pipe(Effect.scoped))

    it.live("a proxy that accepts but never answers fails after proxyTimeout, not the request timeout", () =>
      Effect.gen(function*() {
        const { ca, https } = yield* site
        const silent = createNetServer(() => {})
        yield* Effect.acquireRelease(
          Effect.async<void>((resume) => void silent.listen(0, "127.0.0.1", () => resume(Effect.void))),
          () => Effect.sync(() => silent.close())
        )
        const port = (silent.address() as AddressInfo).port
        const error = transportError(
          yield* Effect.exit(get(`${https}/x`, { env: { HTTPS_PROXY: `http://127.0.0.1:${port}` }, caFile: ca.caFile, proxyTimeout: "300 millis" }))
        )
        assert.strictEqual(error.reason, "ProxyUnreachable")
        assert.include(error.message, `the proxy http://127.0.0.1:${port} (from HTTPS_PROXY) accepted the connection but did not answer`)
      }).pipe(Effect.scoped))

    it.live("a missing or wrong CA names the host, the issuer, ca_file and NODE_EXTRA_CA_CERTS", () =>
      Effect.gen(function*() {
        const { https } = yield* site
        const other = yield* Network.authority("Some Other CA")
        const proxy = yield* Network.proxy()
        for (const caFile of [undefined, other.caFile]) {
          const error = transportError(yield* Effect.exit(get(`${https}/x`, { env: { HTTPS_PROXY: proxy.url }, caFile })))
          assert.strictEqual(error.reason, "UntrustedCertificate")
          assert.include(error.message, `The certificate of 127.0.0.1 does not verify`)
          assert.include(error.message, `its issuer is "Test Corp CA"`)
          assert.include(error.message, "ca_file")
          assert.include(error.message, "NODE_EXTRA_CA_CERTS")
        }
      }).pipe(Effect.scoped))

    it.live("NODE_EXTRA_CA_CERTS is still trusted beside ca_file", () =>
      Effect.gen(function*() {
        const { ca, https } = yield* site
        const other = yield* Network.authority("Some Other CA")
        const body = yield* get(`${https}/x`, { caFile: other.caFile, env: { NODE_EXTRA_CA_CERTS: ca.caFile } })
        assert.strictEqual(body, "ok /x")
      }).pipe(Effect.scoped))

    it.live("the certificate must name the host", () =>
      Effect.gen(function*() {
        const port = yield* origin
        const ca = yield* Network.authority("Test Corp CA", ["DNS:auth.corp.example"])
        const https = yield* Network.tlsFront(port, ca)
        const error = transportError(yield* Effect.exit(get(https, { caFile: ca.caFile })))
        assert.strictEqual(error.reason, "CertificateMismatch")
        assert.include(error.message, `The certificate of 127.0.0.1 (issuer "Test Corp CA") is for other names: DNS:auth.corp.example`)
      }).pipe(Effect.scoped))

    it.live("tls_verify = false accepts the certificate and warns; never for an always-verified domain", () =>
      Effect.gen(function*() {
        const { https } = yield* site
        const proxy = yield* Network.proxy()
        const warnings: Array<string> = []
        const logger = Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => void warnings.push(String(message))))
        const body = yield* get(`${https}/x`, { env: { HTTPS_PROXY: proxy.url }, tlsVerify: false, site: "test" }).pipe(
          Effect.provide(logger)
        )
        assert.strictEqual(body, "ok /x")
        assert.strictEqual(warnings.length, 1)
        assert.include(warnings[0], "[test] TLS certificate verification is off (tls_verify = false)")

        const localhost = https.replace("127.0.0.1", "localhost")
        const refused = transportError(
          yield* Effect.exit(get(localhost, { tlsVerify: false, alwaysVerify: ["localhost"] }).pipe(Effect.provide(logger)))
        )
        assert.strictEqual(refused.reason, "VerificationRefused")
        assert.include(refused.message, "tls_verify = false")
      }).pipe(Effect.scoped))

    it.live("AuthResponse reports a transport problem in its own words, as configuration unless the proxy is down", () =>
      Effect.gen(function*() {
        const { https } = yield* site
        const client = yield* HttpTransport.make({})
        const exit = yield* Effect.exit(
          AuthResponse.execute(client, HttpClientRequest.post(`${https}/token/authenticate`), { site: "corp", operation: "Anaplan login" })
        )
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
        assert.strictEqual(error?._tag, "InvalidConfiguration")
        assert.include(error?.message ?? "", "[corp] Anaplan login: The certificate of 127.0.0.1 does not verify")
        assert.include(error?.message ?? "", "ca_file")
      }).pipe(Effect.scoped))

    it.live("layerConfig reads its options from Config", () =>
      Effect.gen(function*() {
        const { ca, https } = yield* site
        const proxy = yield* Network.proxy({ user: "bob", password: "c0nfig-pw" })
        const body = yield* HttpClient.get(`${https}/config`).pipe(
          Effect.flatMap((response) => response.text),
          Effect.provide(
            HttpTransport.layerConfig({
              proxy: Config.redacted("CORP_PROXY"),
              proxySource: Config.succeed("CORP_PROXY"),
              caFile: Config.string("CORP_CA"),
              env: Config.succeed({})
            })
          ),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["CORP_PROXY", proxy.urlWithCredentials], ["CORP_CA", ca.caFile]])))
        )
        assert.strictEqual(body, "ok /config")
        assert.deepStrictEqual(proxy.requests(), [`CONNECT ${new URL(https).host}`])
      }).pipe(Effect.scoped))

    it.live("the layer serves HttpClient", () =>
      Effect.gen(function*() {
        const { ca, https } = yield* site
        const body = yield* HttpClient.get(`${https}/layer`).pipe(
          Effect.flatMap((response) => response.text),
          Effect.provide(HttpTransport.layer({ caFile: ca.caFile, env: {} }))
        )
        assert.strictEqual(body, "ok /layer")
      }).pipe(Effect.scoped))
  })
})
