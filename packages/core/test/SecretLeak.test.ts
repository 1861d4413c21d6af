/**
 * Secret-leak audit of the OAuth 2 library paths against a real OpenID provider: every flow runs at
 * Debug log level with a recording tracer, failures are provoked, and nothing captured may contain a
 * client secret, password, authorization code, access, refresh or ID token used in the run.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Terminal from "@effect/platform/Terminal"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { inspect } from "node:util"
import * as AuthHttpClient from "../src/AuthHttpClient.js"
import * as LoginAgent from "../src/LoginAgent.js"
import * as OAuth2 from "../src/OAuth2.js"
import * as OAuth2Auth from "../src/OAuth2Auth.js"
import * as RefreshPolicy from "../src/RefreshPolicy.js"
import * as Token from "../src/Token.js"
import * as TokenLock from "../src/TokenLock.js"
import * as TokenSource from "../src/TokenSource.js"
import * as TokenStore from "../src/TokenStore.js"
import { Browser, clients, oidcProvider } from "./support/oidcProvider.js"
import { makeAudit, type Secret } from "./support/secretAudit.js"

const policy = RefreshPolicy.make({ jitter: Duration.zero })
const person = { login: "alice", password: "alice-Pa55word-xyz" }

const terminal: Terminal.Terminal = {
  columns: Effect.succeed(80),
  rows: Effect.succeed(24),
  isTTY: Effect.succeed(true),
  readInput: Effect.dieMessage("not used"),
  readLine: Effect.succeed(""),
  display: () => Effect.dieMessage("not used")
}

describe("secret-leak audit: OAuth 2 against oidc-provider", () => {
  it.scoped("no secret in any log, span or error of every flow, at Debug level with tracing on", () => {
    const audit = makeAudit()
    const secrets: Array<Secret> = [
      { name: "the basic client's secret", value: clients.basic.secret },
      { name: "the post client's secret", value: clients.post.secret },
      { name: "the person's password", value: person.password },
      { name: "a wrong client secret", value: "wrong-secret-123456" }
    ]
    const tokens = (what: string, token: Token.Token) => {
      secrets.push({ name: `${what}: access token`, value: token.accessToken })
      Option.map(token.refreshToken, (value) => secrets.push({ name: `${what}: refresh token`, value }))
      Option.map(token.idToken, (value) => secrets.push({ name: `${what}: ID token`, value }))
      return token
    }
    const attempt = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>) =>
      Effect.tap(Effect.exit(effect), (exit) => Effect.sync(() => audit.recordExit(label, exit)))

    return Effect.gen(function*() {
      const op = yield* oidcProvider
      const basicClient = OAuth2.secretBasic(clients.basic.id, Redacted.make(clients.basic.secret))
      const postClient = OAuth2.secretPost(clients.post.id, Redacted.make(clients.post.secret))

      // authorization code + PKCE through the real loopback agent; the agent's output is audited
      const browser = new Browser(person)
      const agent = yield* LoginAgent.make({
        openBrowser: true,
        write: (text) => Effect.sync(() => audit.record("agent output", text)),
        open: (url) =>
          Effect.promise(async () => {
            const { redirect } = await browser.run(url)
            const code = new URL(redirect!).searchParams.get("code")!
            secrets.push({ name: "the authorization code", value: code })
            const landed = await fetch(redirect!)
            audit.record("loopback page", await landed.text())
          })
      }).pipe(Effect.provideService(Terminal.Terminal, terminal))
      const code = yield* OAuth2Auth.authorizationCode({ issuer: op.issuer, client: basicClient, scopes: ["openid"] }).pipe(
        Effect.provideService(LoginAgent.LoginAgent, agent)
      )
      const first = tokens("code flow", yield* code.acquire)
      const refresh = Option.getOrThrow(code.refresh)
      const second = tokens("refresh", yield* refresh(first))
      // a spent refresh token (rotation): the failure is audited
      const reuse = yield* attempt("refresh reuse", refresh(first))
      assert.isTrue(Exit.isFailure(reuse))
      yield* Option.getOrThrow(code.revoke)(second)
      yield* attempt("refresh after revocation", refresh(second))

      // the refresh token layer, persisted in a memory store, through the engine and AuthHttpClient
      const login = yield* OAuth2Auth.authorizationCode({ issuer: op.issuer, client: postClient, scopes: ["openid"] }).pipe(
        Effect.provide(LoginAgent.layerTest({
          browser: (url) => Effect.promise(async () => (await new Browser(person).run(url.href)).redirect!)
        }))
      )
      const owned = tokens("post client login", yield* login.acquire)
      yield* Effect.scoped(Effect.gen(function*() {
        const source = yield* TokenSource.TokenSource
        tokens("layer get", yield* source.get)
        tokens("layer refresh", yield* source.refresh)
        const client = AuthHttpClient.make(source)(yield* HttpClient.HttpClient)
        // the provider's userinfo endpoint refuses a token without openid claims or answers: either way, audited
        yield* attempt("userinfo", Effect.flatMap(client.get(`${op.issuer}/me`), (response) => response.text))
      })).pipe(
        Effect.provide(
          TokenStore.layerPersisted(
            OAuth2Auth.refreshToken({ issuer: op.issuer, client: postClient, refreshToken: Option.getOrThrow(owned.refreshToken) }),
            { key: "oidc/alice", policy }
          ).pipe(Layer.provide(Layer.merge(TokenStore.layerMemory, TokenLock.layerMemory)))
        )
      )

      // client credentials, both client authentications, and a wrong secret
      for (const client of [basicClient, postClient]) {
        const strategy = yield* OAuth2Auth.clientCredentials({ issuer: op.issuer, client })
        tokens("client credentials", yield* strategy.acquire)
      }
      yield* attempt(
        "wrong client secret",
        Effect.flatMap(
          OAuth2Auth.clientCredentials({
            issuer: op.issuer,
            client: OAuth2.secretBasic(clients.basic.id, Redacted.make("wrong-secret-123456"))
          }),
          (strategy) => strategy.acquire
        )
      )

      // the device grant, approved by the person on the provider's pages
      const approved = yield* Deferred.make<void>()
      const device = yield* OAuth2Auth.deviceCode({ issuer: op.issuer, client: basicClient, scopes: ["openid"] }).pipe(
        Effect.provideService(
          LoginAgent.LoginAgent,
          LoginAgent.makeTest({
            device: (prompt) =>
              Effect.promise(() => new Browser(person).run(prompt.verificationUriComplete ?? prompt.verificationUri)).pipe(
                Effect.zipRight(Deferred.succeed(approved, undefined)),
                Effect.asVoid
              )
          })
        )
      )
      const polling = yield* Effect.fork(device.acquire)
      yield* Deferred.await(approved)
      yield* TestClock.adjust(Duration.seconds(5))
      tokens("device grant", yield* Fiber.join(polling))

      // a store entry that is corrupt: the error is audited too
      const kv = yield* KeyValueStore.KeyValueStore
      yield* kv.set("oidc/corrupt", JSON.stringify({ accessToken: first.accessToken.pipe(Redacted.value) }))
      yield* attempt("corrupt entry", TokenStore.make(kv, "memory").load("oidc/corrupt"))

      assert.isAtLeast(audit.captured().filter((c) => c.label === "log").length, 1, "Debug logs were captured")
      assert.isAbove(audit.captured().filter((c) => c.label.startsWith("span ")).length, 5, "spans were captured")
      assert.isAbove(secrets.length, 15)
      assert.deepStrictEqual(audit.leaks(secrets), [])
    }).pipe(
      Effect.provide(Layer.mergeAll(NodeHttpClient.layerUndici, KeyValueStore.layerMemory)),
      Effect.provide(audit.layer)
    )
  })

  it.effect("the audit finds a secret that does leak (the check itself can fail)", () => {
    const audit = makeAudit()
    return Effect.gen(function*() {
      yield* Effect.logDebug("sending").pipe(Effect.annotateLogs("authorization", "Bearer leaked-token-value"))
      yield* Effect.void.pipe(Effect.withSpan("call", { attributes: { "http.body": "refresh_token=leaked-refresh-1" } }))
      audit.recordExit("failure", Exit.fail(new Error("bad passphrase leaked-passphrase")))
      audit.record("stderr", "the key starts AAAAAAAAAAAAAAAAAAAAAAAAAA")
      assert.deepStrictEqual(
        [...audit.leaks([
          { name: "token", value: "leaked-token-value" },
          { name: "refresh token", value: Redacted.make("leaked-refresh-1") },
          { name: "passphrase", value: "leaked-passphrase" },
          { name: "a PEM body", value: "-----BEGIN X-----\nAAAAAAAAAAAAAAAAAAAAAAAAAA\nleaked-passphrase-and-more\n-----END X-----" }
        ])].sort(),
        [
          "failure (Cause.pretty) contains passphrase",
          "failure (JSON) contains passphrase",
          "failure (String) contains passphrase",
          "failure (logged (json)) contains passphrase",
          "failure (logged (jsonLogger)) contains passphrase",
          "failure (logged (pretty)) contains passphrase",
          "failure (logged) contains passphrase",
          "failure (message) contains passphrase",
          "log (json) contains token",
          "log (jsonLogger) contains token",
          "log (pretty) contains token",
          "log contains token",
          "span call contains refresh token",
          "stderr contains a PEM body"
        ]
      )
    }).pipe(Effect.provide(audit.layer))
  })
})

describe("secret-leak audit: AuthHttpClient (issue 18, item 1)", () => {
  const token = Token.make({ accessToken: "at-serialised-9f3c1d7e5b", issuedAt: 0 })
  const clients = [
    ["undici", NodeHttpClient.layerUndici],
    ["node:http", NodeHttpClient.layer],
    ["fetch", FetchHttpClient.layer]
  ] as const

  for (const [name, transport] of clients) {
    it.scoped(`${name}: no error or response leaving the middleware serializes the token`, () => {
      const audit = makeAudit()
      const attempt = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>) =>
        Effect.tap(Effect.exit(effect), (exit) => Effect.sync(() => audit.recordExit(label, exit)))
      const serialize = (label: string, value: unknown) => {
        audit.record(`${label} (JSON)`, JSON.stringify(value))
        audit.record(`${label} (inspect)`, inspect(value, { depth: 12 }))
      }
      return Effect.gen(function*() {
        const server = yield* Effect.acquireRelease(
          Effect.async<Http.Server>((resume) => {
            const s = Http.createServer((req, res) => {
              const status = req.url === "/401" ? 401 : req.url === "/500" ? 500 : 200
              res.writeHead(status, { "content-type": req.url === "/html" ? "text/html" : "application/json" })
              res.end(req.url === "/html" ? "<html>not json</html>" : JSON.stringify({ ok: status === 200 }))
            })
            s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
          }),
          (s) => Effect.sync(() => (s.closeAllConnections(), s.close()))
        )
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        const source = yield* TokenSource.TokenSource
        const base = yield* HttpClient.HttpClient
        const client = AuthHttpClient.make(source)(base)
        const strict = AuthHttpClient.make(source)(HttpClient.filterStatusOk(base))

        const ok = yield* client.get(`${url}/ok`)
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(ok.request.headers["authorization"], "Bearer <redacted>")
        serialize("response", ok)
        yield* attempt("status error inside the middleware", strict.get(`${url}/500`))
        yield* attempt("status error outside", HttpClient.filterStatusOk(client).get(`${url}/500`))
        yield* attempt("decode error after leaving", Effect.flatMap(client.get(`${url}/html`), (r) => r.json))
        yield* attempt("401 twice", client.get(`${url}/401`))
        yield* attempt("transport error", client.get("http://127.0.0.1:1/refused"))
        yield* attempt("schema error", Effect.flatMap(client.get(`${url}/ok`), HttpClientResponse.schemaBodyJson(Schema.Struct({ ok: Schema.Number }))))

        const failures = audit.captured().filter((c) => c.label.endsWith("(JSON)")).length
        assert.isAtLeast(failures, 6)
        assert.isTrue(audit.captured().some((c) => c.text.includes("<redacted>")), "the header is there, redacted")
        assert.deepStrictEqual(audit.leaks([{ name: "the access token", value: token.accessToken }]), [])
      }).pipe(
        Effect.provide(Layer.merge(transport, TokenSource.layerStatic(token))),
        Effect.provide(audit.layer)
      )
    })
  }
})
