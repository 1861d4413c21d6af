/**
 * Secret-leak audit of the Anaplan library paths: basic and certificate login (an encrypted key and
 * its passphrase), refresh, validate, whoami, logout, persistence, and the failures a user meets
 * (wrong password, wrong passphrase, a token Anaplan refuses), all at Debug log level with a
 * recording tracer. Nothing captured may contain the password, a token, the private key or the
 * passphrase.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as AuthError from "@effect-auth/core/AuthError"
import * as RefreshPolicy from "@effect-auth/core/RefreshPolicy"
import * as SecureFileStore from "@effect-auth/core/SecureFileStore"
import type * as Token from "@effect-auth/core/Token"
import * as TokenLock from "@effect-auth/core/TokenLock"
import { TokenSource } from "@effect-auth/core/TokenSource"
import * as TokenStore from "@effect-auth/core/TokenStore"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { readFileSync } from "node:fs"
import * as AnaplanAuth from "../src/AnaplanAuth.js"
import * as AnaplanAuthServer from "../src/AnaplanAuthServer.js"
import * as AnaplanClient from "../src/AnaplanClient.js"
import * as AnaplanOAuth from "../src/AnaplanOAuth.js"
import * as TestCertificates from "../src/TestCertificates.js"
import { makeAudit, type Secret } from "./support/secretAudit.js"

const demo = AnaplanAuthServer.demoUser
const certUser = { email: "cert.user@example.com" }
const policy = RefreshPolicy.make({ jitter: Duration.zero, retries: 1, retryBase: Duration.millis(10) })
const webClient = { clientId: "leak-web-client", clientSecret: "leak-client-secret-0123", redirectUris: ["https://app.example.com/cb"] }

/** The person in the browser, by HTTP: opens the emulator's login page and submits the form. */
const browserLogin = (url: string) =>
  Effect.withTracerEnabled(false)(Effect.gen(function*() {
    const html = yield* Effect.flatMap(HttpClient.get(url), (page) => page.text)
    const fields: Array<[string, string]> = []
    for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      fields.push([match[1], match[2].replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))])
    }
    const response = yield* HttpClient.execute(
      HttpClientRequest.post(`${new URL(url).origin}/auth/prelogin`).pipe(
        HttpClientRequest.bodyUrlParams([...fields, ["email", demo.email], ["password", demo.password!], ["action", "login"]])
      )
    )
    return response.headers["location"]
  }))

