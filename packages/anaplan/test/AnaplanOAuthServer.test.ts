import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FC from "effect/FastCheck"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { createHash, randomBytes } from "node:crypto"
import * as AnaplanAuthServer from "../src/AnaplanAuthServer.js"
import { type Answer, send } from "./support/emulator.js"

// ---------------------------------------------------------------------------------------------
// Wire shapes (excess properties are errors)

const TokenAnswer = Schema.Struct({
  access_token: Schema.NonEmptyString,
  refresh_token: Schema.optional(Schema.NonEmptyString),
  expires_in: Schema.Number,
  scope: Schema.String,
  token_type: Schema.Literal("bearer"),
  /** With the `openid` scope (ANAPLAN.md, "OAuth 2": the answer carries an `id_token`). */
  id_token: Schema.optional(Schema.NonEmptyString)
})
const OAuthError = Schema.Struct({ error: Schema.String, error_description: Schema.String })
const DeviceAnswer = Schema.Struct({
  device_code: Schema.NonEmptyString,
  user_code: Schema.String.pipe(Schema.pattern(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)),
  verification_uri: Schema.String,
  verification_uri_complete: Schema.String,
  expires_in: Schema.Number,
  interval: Schema.Number
})

const decode = <A, I>(schema: Schema.Schema<A, I>, text: string): A =>
  Schema.decodeUnknownSync(Schema.parseJson(schema))(text, { onExcessProperty: "error" })

// ---------------------------------------------------------------------------------------------
// HTTP


const get = (url: string, authorization?: string) =>
  send(
    authorization === undefined
      ? HttpClientRequest.get(url)
      : HttpClientRequest.get(url).pipe(HttpClientRequest.setHeader("authorization", authorization))
  )

const postForm = (url: string, params: Record<string, string | undefined>, authorization?: string) => {
  const body: Array<[string, string]> = []
  for (const [key, value] of Object.entries(params)) if (value !== undefined) body.push([key, value])
  let request = HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUrlParams(body))
  if (authorization !== undefined) request = HttpClientRequest.setHeader(request, "authorization", authorization)
  return send(request)
}

const postJson = (url: string, body: unknown) =>
  send(HttpClientRequest.post(url).pipe(HttpClientRequest.bodyText(JSON.stringify(body), "application/json")))

const anaplanToken = (token: string) => `AnaplanAuthToken ${token}`

// ---------------------------------------------------------------------------------------------
// Fixtures

const redirectUri = "https://app.example.com/callback"
const web = { clientId: "web-client", clientSecret: "web-secret", redirectUris: [redirectUri], name: "Planning App" }
const cli = { clientId: "device-client", redirectUris: ["https://anaplan.com"] }
const email = "demo@example.com"
const password = "demo-password"

const withServer = <A, E>(
  f: (server: AnaplanAuthServer.AnaplanAuthServer.Service) => Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>,
  options?: AnaplanAuthServer.Options
) =>
  Effect.flatMap(AnaplanAuthServer.make({ oauthClients: [web, cli], ...options }), f).pipe(
    Effect.provide(NodeHttpClient.layerUndici)
  )

const pkce = () => {
  const verifier = randomBytes(32).toString("base64url")
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") }
}

const loginPageUrl = (server: AnaplanAuthServer.AnaplanAuthServer.Service, params: Record<string, string | undefined>) => {
  const url = new URL(`${server.url}/auth/prelogin`)
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value)
  return url.href
}

/** The hidden fields of the login form, as a browser would submit them. */
const hiddenFields = (html: string): Record<string, string> => {
  const fields: Record<string, string> = {}
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1]] = match[2].replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
  }
  return fields
}

const codeFrom = (location: string) => {
  const url = new URL(location)
  assert.strictEqual(`${url.origin}${url.pathname}`, redirectUri)
  const code = url.searchParams.get("code")
  assert.isNotNull(code)
  return code!
}

