import * as AuthError from "@effect-auth/core/AuthError"
import * as LoginAgent from "@effect-auth/core/LoginAgent"
import * as OAuth2 from "@effect-auth/core/OAuth2"
import * as OAuth2Auth from "@effect-auth/core/OAuth2Auth"
import * as Token from "@effect-auth/core/Token"
import * as TokenLock from "@effect-auth/core/TokenLock"
import * as RefreshPolicy from "@effect-auth/core/RefreshPolicy"
import * as TokenSource from "@effect-auth/core/TokenSource"
import * as TokenStore from "@effect-auth/core/TokenStore"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { verify } from "node:crypto"
import * as AnaplanAuthServer from "../src/AnaplanAuthServer.js"
import * as AnaplanOAuth from "../src/AnaplanOAuth.js"

type Server = AnaplanAuthServer.AnaplanAuthServer.Service

const redirectUri = "https://app.example.com/callback"
const clientSecret = "web-secret"
const webClient = { clientId: "web-client", clientSecret, redirectUris: [redirectUri] }
const deviceClient = { clientId: "device-client", redirectUris: ["https://anaplan.com"] }
const email = "demo@example.com"
const password = "demo-password"
const lifetime = 35 * 60_000

const withServer = <A, E>(
  f: (server: Server) => Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>,
  options?: AnaplanAuthServer.Options
) =>
  Effect.flatMap(AnaplanAuthServer.make({ oauthClients: [webClient, deviceClient], ...options }), f).pipe(
    Effect.provide(NodeHttpClient.layerUndici)
  )

const options = (server: Server, extra?: Partial<AnaplanOAuth.Options>): AnaplanOAuth.Options => ({
  clientId: webClient.clientId,
  clientSecret: Redacted.make(clientSecret),
  redirectUri,
  oauthUrl: server.url,
  authUrl: server.url,
  site: "emulator",
  // Tests jump the TestClock while requests are in flight; no request should time out because of that.
  timeout: "1 day",
  ...extra
})

const service = (server: Server, extra?: Partial<AnaplanOAuth.Options>) => AnaplanOAuth.make(options(server, extra))

/** The person in the browser, by HTTP: opens the login page and submits the form. */
const browserLogin = (url: string, user = email, secret = password) =>
  Effect.gen(function*() {
    const page = yield* HttpClient.get(url)
    assert.strictEqual(page.status, 200)
    const html = yield* page.text
    const fields: Array<[string, string]> = []
    for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      fields.push([match[1], match[2].replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))])
    }
    const form = new URL(url)
    const response = yield* HttpClient.execute(
      HttpClientRequest.post(`${form.origin}/auth/prelogin`).pipe(
        HttpClientRequest.bodyUrlParams([...fields, ["email", user], ["password", secret], ["action", "login"]])
      )
    )
    assert.strictEqual(response.status, 302)
    return response.headers["location"]
  })

/** Advances the test clock a second at a time until the server has seen `count` requests to `endpoint`. */
const advanceUntil = (server: Server, endpoint: keyof AnaplanAuthServer.Counters, count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2000; i++) {
      if ((yield* server.counters)[endpoint] >= count) return
      yield* TestClock.adjust("1 second")
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
    }
    assert.fail(`the server never saw ${count} ${endpoint} requests`)
  })

/** Waits in real time until the server has seen `count` requests to `endpoint`. */
const untilCounted = (server: Server, endpoint: keyof AnaplanAuthServer.Counters, count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000; i++) {
      if ((yield* server.counters)[endpoint] >= count) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }
    assert.fail(`the server never saw ${count} ${endpoint} requests`)
  })

/** {@link browserLogin} as the test agent's browser. */
const browser = Effect.map(HttpClient.HttpClient, (client) => (url: URL) =>
  browserLogin(url.href).pipe(Effect.provideService(HttpClient.HttpClient, client), Effect.orDie))

const build = <I, S, E, R>(layer: Layer.Layer<I, E, R>, tag: Context.Tag<I, S>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, tag))