describe("secret-leak audit: Anaplan", () => {
  it.scopedLive("no secret in any log, span or error of every library path, at Debug level with tracing on", () => {
    const audit = makeAudit()
    const secrets: Array<Secret> = [
      { name: "the password", value: demo.password! },
      { name: "the Basic credentials", value: Buffer.from(`${demo.email}:${demo.password}`).toString("base64") },
      { name: "a wrong password", value: "not-the-password-42" },
      { name: "a wrong passphrase", value: "not-the-passphrase-42" }
    ]
    const tokens = (what: string, token: Token.Token) => {
      secrets.push({ name: `${what}: token`, value: token.accessToken })
      return token
    }
    const attempt = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>) =>
      Effect.tap(Effect.exit(effect), (exit) => Effect.sync(() => audit.recordExit(label, exit)))

    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "effect-auth-leak-" })
      const certs = yield* TestCertificates.generate(dir, { email: certUser.email })
      secrets.push(
        { name: "the passphrase", value: certs.passphrase },
        { name: "the private key", value: readFileSync(certs.clientKeyPath, "utf8") },
        { name: "the encrypted private key", value: readFileSync(certs.clientEncryptedKeyPath, "utf8") }
      )
      // The emulator and the browser are the test's harness, not the library: their spans are left
      // out (the emulator's server span would carry the redirect with the code, as Anaplan's would).
      const server = yield* AnaplanAuthServer.make({
        trustedCaPem: certs.caPem,
        users: [demo, certUser],
        oauthClients: [webClient]
      }).pipe(Effect.withTracerEnabled(false))
      const common = { authUrl: server.url, site: "leak-audit", tokenSource: { policy } }

      // basic: login, API calls through AnaplanClient, validate, refresh, logout on scope close
      const basicScope = yield* Scope.make()
      const basic = yield* Layer.buildWithScope(
        AnaplanClient.layer({ apiUrl: server.url }).pipe(
          Layer.provideMerge(AnaplanAuth.layerBasic({ email: demo.email, password: Redacted.make(demo.password!), ...common }))
        ),
        basicScope
      )
      const source = Context.get(basic, TokenSource)
      const client = Context.get(basic, AnaplanClient.AnaplanClient)
      const first = tokens("basic login", yield* source.get)
      yield* client.whoami
      yield* AnaplanAuth.validate(first, { authUrl: server.url })
      const refreshed = tokens("engine refresh", yield* source.refresh)
      // the API refuses the token once: AnaplanClient recovers, the 401 path is audited
      yield* server.expireAllTokens
      yield* attempt("whoami after expiry", client.whoami)
      tokens("after recovery", yield* source.get)
      yield* attempt("validate a dead token", AnaplanAuth.validate(refreshed, { authUrl: server.url }))
      yield* attempt("refresh a dead token", AnaplanAuth.refresh(first, { authUrl: server.url }))
      // API failures through the auth middleware, serialized as a logger or error tracker would
      yield* attempt("API status error", HttpClient.filterStatusOk(client.http).get(`${server.url}/2/0/no-such-resource`))
      yield* attempt("API body that is not JSON", Effect.flatMap(client.http.get(`${server.url}/2/0/no-such-resource`), (r) => r.json))
      yield* attempt("API transport error", client.http.get("http://127.0.0.1:1/2/0/users/me"))
      yield* Scope.close(basicScope, Exit.void)

      // single calls
      const single = tokens("single login", yield* Effect.flatMap(
        AnaplanAuth.basic({ email: demo.email, password: Redacted.make(demo.password!), authUrl: server.url }),
        (strategy) => strategy.acquire
      ))
      const singleRefreshed = tokens("single refresh", yield* AnaplanAuth.refresh(single, { authUrl: server.url }))
      yield* AnaplanClient.whoami(singleRefreshed, { apiUrl: server.url })
      yield* AnaplanAuth.logout(singleRefreshed, { authUrl: server.url })

      // a wrong password
      yield* attempt(
        "wrong password",
        Effect.scoped(Effect.flatMap(
          Layer.build(AnaplanAuth.layerBasic({ email: demo.email, password: Redacted.make("not-the-password-42"), ...common })),
          (context) => Context.get(context, TokenSource).get
        ))
      )

      // certificate with an encrypted key and its passphrase; then a wrong passphrase
      const certificate = {
        certificate: { path: certs.clientCertPath },
        privateKey: { path: certs.clientEncryptedKeyPath },
        passphrase: certs.passphrase,
        ...common
      }
      yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(AnaplanAuth.layerCertificate(certificate))
        const certSource = Context.get(context, TokenSource)
        tokens("certificate login", yield* certSource.get)
        tokens("certificate refresh", yield* certSource.refresh)
        yield* server.expireAllTokens
        tokens("certificate login again", yield* certSource.refresh)
      }))
      const wrong = yield* attempt(
        "wrong passphrase",
        Effect.scoped(Layer.build(AnaplanAuth.layerCertificate({ ...certificate, passphrase: Redacted.make("not-the-passphrase-42") })))
      )
      assert.isTrue(Exit.isFailure(wrong))
      yield* attempt(
        "key given as content, without its passphrase",
        Effect.scoped(Layer.build(AnaplanAuth.layerCertificate({
          ...certificate,
          privateKey: { pem: Redacted.make(readFileSync(certs.clientEncryptedKeyPath, "utf8")) },
          passphrase: undefined
        })))
      )
      yield* attempt(
        "a key that does not match",
        Effect.scoped(Layer.build(AnaplanAuth.layerCertificate({
          ...certificate,
          privateKey: { path: certs.otherKeyPath },
          passphrase: undefined
        })))
      )

      // persisted on the secure file store; a corrupt entry's error is audited too
      const stores = Layer.merge(SecureFileStore.layerTokenStore({ directory: dir }), TokenLock.layerFile({ directory: dir }))
      yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(
          TokenStore.layerPersisted(
            AnaplanAuth.basic({ email: demo.email, password: Redacted.make(demo.password!), ...common }),
            { key: "leak-audit", policy }
          ).pipe(Layer.provideMerge(stores))
        )
        const persisted = Context.get(context, TokenSource)
        tokens("persisted login", yield* persisted.get)
        tokens("persisted refresh", yield* persisted.refresh)
      }))

      // Anaplan OAuth for web apps: login URL, code exchange, refresh with rotation, validation
      secrets.push({ name: "the OAuth client secret", value: webClient.clientSecret })
      const oauth = yield* AnaplanOAuth.make({
        clientId: webClient.clientId,
        clientSecret: Redacted.make(webClient.clientSecret),
        redirectUri: webClient.redirectUris[0],
        oauthUrl: server.url,
        authUrl: server.url,
        site: "leak-audit"
      })
      const start = yield* oauth.authorizationUrl()
      if (start.codeVerifier !== undefined) secrets.push({ name: "the PKCE code verifier", value: start.codeVerifier })
      const landed = yield* browserLogin(start.url)
      const code = new URL(landed ?? "https://x/").searchParams.get("code")
      if (code !== null) secrets.push({ name: "the authorization code", value: code })
      const oauthToken = tokens("OAuth code exchange", yield* oauth.fetchToken(landed ?? "", start))
      Option.map(oauthToken.refreshToken, (value) => secrets.push({ name: "OAuth refresh token", value }))
      const rotated = tokens("OAuth refresh", yield* oauth.refreshToken(oauthToken))
      Option.map(rotated.refreshToken, (value) => secrets.push({ name: "rotated OAuth refresh token", value }))
      yield* oauth.validateToken(rotated)
      yield* attempt("spent refresh token", oauth.refreshToken(oauthToken))
      yield* attempt("replayed code", oauth.fetchToken(landed ?? "", start))
      const wrongClient = yield* AnaplanOAuth.make({
        clientId: webClient.clientId,
        clientSecret: Redacted.make("wrong-client-secret-42"),
        redirectUri: webClient.redirectUris[0],
        oauthUrl: server.url,
        authUrl: server.url
      })
      secrets.push({ name: "a wrong client secret", value: "wrong-client-secret-42" })
      const again = yield* oauth.authorizationUrl()
      yield* attempt("wrong client secret", Effect.flatMap(browserLogin(again.url), (url) => wrongClient.fetchToken(url ?? "", again)))

      const logs = audit.captured().filter((c) => c.label === "log")
      const spans = audit.captured().filter((c) => c.label.startsWith("span AnaplanAuth."))
      assert.isAtLeast(logs.length, 3, "Debug logs were captured")
      assert.isAtLeast(spans.length, 5, "AnaplanAuth spans were captured")
      assert.isTrue(
        audit.captured().some((c) => c.label.startsWith("wrong password") && c.text.includes("InvalidCredentials")),
        "the provoked failures were captured"
      )
      assert.isAtLeast(secrets.filter((s) => s.name.endsWith(": token")).length, 10)
      assert.deepStrictEqual(audit.leaks(secrets), [])
    }).pipe(
      Effect.provide(Layer.mergeAll(NodeHttpClient.layerUndici, NodeContext.layer)),
      Effect.provide(audit.layer)
    )
  }, { timeout: 60_000 })

  it("the audit's own check can fail: a leaked token is reported by name, not by value", () => {
    const audit = makeAudit()
    audit.record("stdout", "AnaplanAuthToken abcdefgh.ijklmnop")
    const error = new AuthError.InvalidCredentials({ detail: "rejected" })
    audit.recordExit("failure", Exit.fail(error))
    const leaks = audit.leaks([{ name: "the token", value: Redacted.make("abcdefgh.ijklmnop") }])
    assert.deepStrictEqual(leaks, ["stdout contains the token"])
    assert.notInclude(leaks.join(" "), "abcdefgh")
  })
})