const exchange = (
  server: AnaplanAuthServer.AnaplanAuthServer.Service,
  code: string,
  extra: Record<string, string | undefined> = {}
) =>
  postForm(`${server.url}/oauth/token`, {
    grant_type: "authorization_code",
    code,
    redirect_uri: redirectUri,
    client_id: web.clientId,
    client_secret: web.clientSecret,
    ...extra
  })

const tokensFor = (server: AnaplanAuthServer.AnaplanAuthServer.Service) =>
  Effect.gen(function*() {
    const location = yield* server.authorize({ clientId: web.clientId, redirectUri, email, state: "s" })
    const answer = yield* exchange(server, codeFrom(location))
    assert.strictEqual(answer.status, 200, answer.text)
    return decode(TokenAnswer, answer.text)
  })

const refresh = (server: AnaplanAuthServer.AnaplanAuthServer.Service, refreshToken: string) =>
  postForm(`${server.url}/oauth/token`, {
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    client_id: web.clientId,
    client_secret: web.clientSecret
  })

const expectOAuthError = (answer: Answer, status: number, error: string) => {
  assert.strictEqual(answer.status, status, answer.text)
  assert.strictEqual(decode(OAuthError, answer.text).error, error)
  assert.strictEqual(answer.headers["cache-control"], "no-store")
}