describe("AnaplanOAuth", () => {
  it.scoped("a plain http:// oauth_url or auth_url on a host that is not loopback is refused, naming the field", () =>
    withServer((server) =>
      Effect.gen(function*() {
        for (const [field, extra] of [
          ["oauth_url (oauthUrl)", { oauthUrl: "http://oauth.anaplan.invalid" }],
          ["auth_url (authUrl)", { authUrl: "http://auth.anaplan.invalid" }]
        ] as const) {
          const error = yield* Effect.flip(Effect.flatMap(service(server, extra), (oauth) => oauth.authorizationUrl()))
          assert.strictEqual(error._tag, "InvalidConfiguration")
          assert.include(error.message, `${field} (http://`)
          assert.include(error.message, "client secrets, codes and tokens would travel in clear")
        }
        // with allowInsecureHttp it is accepted (with a warning)
        const allowed = yield* service(server, { oauthUrl: "http://oauth.anaplan.invalid", allowInsecureHttp: true })
        const request = yield* allowed.authorizationUrl()
        assert.isTrue(request.url.startsWith("http://oauth.anaplan.invalid/auth/prelogin?"))
      })))

  describe("authorizationUrl", () => {
    it.scoped("points at the prelogin page with client, redirect, scopes, a fresh state and an S256 challenge", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const oauth = yield* service(server)
          const first = yield* oauth.authorizationUrl()
          const url = new URL(first.url)
          assert.strictEqual(`${url.origin}${url.pathname}`, `${server.url}/auth/prelogin`)
          const params = url.searchParams
          assert.strictEqual(params.get("response_type"), "code")
          assert.strictEqual(params.get("client_id"), webClient.clientId)
          assert.strictEqual(params.get("redirect_uri"), redirectUri)
          assert.strictEqual(params.get("scope"), "openid profile email offline_access")
          assert.strictEqual(params.get("state"), first.state)
          assert.isAtLeast(first.state.length, 22)
          assert.strictEqual(params.get("code_challenge_method"), "S256")
          assert.isDefined(first.codeVerifier)
          assert.strictEqual(params.get("code_challenge"), OAuth2.codeChallengeS256(first.codeVerifier!))
          assert.isNull(params.get("client_secret"))
          assert.notInclude(first.url, clientSecret)
          // every call is a new login attempt
          const second = yield* oauth.authorizationUrl()
          assert.notStrictEqual(second.state, first.state)
          assert.notStrictEqual(Redacted.value(second.codeVerifier!), Redacted.value(first.codeVerifier!))
          // the emulator's login page accepts it
          assert.strictEqual((yield* HttpClient.get(first.url)).status, 200)
        })
      ))

    it.scoped("takes a given state, other scopes, and PKCE off", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const oauth = yield* service(server, { pkce: false, scopes: ["openid"] })
          const request = yield* oauth.authorizationUrl({ state: "my-state" })
          const params = new URL(request.url).searchParams
          assert.strictEqual(request.state, "my-state")
          assert.strictEqual(params.get("state"), "my-state")
          assert.strictEqual(params.get("scope"), "openid")
          assert.isNull(params.get("code_challenge"))
          assert.isUndefined(request.codeVerifier)
        })
      ))

    it.effect("region picks the OAuth host (ANAPLAN.md, regional hosts); oauthUrl overrides it; an unknown one lists the known", () =>
      Effect.gen(function*() {
        const hostOf = (extra: Partial<AnaplanOAuth.Options>) =>
          AnaplanOAuth.make({ clientId: "c", redirectUri, ...extra }).pipe(
            Effect.flatMap((oauth) => oauth.authorizationUrl()),
            Effect.map((request) => new URL(request.url).origin),
            Effect.provide(NodeHttpClient.layerUndici)
          )
        assert.strictEqual(yield* hostOf({}), "https://us1a.app.anaplan.com")
        assert.strictEqual(yield* hostOf({ region: "eu2" }), "https://us1a.app.anaplan.com")
        assert.strictEqual(yield* hostOf({ region: "eu3" }), "https://eu3.app.anaplan.com")
        assert.strictEqual(yield* hostOf({ region: "AU1" }), "https://au1a.app2.anaplan.com")
        assert.strictEqual(yield* hostOf({ region: "ca1" }), "https://ca1a.app.anaplan.com")
        assert.strictEqual(yield* hostOf({ region: "eu3", oauthUrl: "https://oauth.example.com" }), "https://oauth.example.com")
        assert.lengthOf(Object.keys(AnaplanOAuth.oauthHosts), 19)
        const error = yield* Effect.flip(hostOf({ region: "mars1", site: "prod" }))
        assert.strictEqual(error._tag, "InvalidConfiguration")
        assert.include(error.message, "unknown region \"mars1\"")
        assert.include(error.message, "us1, us2")
        assert.include(error.message, "me1")
        // the strategies check it too, before any request
        const device = yield* Effect.flip(
          AnaplanOAuth.device({ clientId: "c", region: "mars1" }).pipe(
            Effect.provide(Layer.merge(NodeHttpClient.layerUndici, LoginAgent.layerTest({})))
          )
        )
        assert.strictEqual(device._tag, "InvalidConfiguration")
      }))

    it.effect("rejects URLs that are not http(s) and an empty client id", () =>
      Effect.gen(function*() {
        const bad = [
          { oauthUrl: "not a url" },
          { authUrl: "ftp://auth.example.com" },
          { redirectUri: "callback" },
          { clientId: "" }
        ]
        for (const extra of bad) {
          const error = yield* Effect.flip(
            AnaplanOAuth.make({ clientId: "c", redirectUri, ...extra }).pipe(Effect.provide(NodeHttpClient.layerUndici))
          )
          assert.strictEqual(error._tag, "InvalidConfiguration")
        }
      }))
  })

  describe("fetchToken", () => {
    it.scoped("exchanges the code of the redirect for an AnaplanAuthToken with a refresh token", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(5_000)
          const oauth = yield* service(server)
          const { codeVerifier, state, url } = yield* oauth.authorizationUrl()
          const landed = yield* browserLogin(url)
          const token = yield* oauth.fetchToken(landed, { state, codeVerifier })
          assert.strictEqual(token.tokenType, "AnaplanAuthToken")
          assert.isTrue(Option.isSome(token.refreshToken))
          assert.strictEqual(token.expiresAtMillis, 5_000 + lifetime)
          assert.deepStrictEqual(token.scopes, ["openid", "email", "offline_access"], "as Anaplan answers: without profile")
          const me = yield* HttpClient.execute(
            HttpClientRequest.get(`${server.url}/2/0/users/me`).pipe(
              HttpClientRequest.setHeader("authorization", Redacted.value(token.authorizationHeader))
            )
          )
          assert.strictEqual(me.status, 200)
        })
      ))

    it.scoped("works with the redirect from server.authorize, with and without PKCE", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const oauth = yield* service(server)
          const { codeVerifier, state } = yield* oauth.authorizationUrl()
          const landed = yield* server.authorize({
            clientId: webClient.clientId,
            redirectUri,
            email,
            state,
            codeChallenge: OAuth2.codeChallengeS256(codeVerifier!)
          })
          const token = yield* oauth.fetchToken(landed, { state, codeVerifier })
          assert.strictEqual((yield* oauth.validateToken(token)).email, email)

          const plain = yield* service(server, { pkce: false })
          const request = yield* plain.authorizationUrl()
          const redirect = yield* server.authorize({ clientId: webClient.clientId, redirectUri, email, state: request.state })
          yield* plain.fetchToken(redirect, { state: request.state })
        })
      ))

    it.scoped("a tampered state fails before any token request", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const oauth = yield* service(server)
          const { codeVerifier, state, url } = yield* oauth.authorizationUrl()
          const landed = new URL(yield* browserLogin(url))
          landed.searchParams.set("state", `${state}x`)
          const error = yield* Effect.flip(oauth.fetchToken(landed.href, { state, codeVerifier }))
          assert.strictEqual(error._tag, "InvalidCredentials")
          assert.include(error.message, "state")
          landed.searchParams.delete("state")
          assert.strictEqual((yield* Effect.flip(oauth.fetchToken(landed.href, { state, codeVerifier })))._tag, "InvalidCredentials")
          assert.strictEqual((yield* Effect.flip(oauth.fetchToken("", { state, codeVerifier })))._tag, "MalformedResponse")
          assert.strictEqual((yield* server.counters).oauthToken, 0)
        })
      ))

    it.scoped("error=access_denied in the redirect is LoginCancelled, with no token request", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const oauth = yield* service(server)
          const { codeVerifier, state } = yield* oauth.authorizationUrl()
          const landed = yield* server.authorize({ clientId: webClient.clientId, redirectUri, email, state, deny: true })
          const error = yield* Effect.flip(oauth.fetchToken(landed, { state, codeVerifier }))
          assert.strictEqual(error._tag, "LoginCancelled")
          assert.strictEqual((yield* server.counters).oauthToken, 0)
        })
      ))

    it.scoped("a wrong verifier, a spent code or a wrong secret is InvalidCredentials", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const oauth = yield* service(server)
          const { codeVerifier, state, url } = yield* oauth.authorizationUrl()
          const landed = yield* browserLogin(url)
          const wrong = yield* Effect.flip(oauth.fetchToken(landed, { state, codeVerifier: OAuth2.generateCodeVerifier() }))
          assert.strictEqual(wrong._tag, "InvalidCredentials")
          // the failed attempt spent the code
          assert.strictEqual((yield* Effect.flip(oauth.fetchToken(landed, { state, codeVerifier })))._tag, "InvalidCredentials")

          const badSecret = yield* service(server, { clientSecret: Redacted.make("nope") })
          const next = yield* badSecret.authorizationUrl()
          const error = yield* Effect.flip(badSecret.fetchToken(yield* browserLogin(next.url), next))
          assert.strictEqual(error._tag, "InvalidCredentials")
          assert.include(error.message, "invalid_client")
          assert.notInclude(error.message, "nope")
        })
      ))

    it.scoped("a 5xx is AuthServiceUnavailable", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const oauth = yield* service(server)
          const request = yield* oauth.authorizationUrl()
          const landed = yield* browserLogin(request.url)
          yield* server.injectFault(AnaplanAuthServer.Fault.status(503))
          const error = yield* Effect.flip(oauth.fetchToken(landed, request))
          assert.isTrue(AuthError.isAuthError(error) && AuthError.isTransient(error))
        })
      ))
  })

  describe("refreshToken and validateToken", () => {
    it.scoped("refreshToken rotates; the spent refresh token is then rejected and the grant revoked", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const oauth = yield* service(server)
          const request = yield* oauth.authorizationUrl()
          const first = yield* oauth.fetchToken(yield* browserLogin(request.url), request)
          const second = yield* oauth.refreshToken(first)
          const firstRt = Option.getOrThrow(first.refreshToken)
          const secondRt = Option.getOrThrow(second.refreshToken)
          assert.notStrictEqual(Redacted.value(secondRt), Redacted.value(firstRt))
          assert.strictEqual(second.tokenType, "AnaplanAuthToken")
          const third = yield* oauth.refreshToken(secondRt)
          assert.strictEqual((yield* oauth.validateToken(third)).email, email)

          const reused = yield* Effect.flip(oauth.refreshToken(firstRt))
          assert.strictEqual(reused._tag, "InvalidCredentials")
          assert.strictEqual((yield* Effect.flip(oauth.refreshToken(third)))._tag, "InvalidCredentials")
          assert.strictEqual((yield* Effect.flip(oauth.validateToken(third)))._tag, "InvalidCredentials")
        })
      ))

    it.scoped("a non-rotatable client: the refresh token is kept when the answer carries none", () =>
      withServer(
        (server) =>
          Effect.gen(function*() {
            const oauth = yield* service(server)
            const request = yield* oauth.authorizationUrl()
            const first = yield* oauth.fetchToken(yield* browserLogin(request.url), request)
            const rt = Redacted.value(Option.getOrThrow(first.refreshToken))
            const second = yield* oauth.refreshToken(first)
            const third = yield* oauth.refreshToken(second)
            assert.strictEqual(Redacted.value(Option.getOrThrow(third.refreshToken)), rt)
            assert.notStrictEqual(Redacted.value(third.accessToken), Redacted.value(second.accessToken))

            const source = yield* build(
              AnaplanOAuth.layerRefreshToken({ ...options(server), refreshToken: Redacted.make(rt) }),
              TokenSource.TokenSource
            )
            yield* source.get
            const renewed = yield* source.refresh
            assert.strictEqual(Redacted.value(Option.getOrThrow(renewed.refreshToken)), rt)
            assert.strictEqual((yield* server.counters).oauthToken, 5)
          }),
        { oauthClients: [{ ...webClient, rotateRefreshTokens: false }] }
      ))

    it.scoped("an expired refresh token (the client's maximum lifetime) is InvalidCredentials: log in again", () =>
      withServer(
        (server) =>
          Effect.gen(function*() {
            const oauth = yield* service(server)
            const request = yield* oauth.authorizationUrl()
            const first = yield* oauth.fetchToken(yield* browserLogin(request.url), request)
            yield* TestClock.adjust("11 hours")
            const second = yield* oauth.refreshToken(first)
            // rotation does not extend the grant
            yield* TestClock.adjust("1 hour")
            const error = yield* Effect.flip(oauth.refreshToken(second))
            assert.strictEqual(error._tag, "InvalidCredentials")
            assert.include(error.message, "Log in again")
          }),
        { oauthClients: [{ ...webClient, refreshTokenLifetime: "43000 seconds" }] }
      ))

    it.scoped("a token without a refresh token cannot be refreshed: TokenExpired, no request", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const oauth = yield* service(server)
          const token = Token.make({ accessToken: "a", tokenType: "AnaplanAuthToken", issuedAt: 0 })
          assert.strictEqual((yield* Effect.flip(oauth.refreshToken(token)))._tag, "TokenExpired")
          assert.strictEqual((yield* server.counters).oauthToken, 0)
        })
      ))

    it.scoped("validateToken reads /token/validate; an expired or unknown token is InvalidCredentials", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(1_000)
          const oauth = yield* service(server)
          const request = yield* oauth.authorizationUrl()
          const token = yield* oauth.fetchToken(yield* browserLogin(request.url), request)
          const info = yield* oauth.validateToken(token)
          assert.strictEqual(info.email, email)
          assert.isString(info.userGuid)
          assert.isString(info.tokenId)
          assert.strictEqual(info.expiresAt && DateTime.toEpochMillis(info.expiresAt), 1_000 + lifetime)
          assert.strictEqual((yield* oauth.validateToken(token.accessToken)).email, email)
          assert.strictEqual((yield* Effect.flip(oauth.validateToken(Redacted.make("unknown"))))._tag, "InvalidCredentials")
          yield* TestClock.adjust(lifetime)
          const expired = yield* Effect.flip(oauth.validateToken(token))
          assert.strictEqual(expired._tag, "InvalidCredentials")
          assert.strictEqual((yield* server.counters).validate, 4)
        })
      ))
  })

  describe("layers", () => {
    it.scoped("layer and layerConfig provide the service", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const fromLayer = yield* build(AnaplanOAuth.layer(options(server)), AnaplanOAuth.AnaplanOAuth)
          assert.include((yield* fromLayer.authorizationUrl()).url, server.url)
          const config = {
            clientId: Config.string("ANAPLAN_CLIENT_ID"),
            clientSecret: Config.redacted("ANAPLAN_CLIENT_SECRET"),
            redirectUri: Config.string("ANAPLAN_REDIRECT_URI"),
            oauthUrl: Config.string("ANAPLAN_OAUTH_URL"),
            authUrl: Config.string("ANAPLAN_OAUTH_URL")
          }
          const env = new Map([
            ["ANAPLAN_CLIENT_ID", webClient.clientId],
            ["ANAPLAN_CLIENT_SECRET", clientSecret],
            ["ANAPLAN_REDIRECT_URI", redirectUri],
            ["ANAPLAN_OAUTH_URL", server.url]
          ])
          const fromConfig = yield* build(AnaplanOAuth.layerConfig(config), AnaplanOAuth.AnaplanOAuth).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(env))
          )
          // the secret from the config reaches the token endpoint
          const request = yield* fromConfig.authorizationUrl()
          const token = yield* fromConfig.fetchToken(yield* browserLogin(request.url), request)
          assert.strictEqual(token.tokenType, "AnaplanAuthToken")
          env.delete("ANAPLAN_CLIENT_ID")
          const missing = yield* Effect.flip(
            build(AnaplanOAuth.layerConfig(config), AnaplanOAuth.AnaplanOAuth).pipe(
              Effect.withConfigProvider(ConfigProvider.fromMap(env))
            )
          )
          assert.strictEqual(missing._tag, "ConfigError")
        })
      ))

    it.scoped("layerOAuthLocal: the person pastes the redirect URL; tokens refresh with rotation", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const agent = LoginAgent.layerTest({ browser: yield* browser })
          const source = yield* build(
            AnaplanOAuth.layerOAuthLocal(options(server)).pipe(Layer.provide(agent)),
            TokenSource.TokenSource
          )
          assert.strictEqual(source.name, "anaplan-oauth-local")
          const token = yield* source.get
          assert.strictEqual(token.tokenType, "AnaplanAuthToken")
          assert.strictEqual((yield* source.get).accessToken, token.accessToken)
          assert.strictEqual((yield* server.counters).prelogin, 2)
          const refreshed = yield* source.refresh
          assert.notStrictEqual(Redacted.value(refreshed.accessToken), Redacted.value(token.accessToken))
          assert.notStrictEqual(
            Redacted.value(Option.getOrThrow(refreshed.refreshToken)),
            Redacted.value(Option.getOrThrow(token.refreshToken))
          )
          // a refresh, not a new login
          assert.deepStrictEqual([(yield* server.counters).prelogin, (yield* server.counters).oauthToken], [2, 2])
          const oauth = yield* service(server)
          assert.strictEqual((yield* oauth.validateToken(refreshed)).email, email)
        })
      ))

    it.scoped("oauthLocal with TokenStore.layerPersisted: one login, rotated refresh tokens stored for the next process", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const agent = LoginAgent.layerTest({ browser: yield* browser })
          // the store and lock outlive each "process" (TokenSource)
          const shared = yield* Layer.build(Layer.merge(TokenStore.layerMemory, TokenLock.layerMemory))
          const persisted = build(
            TokenStore.layerPersisted(AnaplanOAuth.oauthLocal(options(server)), {
              key: TokenStore.key("emulator", email)
            }).pipe(Layer.provide(agent), Layer.provide(Layer.succeedContext(shared))),
            TokenSource.TokenSource
          )
          const first = yield* persisted
          const token = yield* first.get
          const second = yield* persisted
          assert.strictEqual(Redacted.value((yield* second.get).accessToken), Redacted.value(token.accessToken))
          assert.deepStrictEqual([(yield* server.counters).prelogin, (yield* server.counters).oauthToken], [2, 1])
          // the second process refreshes; the rotated refresh token is stored, so a third one never
          // spends the first (spent) refresh token, which would revoke the grant
          const rotated = yield* second.refresh
          const third = yield* persisted
          assert.strictEqual(Redacted.value((yield* third.get).accessToken), Redacted.value(rotated.accessToken))
          assert.strictEqual((yield* server.counters).oauthToken, 2)
          // past expiry every process renews through the store with the latest refresh token
          yield* TestClock.adjust("36 minutes")
          const renewed = yield* third.get
          assert.notStrictEqual(Redacted.value(renewed.accessToken), Redacted.value(rotated.accessToken))
          assert.strictEqual((yield* (yield* service(server)).validateToken(renewed)).email, email)
          assert.strictEqual(Redacted.value((yield* first.get).accessToken), Redacted.value(renewed.accessToken))
          assert.strictEqual((yield* server.counters).prelogin, 2)
        })
      ))

    it.scoped("layerOAuthLocal: a redirect for another login attempt fails the login", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const login = yield* browser
          const agent = LoginAgent.layerTest({
            browser: (url) =>
              Effect.map(login(url), (landed) => {
                const tampered = new URL(landed)
                tampered.searchParams.set("state", "someone-else")
                return tampered.href
              })
          })
          const source = yield* build(
            AnaplanOAuth.layerOAuthLocal(options(server)).pipe(Layer.provide(agent)),
            TokenSource.TokenSource
          )
          assert.strictEqual((yield* Effect.flip(source.get))._tag, "InvalidCredentials")
          assert.strictEqual((yield* server.counters).oauthToken, 0)
        })
      ))

    it.scoped("layerRefreshToken: rotates across several refreshes by the clock; reuse of a spent one kills it", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const oauth = yield* service(server)
          const request = yield* oauth.authorizationUrl()
          const initial = yield* oauth.fetchToken(yield* browserLogin(request.url), request)
          const initialRt = Option.getOrThrow(initial.refreshToken)
          yield* server.resetCounters

          const source = yield* build(
            AnaplanOAuth.layerRefreshToken({
              ...options(server),
              refreshToken: initialRt,
              // a 20 % margin share (5 minutes of 35), which these timings were written for
              tokenSource: { policy: RefreshPolicy.make({ marginRatio: 0.2 }) }
            }),
            TokenSource.TokenSource
          )
          assert.strictEqual(source.name, "anaplan-refresh-token")
          assert.isTrue(Option.isNone(yield* source.current))
          const tokens = [yield* source.get]
          assert.strictEqual((yield* server.counters).oauthToken, 1)
          for (let i = 2; i <= 4; i++) {
            // past the refresh margin: the engine refreshes in the background with the latest refresh token
            const previous = Redacted.value(tokens[tokens.length - 1].accessToken)
            yield* TestClock.adjust("31 minutes")
            yield* untilCounted(server, "oauthToken", i)
            // the background refresh stores the new token once its answer is read
            for (let wait = 0; wait < 500; wait++) {
              const held = yield* source.current
              if (Option.isSome(held) && Redacted.value(held.value.accessToken) !== previous) break
              yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
            }
            const token = yield* source.get
            assert.notStrictEqual(Redacted.value(token.accessToken), previous)
            tokens.push(token)
            assert.strictEqual((yield* oauth.validateToken(token)).email, email)
          }
          assert.strictEqual((yield* server.counters).oauthToken, 4)
          const current = Option.getOrThrow(yield* source.current)
          assert.strictEqual(Redacted.value(current.accessToken), Redacted.value(tokens[3].accessToken))
          const refreshTokens = new Set(tokens.map((token) => Redacted.value(Option.getOrThrow(token.refreshToken))))
          assert.strictEqual(refreshTokens.size, 4)
          assert.isFalse(refreshTokens.has(Redacted.value(initialRt)))

          // someone replays the refresh token the layer was given: the whole grant is revoked
          assert.strictEqual((yield* Effect.flip(oauth.refreshToken(initialRt)))._tag, "InvalidCredentials")
          // the layer's refresh token is dead: a new login is needed, and the error says how
          const error = yield* Effect.flip(source.refresh)
          assert.strictEqual(error._tag, "TokenExpired")
          assert.include(error.message, "effect-auth login --at emulator")
        })
      ))

    it.scoped("layerDevice: shows the code, polls until approved", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const prompt = yield* Deferred.make<LoginAgent.DevicePrompt>()
          const agent = LoginAgent.layerTest({ device: (p) => Deferred.succeed(prompt, p) })
          const source = yield* build(
            AnaplanOAuth.layerDevice({ clientId: deviceClient.clientId, oauthUrl: server.url, timeout: "1 day" }).pipe(Layer.provide(agent)),
            TokenSource.TokenSource
          )
          const login = yield* Effect.fork(source.get)
          const shown = yield* Deferred.await(prompt)
          assert.strictEqual(shown.verificationUri, `${server.url}/activate`)
          assert.match(shown.userCode, /^[A-Z]{4}-[A-Z]{4}$/)
          yield* advanceUntil(server, "oauthToken", 1)
          assert.isTrue(yield* server.approveDevice(shown.userCode, email))
          yield* advanceUntil(server, "oauthToken", 2)
          const token = yield* Fiber.join(login)
          assert.strictEqual(token.tokenType, "AnaplanAuthToken")
          assert.isTrue(Option.isSome(token.refreshToken))
          assert.strictEqual((yield* server.counters).deviceCode, 1)
          const oauth = yield* service(server)
          assert.strictEqual((yield* oauth.validateToken(token)).email, email)
        })
      ))

    it.scoped("layerDevice: honours slow_down by adding 5 seconds to the interval", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const prompt = yield* Deferred.make<LoginAgent.DevicePrompt>()
          const agent = LoginAgent.layerTest({ device: (p) => Deferred.succeed(prompt, p) })
          const source = yield* build(
            AnaplanOAuth.layerDevice({ clientId: deviceClient.clientId, oauthUrl: server.url, timeout: "1 day" }).pipe(Layer.provide(agent)),
            TokenSource.TokenSource
          )
          const login = yield* Effect.fork(source.get)
          const shown = yield* Deferred.await(prompt)
          yield* server.injectFault(AnaplanAuthServer.Fault.body(`{"error":"slow_down"}`, { status: 400 }))
          yield* TestClock.adjust("5 seconds")
          yield* untilCounted(server, "oauthToken", 1)
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 30)))
          // the next poll comes 10 seconds later, not 5
          yield* TestClock.adjust("9 seconds")
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
          assert.strictEqual((yield* server.counters).oauthToken, 1)
          yield* server.approveDevice(shown.userCode, email)
          yield* TestClock.adjust("1 second")
          yield* untilCounted(server, "oauthToken", 2)
          yield* Fiber.join(login)
        })
      ))

    it.scoped("layerDevice: a denied code is LoginCancelled, an expired one LoginTimeout", () =>
      withServer(
        (server) =>
          Effect.gen(function*() {
            const run = (decide: (userCode: string) => Effect.Effect<unknown>, polls: boolean) =>
              Effect.gen(function*() {
                const prompt = yield* Deferred.make<LoginAgent.DevicePrompt>()
                const agent = LoginAgent.layerTest({ device: (p) => Deferred.succeed(prompt, p) })
                const source = yield* build(
                  AnaplanOAuth.layerDevice({ clientId: deviceClient.clientId, oauthUrl: server.url, timeout: "1 day" }).pipe(
                    Layer.provide(agent)
                  ),
                  TokenSource.TokenSource
                )
                const login = yield* Effect.fork(Effect.flip(source.get))
                const shown = yield* Deferred.await(prompt)
                yield* decide(shown.userCode)
                if (polls) yield* advanceUntil(server, "oauthToken", (yield* server.counters).oauthToken + 1)
                return yield* Fiber.join(login)
              })
            const denied = yield* run((userCode) => server.denyDevice(userCode), true)
            assert.strictEqual(denied._tag, "LoginCancelled")
            // past the code's expiry: no further poll, LoginTimeout
            const expired = yield* run(() => TestClock.adjust("2 minutes"), false)
            assert.strictEqual(expired._tag, "LoginTimeout")
          }),
        { deviceCodeLifetime: "1 minute" }
      ))
  })

  describe("issue 12: Anaplan as it really answers", () => {
    const claimsOf = (idToken: string): Record<string, unknown> =>
      JSON.parse(Buffer.from(idToken.split(".")[1], "base64url").toString("utf8"))

    it.scoped("the token answer carries an ES256-signed id_token: iss, sub, aud = client id, email, iat, exp", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(60_000)
          const oauth = yield* service(server)
          const request = yield* oauth.authorizationUrl()
          const token = yield* oauth.fetchToken(yield* browserLogin(request.url), request)
          const idToken = Redacted.value(Option.getOrThrow(token.idToken))
          const [header, payload, signature] = idToken.split(".")
          assert.isTrue(
            verify("sha256", Buffer.from(`${header}.${payload}`), { key: server.idTokenKey, dsaEncoding: "ieee-p1363" }, Buffer.from(signature, "base64url"))
          )
          const claims = claimsOf(idToken)
          assert.strictEqual(claims.aud, webClient.clientId)
          assert.strictEqual(claims.email, email)
          assert.strictEqual(claims.iss, server.url)
          assert.match(String(claims.sub), /^[0-9a-f]{32}$/)
          assert.strictEqual(claims.iat, 60)
          assert.strictEqual(claims.exp, 60 + lifetime / 1000)
          assert.isUndefined(claims.nonce)
        })
      ))

    for (const echoNonce of [false, true]) {
      it.scoped(`layerOAuthLocal sends no nonce and logs in whether or not the server echoes one (echoNonce: ${echoNonce})`, () =>
        withServer((server) =>
          Effect.gen(function*() {
            const login = yield* browser
            const seen: Array<URL> = []
            const agent = LoginAgent.layerTest({ browser: (url) => Effect.suspend(() => (seen.push(url), login(url))) })
            const source = yield* build(AnaplanOAuth.layerOAuthLocal(options(server)).pipe(Layer.provide(agent)), TokenSource.TokenSource)
            const token = yield* source.get
            assert.strictEqual(seen.length, 1)
            assert.isNull(seen[0].searchParams.get("nonce"), "anaplan-sdk sends no nonce; neither do we")
            assert.isUndefined(claimsOf(Redacted.value(Option.getOrThrow(token.idToken))).nonce)
          }), { echoNonce }))

      it.scoped(`generic OpenID Connect keeps the nonce check: it sends one and fails without its echo (echoNonce: ${echoNonce})`, () =>
        withServer((server) =>
          Effect.gen(function*() {
            const agent = LoginAgent.layerTest({ browser: yield* browser })
            const strategy = OAuth2Auth.authorizationCode({
              name: "oidc",
              site: "oidc",
              endpoints: {
                issuer: undefined,
                authorizationEndpoint: `${server.url}/auth/prelogin`,
                tokenEndpoint: `${server.url}/oauth/token`
              },
              client: OAuth2.secretPost(webClient.clientId, Redacted.make(clientSecret)),
              scopes: ["openid", "email"],
              redirect: LoginAgent.paste(redirectUri),
              allowInsecureHttp: true
            })
            const source = yield* build(TokenSource.layer(strategy).pipe(Layer.provide(agent)), TokenSource.TokenSource)
            const exit = yield* Effect.exit(source.get)
            if (echoNonce) {
              assert.isTrue(Exit.isSuccess(exit))
            } else {
              assert.isTrue(Exit.isFailure(exit))
              const error = yield* Effect.flip(source.get)
              assert.include(error.message, "nonce")
            }
          }), { echoNonce }))
    }

    it.scoped("layerRefreshToken: an expired rotating refresh token (default 43,000 s) is TokenExpired saying how to log in", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const oauth = yield* service(server)
          const request = yield* oauth.authorizationUrl()
          const initial = yield* oauth.fetchToken(yield* browserLogin(request.url), request)
          yield* TestClock.adjust("43000 seconds")
          const error = yield* Effect.flip(
            Effect.flatMap(
              build(
                AnaplanOAuth.layerRefreshToken({ ...options(server), refreshToken: Option.getOrThrow(initial.refreshToken) }),
                TokenSource.TokenSource
              ),
              (source) => source.get
            )
          )
          assert.strictEqual(error._tag, "TokenExpired")
          assert.include(error.message, "refresh token expired")
          assert.include(error.message, "effect-auth login --at emulator")
        })
      ))

    it.scoped("layerDevice: a refresh token that expired is TokenExpired on refresh, with no second login prompt", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const prompts = yield* Deferred.make<LoginAgent.DevicePrompt>()
          const agent = LoginAgent.layerTest({ device: (p) => Deferred.succeed(prompts, p) })
          const source = yield* build(
            AnaplanOAuth.layerDevice({ clientId: deviceClient.clientId, oauthUrl: server.url, timeout: "1 day", site: "dev" })
              .pipe(Layer.provide(agent)),
            TokenSource.TokenSource
          )
          const login = yield* Effect.fork(source.get)
          const shown = yield* Deferred.await(prompts)
          yield* advanceUntil(server, "oauthToken", 1)
          assert.isTrue(yield* server.approveDevice(shown.userCode, email))
          yield* advanceUntil(server, "oauthToken", 2)
          yield* Fiber.join(login)
          // the administrator's maximum refresh token lifetime (10 minutes here) has passed
          yield* TestClock.adjust("11 minutes")
          const error = yield* Effect.flip(source.refresh)
          assert.strictEqual(error._tag, "TokenExpired")
          assert.include(error.message, "effect-auth login --at dev")
          assert.strictEqual((yield* server.counters).deviceCode, 1)
        }), { oauthClients: [webClient, { ...deviceClient, refreshTokenLifetime: "10 minutes" }] }
      ))
  })

})