describe("AnaplanAuthServer OAuth", () => {
  describe("login page", () => {
    it.scoped("GET /auth/prelogin shows a login form that carries the request", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const { challenge } = pkce()
          const page = yield* get(loginPageUrl(server, {
            response_type: "code",
            client_id: web.clientId,
            redirect_uri: redirectUri,
            scope: "openid offline_access",
            state: "st<\"ate>",
            code_challenge: challenge,
            code_challenge_method: "S256"
          }))
          assert.strictEqual(page.status, 200)
          assert.include(page.headers["content-type"], "text/html")
          assert.strictEqual(page.headers["cache-control"], "no-store")
          for (const id of ["email", "password", "login"]) assert.include(page.text, `id="${id}"`)
          assert.include(page.text, "Planning App")
          // the state is escaped, not injected
          assert.notInclude(page.text, "st<\"ate>")
          assert.deepStrictEqual(hiddenFields(page.text), {
            response_type: "code",
            client_id: web.clientId,
            redirect_uri: redirectUri,
            scope: "openid offline_access",
            state: "st<\"ate>",
            code_challenge: challenge,
            code_challenge_method: "S256"
          })
          assert.strictEqual((yield* server.counters).prelogin, 1)
        })
      ))

    it.scoped("the right password redirects with code and state; the code is exchanged once", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const page = yield* get(loginPageUrl(server, {
            response_type: "code",
            client_id: web.clientId,
            redirect_uri: redirectUri,
            state: "xyz"
          }))
          const posted = yield* postForm(`${server.url}/auth/prelogin`, {
            ...hiddenFields(page.text),
            email: "DEMO@example.com",
            password,
            action: "login"
          })
          assert.strictEqual(posted.status, 302, posted.text)
          const location = new URL(posted.headers["location"])
          assert.strictEqual(location.searchParams.get("state"), "xyz")
          const answer = yield* exchange(server, codeFrom(location.href))
          assert.strictEqual(answer.status, 200, answer.text)
          const body = decode(TokenAnswer, answer.text)
          // no scope asked: Anaplan's default, which brings a refresh token
          assert.strictEqual(body.scope, "openid email offline_access", "Anaplan answers the scopes without profile")
          assert.isDefined(body.refresh_token)
          assert.strictEqual(body.expires_in, 35 * 60)
          // /auth/login takes the same form
          const viaLogin = yield* postForm(`${server.url}/auth/login`, { ...hiddenFields(page.text), email, password })
          assert.strictEqual(viaLogin.status, 302)
          assert.strictEqual((yield* server.counters).prelogin, 3)
        })
      ))

    it.scoped("a wrong password shows the form again with an error and no redirect", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const fields = { response_type: "code", client_id: web.clientId, redirect_uri: redirectUri, state: "s" }
          const posted = yield* postForm(`${server.url}/auth/prelogin`, { ...fields, email, password: "wrong" })
          assert.strictEqual(posted.status, 200)
          assert.isUndefined(posted.headers["location"])
          assert.include(posted.text, `id="error"`)
          assert.include(posted.text, `value="${email}"`)
          assert.notInclude(posted.text, "wrong")
          assert.deepStrictEqual(hiddenFields(posted.text), fields)
        })
      ))

    it.scoped("cancel redirects with error=access_denied and the state", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const posted = yield* postForm(`${server.url}/auth/prelogin`, {
            response_type: "code",
            client_id: web.clientId,
            redirect_uri: redirectUri,
            state: "s1",
            action: "deny"
          })
          assert.strictEqual(posted.status, 302)
          const location = new URL(posted.headers["location"])
          assert.strictEqual(location.searchParams.get("error"), "access_denied")
          assert.strictEqual(location.searchParams.get("state"), "s1")
          assert.isNull(location.searchParams.get("code"))
        })
      ))

    it.scoped("unknown client or unregistered redirect URI: a 400 page, never a redirect", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const bad = [
            { client_id: "nobody", redirect_uri: redirectUri },
            { client_id: web.clientId, redirect_uri: "https://evil.example.com/callback" },
            { client_id: web.clientId, redirect_uri: `${redirectUri}/extra` },
            { client_id: web.clientId }
          ]
          for (const params of bad) {
            const page = yield* get(loginPageUrl(server, { response_type: "code", state: "s", ...params }))
            assert.strictEqual(page.status, 400)
            assert.isUndefined(page.headers["location"])
            const posted = yield* postForm(`${server.url}/auth/prelogin`, { response_type: "code", ...params, email, password })
            assert.strictEqual(posted.status, 400)
            assert.isUndefined(posted.headers["location"])
          }
          const fails = yield* Effect.flip(
            server.authorize({ clientId: web.clientId, redirectUri: "https://evil.example.com/", email })
          )
          assert.strictEqual(fails._tag, "IllegalArgumentException")
        })
      ))

    it.scoped("other request errors go back to the client: response_type, plain PKCE", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const cases = [
            [{ response_type: "token" }, "unsupported_response_type"],
            [{ response_type: "code", code_challenge: pkce().challenge }, "invalid_request"],
            [{ response_type: "code", code_challenge: "short", code_challenge_method: "S256" }, "invalid_request"],
            [{ response_type: "code", code_challenge: pkce().challenge, code_challenge_method: "plain" }, "invalid_request"]
          ] as const
          for (const [params, error] of cases) {
            const page = yield* get(loginPageUrl(server, { client_id: web.clientId, redirect_uri: redirectUri, state: "q", ...params }))
            assert.strictEqual(page.status, 302)
            const location = new URL(page.headers["location"])
            assert.strictEqual(location.searchParams.get("error"), error)
            assert.strictEqual(location.searchParams.get("state"), "q")
          }
        })
      ))
  })

  describe("authorization code", () => {
    it.scoped("the access token works as an AnaplanAuthToken until it expires by the Clock", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(10_000)
          const tokens = yield* tokensFor(server)
          const validate = yield* get(`${server.url}/token/validate`, anaplanToken(tokens.access_token))
          assert.strictEqual(validate.status, 200)
          assert.strictEqual(JSON.parse(validate.text).userInfo.userId, email)
          assert.strictEqual(JSON.parse(validate.text).tokenInfo.expiresAt, 10_000 + 35 * 60_000)
          assert.strictEqual((yield* get(`${server.url}/2/0/users/me`, anaplanToken(tokens.access_token))).status, 200)
          // OAuth tokens are renewed at /oauth/token, not /token/refresh
          const viaAuth = yield* postForm(`${server.url}/token/refresh`, {}, anaplanToken(tokens.access_token))
          assert.strictEqual(viaAuth.status, 401)
          assert.strictEqual((yield* get(`${server.url}/2/0/users/me`, anaplanToken(tokens.access_token))).status, 200)
          yield* TestClock.adjust("35 minutes")
          assert.strictEqual((yield* get(`${server.url}/2/0/users/me`, anaplanToken(tokens.access_token))).status, 401)
        })
      ))

    it.scoped("codes are single use; a second use revokes what the first granted", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const code = codeFrom(yield* server.authorize({ clientId: web.clientId, redirectUri, email, state: "s" }))
          const first = decode(TokenAnswer, (yield* exchange(server, code)).text)
          expectOAuthError(yield* exchange(server, code), 400, "invalid_grant")
          assert.strictEqual((yield* get(`${server.url}/token/validate`, anaplanToken(first.access_token))).status, 401)
          expectOAuthError(yield* refresh(server, first.refresh_token!), 400, "invalid_grant")
        })
      ))

    it.scoped("codes expire after 60 seconds and are bound to the redirect URI and client", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const issue = () =>
            Effect.map(server.authorize({ clientId: web.clientId, redirectUri, email, state: "s" }), codeFrom)
          const late = yield* issue()
          yield* TestClock.adjust("60 seconds")
          expectOAuthError(yield* exchange(server, late), 400, "invalid_grant")
          expectOAuthError(yield* exchange(server, yield* issue(), { redirect_uri: "https://app.example.com/other" }), 400, "invalid_grant")
          expectOAuthError(yield* exchange(server, yield* issue(), { redirect_uri: undefined }), 400, "invalid_request")
          expectOAuthError(
            yield* postForm(`${server.url}/oauth/token`, {
              grant_type: "authorization_code",
              code: yield* issue(),
              redirect_uri: redirectUri,
              client_id: cli.clientId
            }),
            400,
            "invalid_grant"
          )
          const fresh = yield* issue()
          yield* TestClock.adjust("59 seconds")
          assert.strictEqual((yield* exchange(server, fresh)).status, 200)
        })
      ))

    it.scoped("PKCE: the verifier must match the S256 challenge", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const { challenge, verifier } = pkce()
          const issue = () =>
            Effect.map(
              server.authorize({ clientId: web.clientId, redirectUri, email, state: "s", codeChallenge: challenge }),
              codeFrom
            )
          expectOAuthError(yield* exchange(server, yield* issue()), 400, "invalid_grant")
          expectOAuthError(yield* exchange(server, yield* issue(), { code_verifier: pkce().verifier }), 400, "invalid_grant")
          const ok = yield* exchange(server, yield* issue(), { code_verifier: verifier })
          assert.strictEqual(ok.status, 200, ok.text)
        })
      ))

    it.scoped("client authentication: secret in the body or Basic; wrong or missing secret is invalid_client", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const issue = () => Effect.map(server.authorize({ clientId: web.clientId, redirectUri, email, state: "s" }), codeFrom)
          expectOAuthError(yield* exchange(server, yield* issue(), { client_secret: "wrong" }), 401, "invalid_client")
          expectOAuthError(yield* exchange(server, yield* issue(), { client_secret: undefined }), 401, "invalid_client")
          expectOAuthError(yield* exchange(server, yield* issue(), { client_id: "nobody" }), 401, "invalid_client")
          const basic = `Basic ${Buffer.from(`${web.clientId}:${web.clientSecret}`).toString("base64")}`
          const viaBasic = yield* postForm(
            `${server.url}/oauth/token`,
            { grant_type: "authorization_code", code: yield* issue(), redirect_uri: redirectUri },
            basic
          )
          assert.strictEqual(viaBasic.status, 200, viaBasic.text)
          expectOAuthError(
            yield* postForm(`${server.url}/oauth/token`, { client_id: web.clientId, client_secret: web.clientSecret }),
            400,
            "invalid_request"
          )
          expectOAuthError(
            yield* postForm(`${server.url}/oauth/token`, {
              grant_type: "client_credentials",
              client_id: web.clientId,
              client_secret: web.clientSecret
            }),
            400,
            "unsupported_grant_type"
          )
          assert.strictEqual((yield* server.counters).oauthToken, 6)
        })
      ))

    it.scoped("without offline_access there is no refresh token", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const location = yield* server.authorize({ clientId: web.clientId, redirectUri, email, state: "s", scope: "openid" })
          const body = decode(TokenAnswer, (yield* exchange(server, codeFrom(location))).text)
          assert.isUndefined(body.refresh_token)
          assert.strictEqual(body.scope, "openid")
        })
      ))
  })

  describe("refresh tokens", () => {
    it.scoped("rotate: each refresh returns a new refresh token and spends the old one", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const first = yield* tokensFor(server)
          let current = first.refresh_token!
          const seen = new Set([current])
          for (let i = 0; i < 3; i++) {
            const answer = yield* refresh(server, current)
            assert.strictEqual(answer.status, 200, answer.text)
            const body = decode(TokenAnswer, answer.text)
            assert.isFalse(seen.has(body.refresh_token!))
            seen.add(body.refresh_token!)
            current = body.refresh_token!
            assert.strictEqual((yield* get(`${server.url}/token/validate`, anaplanToken(body.access_token))).status, 200)
          }
          expectOAuthError(yield* refresh(server, "not-a-refresh-token"), 400, "invalid_grant")
        })
      ))

    it.scoped("reuse of a spent refresh token revokes the whole family", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const first = yield* tokensFor(server)
          const second = decode(TokenAnswer, (yield* refresh(server, first.refresh_token!)).text)
          // an attacker (or a second process) replays the spent one
          expectOAuthError(yield* refresh(server, first.refresh_token!), 400, "invalid_grant")
          // the legitimate holder's newest refresh token and access token are dead too
          expectOAuthError(yield* refresh(server, second.refresh_token!), 400, "invalid_grant")
          assert.strictEqual((yield* get(`${server.url}/token/validate`, anaplanToken(second.access_token))).status, 401)
          // other grants are untouched
          const other = yield* tokensFor(server)
          assert.strictEqual((yield* refresh(server, other.refresh_token!)).status, 200)
        })
      ))

    it.scoped("a non-rotatable client keeps its refresh token: refresh answers carry none", () =>
      withServer(
        (server) =>
          Effect.gen(function*() {
            const first = yield* tokensFor(server)
            for (let i = 0; i < 3; i++) {
              const answer = yield* refresh(server, first.refresh_token!)
              assert.strictEqual(answer.status, 200, answer.text)
              const body = decode(TokenAnswer, answer.text)
              assert.isUndefined(body.refresh_token)
              assert.notStrictEqual(body.access_token, first.access_token)
            }
          }),
        { oauthClients: [{ ...web, rotateRefreshTokens: false }] }
      ))

    it.scoped("refresh tokens are bound to their client", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const first = yield* tokensFor(server)
          expectOAuthError(
            yield* postForm(`${server.url}/oauth/token`, {
              grant_type: "refresh_token",
              refresh_token: first.refresh_token,
              client_id: cli.clientId
            }),
            400,
            "invalid_grant"
          )
          assert.strictEqual((yield* refresh(server, first.refresh_token!)).status, 200)
        })
      ))
  })

  describe("device grant", () => {
    const deviceCode = (server: AnaplanAuthServer.AnaplanAuthServer.Service) =>
      Effect.gen(function*() {
        // ANAPLAN.md, "Device grant": a JSON body {"client_id", "scope"}, as every public client sends it
        const answer = yield* postJson(`${server.url}/oauth/device/code`, {
          client_id: cli.clientId,
          scope: "openid profile email offline_access"
        })
        assert.strictEqual(answer.status, 200, answer.text)
        return decode(DeviceAnswer, answer.text)
      })
    const poll = (server: AnaplanAuthServer.AnaplanAuthServer.Service, code: string) =>
      postForm(`${server.url}/oauth/token`, {
        grant_type: "urn:ietf:params:oauth:grant-type:device_code",
        device_code: code,
        client_id: cli.clientId
      })

    it.scoped("pending, slow_down when too fast, then tokens once approved; the code is single use", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const device = yield* deviceCode(server)
          assert.strictEqual(device.verification_uri, `${server.url}/activate`)
          assert.strictEqual(device.verification_uri_complete, `${server.url}/activate?user_code=${device.user_code}`)
          assert.strictEqual(device.expires_in, 15 * 60)
          assert.strictEqual(device.interval, 5)
          expectOAuthError(yield* poll(server, device.device_code), 400, "authorization_pending")
          expectOAuthError(yield* poll(server, device.device_code), 400, "slow_down")
          // the interval is now 10 seconds; polling after 5 earns another slow_down (15 seconds)
          yield* TestClock.adjust("5 seconds")
          expectOAuthError(yield* poll(server, device.device_code), 400, "slow_down")
          yield* TestClock.adjust("15 seconds")
          expectOAuthError(yield* poll(server, device.device_code), 400, "authorization_pending")
          assert.isFalse(yield* server.approveDevice("BCDF-GHJK", email))
          assert.isFalse(yield* server.approveDevice(device.user_code, "nobody@example.com"))
          assert.isTrue(yield* server.approveDevice(device.user_code.toLowerCase().replace("-", " "), email))
          yield* TestClock.adjust("15 seconds")
          const answer = yield* poll(server, device.device_code)
          assert.strictEqual(answer.status, 200, answer.text)
          const tokens = decode(TokenAnswer, answer.text)
          assert.isDefined(tokens.refresh_token)
          assert.strictEqual((yield* get(`${server.url}/2/0/users/me`, anaplanToken(tokens.access_token))).status, 200)
          yield* TestClock.adjust("15 seconds")
          expectOAuthError(yield* poll(server, device.device_code), 400, "invalid_grant")
          assert.deepStrictEqual([(yield* server.counters).deviceCode, (yield* server.counters).oauthToken], [1, 6])
        })
      ))

    it.scoped("the activation page: the person enters the code and logs in to approve or deny", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const device = yield* deviceCode(server)
          const page = yield* get(device.verification_uri_complete)
          assert.strictEqual(page.status, 200)
          for (const id of ["user_code", "email", "password", "approve", "deny"]) assert.include(page.text, `id="${id}"`)
          assert.include(page.text, `value="${device.user_code}"`)
          const wrong = yield* postForm(`${server.url}/activate`, { user_code: device.user_code, email, password: "wrong", action: "approve" })
          assert.include(wrong.text, `id="error"`)
          expectOAuthError(yield* poll(server, device.device_code), 400, "authorization_pending")
          const unknown = yield* postForm(`${server.url}/activate`, { user_code: "BBBB-BBBB", email, password, action: "approve" })
          assert.include(unknown.text, `id="error"`)
          const approved = yield* postForm(`${server.url}/activate`, {
            user_code: device.user_code.toLowerCase(),
            email,
            password,
            action: "approve"
          })
          assert.include(approved.text, `id="done"`)
          yield* TestClock.adjust("5 seconds")
          assert.strictEqual((yield* poll(server, device.device_code)).status, 200)

          const other = yield* deviceCode(server)
          const denied = yield* postForm(`${server.url}/activate`, { user_code: other.user_code, email, password, action: "deny" })
          assert.include(denied.text, `id="done"`)
          expectOAuthError(yield* poll(server, other.device_code), 400, "access_denied")
          assert.strictEqual((yield* server.counters).activate, 5)
        })
      ))

    it.scoped("denied: access_denied; expired: expired_token; JSON bodies are accepted", () =>
      withServer(
        (server) =>
          Effect.gen(function*() {
            const denied = yield* deviceCode(server)
            assert.isTrue(yield* server.denyDevice(denied.user_code))
            assert.isFalse(yield* server.approveDevice(denied.user_code, email))
            expectOAuthError(yield* poll(server, denied.device_code), 400, "access_denied")

            const json = yield* postJson(`${server.url}/oauth/device/code`, { client_id: cli.clientId, scope: "openid" })
            const late = decode(DeviceAnswer, json.text)
            assert.strictEqual(late.expires_in, 30)
            yield* TestClock.adjust("30 seconds")
            assert.isFalse(yield* server.approveDevice(late.user_code, email))
            const expired = yield* postJson(`${server.url}/oauth/token`, {
              grant_type: "urn:ietf:params:oauth:grant-type:device_code",
              device_code: late.device_code,
              client_id: cli.clientId
            })
            expectOAuthError(expired, 400, "expired_token")
            expectOAuthError(
              yield* postJson(`${server.url}/oauth/device/code`, { client_id: "nobody" }),
              401,
              "invalid_client"
            )
            // RFC 8628's form encoding is not what Anaplan's clients send
            expectOAuthError(
              yield* postForm(`${server.url}/oauth/device/code`, { client_id: cli.clientId, scope: "openid" }),
              400,
              "invalid_request"
            )
          }),
        { deviceCodeLifetime: "30 seconds" }
      ))
  })

  it.scoped("a client registered for one grant type gets unauthorized_client for the other", () =>
    withServer(
      (server) =>
        Effect.gen(function*() {
          const page = yield* get(loginPageUrl(server, { response_type: "code", client_id: cli.clientId, redirect_uri: cli.redirectUris[0], state: "s" }))
          assert.strictEqual(page.status, 302)
          assert.strictEqual(new URL(page.headers["location"]).searchParams.get("error"), "unauthorized_client")
          expectOAuthError(
            yield* postJson(`${server.url}/oauth/device/code`, { client_id: web.clientId, client_secret: web.clientSecret }),
            400,
            "unauthorized_client"
          )
          expectOAuthError(
            yield* postForm(`${server.url}/oauth/token`, {
              grant_type: "authorization_code",
              code: "x",
              redirect_uri: cli.redirectUris[0],
              client_id: cli.clientId
            }),
            400,
            "unauthorized_client"
          )
          // each still does its own grant
          yield* tokensFor(server)
          assert.strictEqual((yield* postJson(`${server.url}/oauth/device/code`, { client_id: cli.clientId })).status, 200)
        }),
      {
        oauthClients: [
          { ...web, grantTypes: ["authorization_code"] },
          { ...cli, grantTypes: ["device_code"] }
        ]
      }
    ))

  it.scoped("clients can be added while running; faults apply to the OAuth endpoints too", () =>
    withServer(
      (server) =>
        Effect.gen(function*() {
          assert.strictEqual((yield* get(loginPageUrl(server, { response_type: "code", client_id: web.clientId, redirect_uri: redirectUri }))).status, 400)
          yield* server.addOAuthClient(web)
          assert.strictEqual((yield* get(loginPageUrl(server, { response_type: "code", client_id: web.clientId, redirect_uri: redirectUri }))).status, 200)
          yield* server.injectFault(AnaplanAuthServer.Fault.status(503))
          const tokens = yield* Effect.map(server.authorize({ clientId: web.clientId, redirectUri, email }), codeFrom)
          assert.strictEqual((yield* exchange(server, tokens)).status, 503)
          const wrongMethod = yield* get(`${server.url}/oauth/token`)
          assert.strictEqual(wrongMethod.status, 405)
          assert.strictEqual(wrongMethod.headers["allow"], "POST")
        }),
      { oauthClients: [] }
    ))
})

// ---------------------------------------------------------------------------------------------
// Robustness: whatever arrives, a 4xx (or the login page), never a 5xx, never a token or a code

const text = FC.string({ maxLength: 40 })
const known = FC.constantFrom(
  web.clientId,
  web.clientSecret,
  cli.clientId,
  redirectUri,
  email,
  "authorization_code",
  "refresh_token",
  "urn:ietf:params:oauth:grant-type:device_code",
  "code",
  "S256",
  "approve",
  "deny"
)
const fieldNames = FC.constantFrom(
  "grant_type",
  "code",
  "redirect_uri",
  "client_id",
  "client_secret",
  "refresh_token",
  "device_code",
  "code_verifier",
  "code_challenge",
  "code_challenge_method",
  "scope",
  "response_type",
  "state",
  "email",
  "password",
  "action",
  "user_code"
)
const fields = FC.dictionary(fieldNames, FC.oneof(text, known), { maxKeys: 8 })
const requestArbitrary = FC.record({
  path: FC.constantFrom("/oauth/token", "/oauth/device/code", "/auth/prelogin", "/auth/login", "/activate"),
  encoding: FC.constantFrom("form", "json", "garbage"),
  fields,
  garbage: text,
  authorization: FC.option(
    FC.oneof(text, FC.tuple(FC.oneof(text, known), FC.oneof(text, known)).map(([id, secret]) =>
      `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`
    )),
    { nil: undefined }
  )
})

layer(AnaplanAuthServer.layer({ oauthClients: [web, cli] }))("OAuth endpoints under arbitrary input", (it) => {
  it.effect.prop(
    "answer 4xx (or the form again, a redirect with an error, a device code), never a 5xx, a token or a code",
    [requestArbitrary],
    ([request]) =>
      Effect.gen(function*() {
        const server = yield* AnaplanAuthServer.AnaplanAuthServer
        const headers: Record<string, string> = {}
        let body: string
        if (request.encoding === "form") {
          headers["content-type"] = "application/x-www-form-urlencoded"
          body = new URLSearchParams(request.fields).toString()
        } else if (request.encoding === "json") {
          headers["content-type"] = "application/json"
          body = JSON.stringify(request.fields)
        } else {
          headers["content-type"] = "text/plain"
          body = request.garbage
        }
        if (request.authorization !== undefined) headers["authorization"] = request.authorization
        const response = yield* Effect.promise(() =>
          fetch(`${server.url}${request.path}`, { method: "POST", headers, body, redirect: "manual" })
            .then(async (r) => ({ status: r.status, location: r.headers.get("location"), text: await r.text() }))
        )
        const where = `${request.path} ${JSON.stringify(request)}: ${response.status} ${response.text.slice(0, 200)}`
        assert.notInclude(response.text, "access_token", where)
        if (request.path === "/oauth/device/code" && response.status === 200) {
          // a client that may start a device login (public, or its secret given) gets a code, nothing more
          decode(DeviceAnswer, response.text)
        } else if (request.path.startsWith("/oauth/")) {
          assert.include([400, 401], response.status, where)
          assert.isString(JSON.parse(response.text).error, where)
        } else if (request.path === "/activate") {
          assert.strictEqual(response.status, 200, where)
          assert.notInclude(response.text, `id="done"`, where)
        } else {
          assert.include([200, 302, 400], response.status, where)
          if (response.status === 302) {
            const location = new URL(response.location ?? "")
            assert.strictEqual(`${location.origin}${location.pathname}`, redirectUri, where)
            assert.isNull(location.searchParams.get("code"), where)
            assert.isString(location.searchParams.get("error"), where)
          }
        }
      }),
    { fastCheck: { numRuns: 300 } }
  )
})
