import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import * as AnaplanAuthServer from "../src/AnaplanAuthServer.js"
import * as TestCertificates from "../src/TestCertificates.js"
import { Certificates, certificatesLayer } from "./support/emulator.js"

// ---------------------------------------------------------------------------------------------
// Expected shapes (excess properties are errors: these pin the wire format)

const TokenAnswer = Schema.Struct({
  meta: Schema.Struct({ validationUrl: Schema.String }),
  status: Schema.Literal("SUCCESS"),
  statusMessage: Schema.String,
  tokenInfo: Schema.Struct({
    expiresAt: Schema.Number,
    tokenId: Schema.UUID,
    tokenValue: Schema.NonEmptyString,
    refreshTokenId: Schema.UUID
  })
})
const AuthFailure = Schema.Struct({ status: Schema.Literal("FAILURE_BAD_CREDENTIAL"), statusMessage: Schema.String })
const BadHeader = Schema.Struct({ status: Schema.Literal("FAILURE_BAD_HEADER"), statusMessage: Schema.String })
/** Nested (setikites/anaplan-openapi, authentication/README.md, "GET /token/validate"). */
const ValidateAnswer = Schema.Struct({
  meta: Schema.Struct({ validationUrl: Schema.String }),
  status: Schema.Literal("SUCCESS"),
  statusMessage: Schema.Literal("Token validated"),
  tokenInfo: Schema.Struct({ expiresAt: Schema.Number, tokenId: Schema.UUID, refreshTokenId: Schema.UUID }),
  userInfo: Schema.Struct({ userGuid: Schema.String, userId: Schema.String, customerGuid: Schema.String })
})
const UsersMeAnswer = Schema.Struct({
  meta: Schema.Struct({ schema: Schema.String }),
  status: Schema.Struct({ code: Schema.Literal(200), message: Schema.Literal("Success") }),
  user: Schema.Struct({
    id: Schema.String,
    active: Schema.Boolean,
    email: Schema.String,
    emailOptIn: Schema.Boolean,
    firstName: Schema.String,
    lastName: Schema.String,
    customerId: Schema.String,
    lastLoginDate: Schema.String
  })
})
const ApiFailure = Schema.Struct({ status: Schema.Struct({ code: Schema.Number, message: Schema.String }) })

const decode = <A, I>(schema: Schema.Schema<A, I>, text: string): A =>
  Schema.decodeUnknownSync(Schema.parseJson(schema))(text, { onExcessProperty: "error" })

// ---------------------------------------------------------------------------------------------
// HTTP

interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
}

const call = (
  method: "GET" | "POST" | "PUT" | "DELETE",
  url: string,
  authorization?: string,
  body?: unknown
): Effect.Effect<Answer, unknown, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    let request = HttpClientRequest.make(method)(url)
    if (authorization !== undefined) request = HttpClientRequest.setHeader(request, "authorization", authorization)
    if (body !== undefined) {
      request = HttpClientRequest.bodyText(request, typeof body === "string" ? body : JSON.stringify(body), "application/json")
    }
    const response = yield* HttpClient.execute(request)
    return { status: response.status, headers: response.headers, text: yield* response.text }
  })

const basic = (email: string, password: string) => `Basic ${Buffer.from(`${email}:${password}`).toString("base64")}`
const anaplanToken = (token: string) => `AnaplanAuthToken ${token}`
const demo = basic("demo@example.com", "demo-password")

const login = (url: string, authorization = demo) =>
  Effect.gen(function*() {
    const answer = yield* call("POST", `${url}/token/authenticate`, authorization)
    assert.strictEqual(answer.status, 201, answer.text)
    return decode(TokenAnswer, answer.text).tokenInfo
  })

/** Waits, in real time, until the server has seen `count` requests to `endpoint`. */
const untilCounted = (
  server: AnaplanAuthServer.AnaplanAuthServer.Service,
  endpoint: keyof AnaplanAuthServer.Counters,
  count: number
) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      if ((yield* server.counters)[endpoint] >= count) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }
    assert.fail(`the server never saw ${count} ${endpoint} requests`)
  })

const withServer = <A, E>(
  f: (server: AnaplanAuthServer.AnaplanAuthServer.Service) => Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>,
  options?: AnaplanAuthServer.Options
) =>
  Effect.flatMap(AnaplanAuthServer.make(options), f).pipe(Effect.provide(NodeHttpClient.layerUndici))

const lifetime = Duration.toMillis(Duration.minutes(35))

describe("AnaplanAuthServer", () => {
  describe("basic login", () => {
    it.scoped("answers 201 with Anaplan's token shape, expiry from the Clock", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(1_000)
          const answer = yield* call("POST", `${server.url}/token/authenticate`, demo)
          assert.strictEqual(answer.status, 201)
          assert.include(answer.headers["content-type"], "application/json")
          const body = decode(TokenAnswer, answer.text)
          assert.strictEqual(body.statusMessage, "Login successful")
          assert.strictEqual(body.meta.validationUrl, `${server.url}/token/validate`)
          assert.strictEqual(body.tokenInfo.expiresAt, 1_000 + lifetime)
          assert.notStrictEqual(body.tokenInfo.tokenId, body.tokenInfo.refreshTokenId)
          assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
          // every login is a new token
          const again = yield* login(server.url)
          assert.notStrictEqual(again.tokenValue, body.tokenInfo.tokenValue)
          assert.strictEqual(yield* server.activeTokens, 2)
        })
      ))

    it.scoped("matches the email case-insensitively, the password exactly", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* login(server.url, basic("DEMO@Example.COM", "demo-password"))
          const wrongCase = yield* call("POST", `${server.url}/token/authenticate`, basic("demo@example.com", "DEMO-PASSWORD"))
          assert.strictEqual(wrongCase.status, 401)
        })
      ))

    it.scoped("wrong password, unknown user, certificate-only user: 401 FAILURE_BAD_CREDENTIAL", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* server.addUser({ email: "robot@example.com" })
          for (
            const authorization of [
              basic("demo@example.com", "wrong"),
              basic("nobody@example.com", "demo-password"),
              basic("robot@example.com", ""),
              basic("demo@example.com", "")
            ]
          ) {
            const answer = yield* call("POST", `${server.url}/token/authenticate`, authorization)
            assert.strictEqual(answer.status, 401)
            const body = decode(AuthFailure, answer.text)
            assert.notInclude(body.statusMessage, "demo-password")
          }
          assert.strictEqual(yield* server.activeTokens, 0)
        })
      ))

    it.scoped("addUser adds users and replaces a user's password", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* server.addUser({ email: "ann@example.com", password: "first", firstName: "Ann", lastName: "Lee", id: "a".repeat(32) })
          const token = yield* login(server.url, basic("ann@example.com", "first"))
          const me = yield* call("GET", `${server.url}/2/0/users/me`, anaplanToken(token.tokenValue))
          const user = decode(UsersMeAnswer, me.text).user
          assert.deepStrictEqual([user.id, user.firstName, user.lastName, user.email], ["a".repeat(32), "Ann", "Lee", "ann@example.com"])
          yield* server.addUser({ email: "Ann@example.com", password: "second" })
          assert.strictEqual((yield* call("POST", `${server.url}/token/authenticate`, basic("ann@example.com", "first"))).status, 401)
          yield* login(server.url, basic("ann@example.com", "second"))
        })
      ))

    it.scoped("`users` replaces the demo user", () =>
      withServer(
        (server) =>
          Effect.gen(function*() {
            assert.strictEqual((yield* call("POST", `${server.url}/token/authenticate`, demo)).status, 401)
            yield* login(server.url, basic("only@example.com", "pw"))
          }),
        { users: [{ email: "only@example.com", password: "pw" }] }
      ))
  })

  describe("tokens", () => {
    it.scoped("refresh extends the token: 200, the same tokenValue and refreshTokenId, a later expiresAt; it keeps working", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const first = yield* login(server.url)
          yield* TestClock.adjust(Duration.minutes(30))
          const answer = yield* call("POST", `${server.url}/token/refresh`, anaplanToken(first.tokenValue))
          // setikites/anaplan-openapi authentication/README.md: "Returns 200 OK", "Returns the same token value"
          assert.strictEqual(answer.status, 200)
          const body = decode(TokenAnswer, answer.text)
          assert.strictEqual(body.statusMessage, "Token refreshed")
          assert.strictEqual(body.tokenInfo.tokenValue, first.tokenValue)
          assert.strictEqual(body.tokenInfo.refreshTokenId, first.refreshTokenId)
          assert.strictEqual(body.tokenInfo.expiresAt, Duration.toMillis(Duration.minutes(30)) + lifetime)
          // past the first expiry, the token still works: it was extended
          yield* TestClock.adjust(Duration.minutes(10))
          for (const [method, path] of [["GET", "/2/0/users/me"], ["GET", "/token/validate"]] as const) {
            assert.strictEqual((yield* call(method, `${server.url}${path}`, anaplanToken(first.tokenValue))).status, 200, path)
          }
          assert.strictEqual(yield* server.activeTokens, 1)
        })
      ))

    it.scoped("rotateOnRefresh (not Anaplan's behaviour): 201, a new token, the old one stops working at once", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const first = yield* login(server.url)
          yield* TestClock.adjust(Duration.minutes(30))
          const answer = yield* call("POST", `${server.url}/token/refresh`, anaplanToken(first.tokenValue))
          assert.strictEqual(answer.status, 201)
          const body = decode(TokenAnswer, answer.text)
          assert.strictEqual(body.statusMessage, "Token refreshed")
          assert.notStrictEqual(body.tokenInfo.tokenValue, first.tokenValue)
          assert.strictEqual(body.tokenInfo.expiresAt, Duration.toMillis(Duration.minutes(30)) + lifetime)
          for (const [method, path] of [["GET", "/2/0/users/me"], ["GET", "/token/validate"], ["POST", "/token/refresh"]] as const) {
            assert.strictEqual((yield* call(method, `${server.url}${path}`, anaplanToken(first.tokenValue))).status, 401, path)
          }
          const me = yield* call("GET", `${server.url}/2/0/users/me`, anaplanToken(body.tokenInfo.tokenValue))
          assert.strictEqual(me.status, 200)
          assert.strictEqual(yield* server.activeTokens, 1)
        }), { rotateOnRefresh: true }
      ))

    it.scoped("logout answers 204 and revokes the token", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const token = yield* login(server.url)
          const other = yield* login(server.url)
          const answer = yield* call("POST", `${server.url}/token/logout`, anaplanToken(token.tokenValue))
          assert.strictEqual(answer.status, 204)
          assert.strictEqual(answer.text, "")
          assert.strictEqual((yield* call("GET", `${server.url}/token/validate`, anaplanToken(token.tokenValue))).status, 401)
          assert.strictEqual((yield* call("POST", `${server.url}/token/logout`, anaplanToken(token.tokenValue))).status, 401)
          assert.strictEqual((yield* call("POST", `${server.url}/token/refresh`, anaplanToken(token.tokenValue))).status, 401)
          // other sessions are untouched
          assert.strictEqual((yield* call("GET", `${server.url}/token/validate`, anaplanToken(other.tokenValue))).status, 200)
          assert.strictEqual(yield* server.activeTokens, 1)
        })
      ))

    it.scoped("validate answers 200 with the token's and user's facts", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const token = yield* login(server.url)
          const answer = yield* call("GET", `${server.url}/token/validate`, anaplanToken(token.tokenValue))
          assert.strictEqual(answer.status, 200)
          const body = decode(ValidateAnswer, answer.text)
          assert.strictEqual(body.tokenInfo.expiresAt, token.expiresAt)
          assert.strictEqual(body.tokenInfo.tokenId, token.tokenId)
          assert.strictEqual(body.userInfo.userId, "demo@example.com")
          assert.match(body.userInfo.userGuid, /^[0-9a-f]{32}$/)
          const unknown = yield* call("GET", `${server.url}/token/validate`, anaplanToken("not-a-token"))
          assert.strictEqual(unknown.status, 401)
          decode(AuthFailure, unknown.text)
        })
      ))

    it.scoped("users/me answers the integration API's user object", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(Date.UTC(2024, 0, 2, 3, 4, 5))
          const token = yield* login(server.url)
          yield* TestClock.adjust(Duration.minutes(10))
          const answer = yield* call("GET", `${server.url}/2/0/users/me`, anaplanToken(token.tokenValue))
          assert.strictEqual(answer.status, 200)
          const body = decode(UsersMeAnswer, answer.text)
          assert.strictEqual(body.meta.schema, `${server.url}/2/0/objects/user`)
          assert.strictEqual(body.user.email, "demo@example.com")
          assert.strictEqual(body.user.active, true)
          assert.deepStrictEqual([body.user.firstName, body.user.lastName], ["Demo", "User"])
          assert.strictEqual(body.user.lastLoginDate, "2024-01-02T03:04:05.000+0000")
          const validate = decode(ValidateAnswer, (yield* call("GET", `${server.url}/token/validate`, anaplanToken(token.tokenValue))).text)
          assert.strictEqual(validate.userInfo.userGuid, body.user.id)
          assert.strictEqual(validate.userInfo.customerGuid, body.user.customerId)
          for (const authorization of [undefined, anaplanToken("nope"), demo]) {
            const failed = yield* call("GET", `${server.url}/2/0/users/me`, authorization)
            assert.strictEqual(failed.status, 401)
            assert.deepStrictEqual(decode(ApiFailure, failed.text).status, { code: 401, message: "Unauthorized" })
          }
        })
      ))

    it.scoped("tokens expire by the Clock: valid up to expiresAt, 401 from then on", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const token = yield* login(server.url)
          yield* TestClock.adjust(Duration.millis(lifetime - 1))
          assert.strictEqual((yield* call("GET", `${server.url}/2/0/users/me`, anaplanToken(token.tokenValue))).status, 200)
          assert.strictEqual(yield* server.activeTokens, 1)
          yield* TestClock.adjust(Duration.millis(1))
          assert.strictEqual(yield* server.activeTokens, 0)
          assert.strictEqual((yield* call("GET", `${server.url}/2/0/users/me`, anaplanToken(token.tokenValue))).status, 401)
          assert.strictEqual((yield* call("POST", `${server.url}/token/refresh`, anaplanToken(token.tokenValue))).status, 401)
        })
      ))

    it.scoped("the token lifetime is configurable, up front and while running", () =>
      withServer(
        (server) =>
          Effect.gen(function*() {
            assert.strictEqual((yield* login(server.url)).expiresAt, 60_000)
            yield* server.setTokenLifetime("2 minutes")
            const token = yield* login(server.url)
            assert.strictEqual(token.expiresAt, 120_000)
            yield* TestClock.adjust(Duration.minutes(1))
            assert.strictEqual(yield* server.activeTokens, 1)
            const refreshed = decode(
              TokenAnswer,
              (yield* call("POST", `${server.url}/token/refresh`, anaplanToken(token.tokenValue))).text
            )
            assert.strictEqual(refreshed.tokenInfo.expiresAt, 60_000 + 120_000)
          }),
        { tokenLifetime: "1 minute" }
      ))

    it.scoped("expireAllTokens makes every issued token fail with 401", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const tokens = [yield* login(server.url), yield* login(server.url)]
          yield* server.expireAllTokens
          assert.strictEqual(yield* server.activeTokens, 0)
          for (const token of tokens) {
            assert.strictEqual((yield* call("GET", `${server.url}/2/0/users/me`, anaplanToken(token.tokenValue))).status, 401)
          }
          // a new login works
          const fresh = yield* login(server.url)
          assert.strictEqual((yield* call("GET", `${server.url}/2/0/users/me`, anaplanToken(fresh.tokenValue))).status, 200)
        })
      ))
  })

  describe("requests", () => {
    it.scoped("malformed Authorization headers get 400 FAILURE_BAD_HEADER from /token/*, wrong ones 401; never a 5xx", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const token = yield* login(server.url)
          const malformed = [
            undefined,
            "",
            "Basic",
            "Basic ",
            "Basic !!!not-base64!!!",
            `Basic ${Buffer.from("no-colon").toString("base64")}`,
            `Basic ${Buffer.from("demo@example.com:demo-password").toString("base64").slice(1)}`,
            "Bearer abc",
            "AnaplanAuthToken",
            `AnaplanAuthToken ${token.tokenValue} extra`,
            `AnaplanAuthToken${token.tokenValue}`,
            "CACertificate",
            "CACertificate %%%",
            `CACertificate ${Buffer.from("not a certificate").toString("base64")}`,
            `CACertificate ${
              Buffer.from("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").toString("base64")
            }`,
            `Basic ${"A".repeat(6000)}`,
            "\u00e9\u00e8"
          ]
          const endpoints = [
            ["POST", "/token/authenticate"],
            ["POST", "/token/refresh"],
            ["POST", "/token/logout"],
            ["GET", "/token/validate"],
            ["GET", "/2/0/users/me"]
          ] as const
          // not `<scheme> <credentials>` at all: 400 from every /token/* endpoint
          const notAHeader = new Set<string | undefined>([
            "",
            "Basic",
            "Basic ",
            "AnaplanAuthToken",
            `AnaplanAuthToken ${token.tokenValue} extra`,
            `AnaplanAuthToken${token.tokenValue}`,
            "CACertificate",
            "\u00e9\u00e8"
          ])
          // credentials that are not what the login scheme needs (base64 of email:password, of a certificate)
          const badCredentials = new Set<string | undefined>([
            "Basic !!!not-base64!!!",
            `Basic ${Buffer.from("no-colon").toString("base64")}`,
            `Basic ${Buffer.from("demo@example.com:demo-password").toString("base64").slice(1)}`,
            "CACertificate %%%",
            `Basic ${"A".repeat(6000)}`
          ])
          for (const [method, path] of endpoints) {
            for (const authorization of malformed) {
              const answer = yield* call(method, `${server.url}${path}`, authorization, method === "POST" ? "{}" : undefined)
              const label = `${method} ${path} with ${JSON.stringify(authorization?.slice(0, 40))}`
              // ANAPLAN.md "Failures": a malformed Authorization header may answer 400; the integration API says 401
              const expected = path.startsWith("/token/") &&
                  (notAHeader.has(authorization) || (path === "/token/authenticate" && badCredentials.has(authorization)))
                ? 400
                : 401
              assert.strictEqual(answer.status, expected, label)
              if (expected === 400) decode(BadHeader, answer.text)
              else if (path.startsWith("/token/")) decode(AuthFailure, answer.text)
            }
          }
          // the genuine token still works: nothing above disturbed it
          assert.strictEqual((yield* call("GET", `${server.url}/2/0/users/me`, anaplanToken(token.tokenValue))).status, 200)
          // the Authorization scheme is case-insensitive (RFC 9110 section 11.1)
          assert.strictEqual((yield* call("GET", `${server.url}/2/0/users/me`, `anaplanauthtoken ${token.tokenValue}`)).status, 200)
        })
      ))

    it.scoped("unknown paths answer 404, wrong methods 405 with Allow", () =>
      withServer((server) =>
        Effect.gen(function*() {
          assert.strictEqual((yield* call("GET", `${server.url}/nope`)).status, 404)
          assert.strictEqual((yield* call("GET", `${server.url}/2/0/users/me/extra`)).status, 404)
          const wrong = yield* call("GET", `${server.url}/token/authenticate`, demo)
          assert.strictEqual(wrong.status, 405)
          assert.strictEqual(wrong.headers["allow"], "POST")
          const put = yield* call("PUT", `${server.url}/2/0/users/me`)
          assert.strictEqual(put.status, 405)
          assert.strictEqual(put.headers["allow"], "GET")
          // the query string is not part of the path
          assert.strictEqual((yield* call("POST", `${server.url}/token/authenticate?x=1`, demo)).status, 201)
        })
      ))

    it.scoped("serve: the emulator on an HttpServer the caller owns, its URL from the server's address", () =>
      Effect.gen(function*() {
        const server = yield* NodeHttpServer.make(() => createServer(), { port: 0, host: "127.0.0.1" })
        const emulator = yield* Effect.provideService(
          AnaplanAuthServer.serve({ protocol: "http" }),
          HttpServer.HttpServer,
          server
        )
        assert.strictEqual(emulator.url, HttpServer.formatAddress(server.address))
        const token = yield* login(emulator.url)
        assert.strictEqual((yield* call("GET", `${emulator.url}/2/0/users/me`, anaplanToken(token.tokenValue))).status, 200)
        assert.strictEqual((yield* emulator.counters).authenticate, 1)
        assert.strictEqual((yield* call("GET", `${emulator.url}/nope`)).status, 404)
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

    it.scoped("counters count requests per endpoint, successful or not, until reset", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const token = yield* login(server.url)
          yield* call("POST", `${server.url}/token/authenticate`, basic("demo@example.com", "wrong"))
          yield* call("GET", `${server.url}/token/validate`, anaplanToken(token.tokenValue))
          yield* call("GET", `${server.url}/2/0/users/me`, anaplanToken(token.tokenValue))
          yield* call("GET", `${server.url}/2/0/users/me`, anaplanToken("bad"))
          yield* server.injectFault(AnaplanAuthServer.Fault.status(500))
          yield* call("GET", `${server.url}/2/0/users/me`, anaplanToken(token.tokenValue))
          const refreshed = decode(TokenAnswer, (yield* call("POST", `${server.url}/token/refresh`, anaplanToken(token.tokenValue))).text)
          yield* call("POST", `${server.url}/token/logout`, anaplanToken(refreshed.tokenInfo.tokenValue))
          yield* call("GET", `${server.url}/elsewhere`)
          yield* call("GET", `${server.url}/token/refresh`)
          assert.deepStrictEqual(yield* server.counters, {
            authenticate: 2,
            refresh: 1,
            logout: 1,
            validate: 1,
            usersMe: 3,
            prelogin: 0,
            oauthToken: 0,
            deviceCode: 0,
            activate: 0,
            users: 0
          })
          yield* server.resetCounters
          assert.deepStrictEqual(yield* server.counters, {
            authenticate: 0,
            refresh: 0,
            logout: 0,
            validate: 0,
            usersMe: 0,
            prelogin: 0,
            oauthToken: 0,
            deviceCode: 0,
            activate: 0,
            users: 0
          })
          yield* login(server.url)
          assert.strictEqual((yield* server.counters).authenticate, 1)
        })
      ))
  })

  describe("faults", () => {
    it.scoped("Status answers the status (with Retry-After) for the next `times` requests to any path", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* server.injectFault(AnaplanAuthServer.Fault.status(503, { retryAfter: "7" }), 2)
          const first = yield* call("POST", `${server.url}/token/authenticate`, demo)
          assert.strictEqual(first.status, 503)
          assert.strictEqual(first.headers["retry-after"], "7")
          const second = yield* call("GET", `${server.url}/anything`)
          assert.strictEqual(second.status, 503)
          yield* login(server.url)
          yield* server.injectFault({ _tag: "Status", status: 429 })
          const limited = yield* call("POST", `${server.url}/token/authenticate`, demo)
          assert.strictEqual(limited.status, 429)
          assert.isUndefined(limited.headers["retry-after"])
          // faulted logins issue no token
          assert.strictEqual(yield* server.activeTokens, 1)
        })
      ))

    it.scoped("faults queue up in order", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* server.injectFault(AnaplanAuthServer.Fault.status(500))
          yield* server.injectFault(AnaplanAuthServer.Fault.body("<html>maintenance</html>", { contentType: "text/html" }))
          const statuses = []
          for (let i = 0; i < 3; i++) statuses.push((yield* call("POST", `${server.url}/token/authenticate`, demo)).status)
          assert.deepStrictEqual(statuses, [500, 201, 201])
        })
      ))

    it.scoped("Body answers the given text, by default with the endpoint's success status", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* server.injectFault(AnaplanAuthServer.Fault.body(`{"tokenInfo":{"expiresAt":"soon"}}`))
          const malformed = yield* call("POST", `${server.url}/token/authenticate`, demo)
          assert.strictEqual(malformed.status, 201)
          assert.strictEqual(malformed.text, `{"tokenInfo":{"expiresAt":"soon"}}`)
          assert.include(malformed.headers["content-type"], "application/json")
          yield* server.injectFault(AnaplanAuthServer.Fault.body("<html>Bad gateway</html>", { status: 502, contentType: "text/html" }))
          const html = yield* call("GET", `${server.url}/2/0/users/me`)
          assert.strictEqual(html.status, 502)
          assert.include(html.headers["content-type"], "text/html")
          assert.strictEqual(html.text, "<html>Bad gateway</html>")
          yield* server.injectFault(AnaplanAuthServer.Fault.body(`{"status":"SUCC`))
          const truncated = yield* call("GET", `${server.url}/token/validate`)
          assert.deepStrictEqual([truncated.status, truncated.text], [200, `{"status":"SUCC`])
        })
      ))

    it.scoped("Delay answers normally after the delay, measured by the Clock", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* server.injectFault(AnaplanAuthServer.Fault.delay("10 seconds"))
          const fiber = yield* Effect.fork(call("POST", `${server.url}/token/authenticate`, demo))
          yield* untilCounted(server, "authenticate", 1)
          yield* TestClock.adjust(Duration.seconds(9))
          assert.isNull(yield* Fiber.poll(fiber).pipe(Effect.map((option) => option._tag === "Some" ? option.value : null)))
          yield* TestClock.adjust(Duration.seconds(1))
          const answer = yield* Fiber.join(fiber)
          assert.strictEqual(answer.status, 201)
          // the token was issued at the time of the answer
          assert.strictEqual(decode(TokenAnswer, answer.text).tokenInfo.expiresAt, 10_000 + lifetime)
        })
      ))

    it.live("Hang accepts the request and never answers; the server still closes", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const server = yield* AnaplanAuthServer.make().pipe(Scope.extend(scope))
        yield* server.injectFault(AnaplanAuthServer.Fault.hang())
        const hung = yield* call("POST", `${server.url}/token/authenticate`, demo).pipe(
          Effect.timeout("300 millis"),
          Effect.exit
        )
        assert.isTrue(Exit.isFailure(hung))
        assert.strictEqual((yield* server.counters).authenticate, 1)
        // only that request hung
        yield* login(server.url)
        // a request left hanging does not keep the server open
        yield* server.injectFault(AnaplanAuthServer.Fault.hang())
        const pending = yield* Effect.fork(call("GET", `${server.url}/2/0/users/me`))
        yield* untilCounted(server, "usersMe", 1)
        yield* Scope.close(scope, Exit.void).pipe(Effect.timeout("5 seconds"))
        assert.isTrue(Exit.isFailure(yield* Fiber.await(pending)))
        const after = yield* call("POST", `${server.url}/token/authenticate`, demo).pipe(Effect.exit)
        assert.isTrue(Exit.isFailure(after))
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
  })
})

// ---------------------------------------------------------------------------------------------
// Certificates

const CertificatesLive = certificatesLayer("effect-auth-emulator-")

const pemHeader = (certPath: string) => `CACertificate ${readFileSync(certPath).toString("base64")}`

const signedBody = (keyPath: string, data: Buffer = randomBytes(150), passphrase?: string) => ({
  encodedData: data.toString("base64"),
  encodedSignedData: sign("sha512", data, createPrivateKey({ key: readFileSync(keyPath), passphrase })).toString("base64")
})

const certificateLogin = (url: string, certPath: string, body: unknown) =>
  call("POST", `${url}/token/authenticate`, pemHeader(certPath), body)

layer(Layer.merge(CertificatesLive, NodeHttpClient.layerUndici), { timeout: "60 seconds" })("certificate login", (it) => {
  const withCaServer = <A, E>(
    f: (
      server: AnaplanAuthServer.AnaplanAuthServer.Service,
      certs: TestCertificates.TestCertificates
    ) => Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>,
    options?: AnaplanAuthServer.Options
  ) =>
    Effect.gen(function*() {
      const certs = yield* Certificates
      // certificate validity is judged by the Clock; the TestClock starts at 1970
      yield* TestClock.setTime(Date.now())
      const server = yield* AnaplanAuthServer.make({ trustedCaPem: certs.caPem, ...options })
      return yield* f(server, certs)
    })

  it.scoped("accepts a CA-issued certificate with a fresh signed payload of 100 bytes or more", () =>
    withCaServer((server, certs) =>
      Effect.gen(function*() {
        for (const size of [100, 150, 512]) {
          const answer = yield* certificateLogin(server.url, certs.clientCertPath, signedBody(certs.clientKeyPath, randomBytes(size)))
          assert.strictEqual(answer.status, 201, answer.text)
          const token = decode(TokenAnswer, answer.text).tokenInfo
          const me = decode(UsersMeAnswer, (yield* call("GET", `${server.url}/2/0/users/me`, anaplanToken(token.tokenValue))).text)
          assert.strictEqual(me.user.email, "demo@example.com")
        }
        // the encrypted key is the same key
        const encrypted = signedBody(certs.clientEncryptedKeyPath, randomBytes(150), Redacted.value(certs.passphrase))
        assert.strictEqual((yield* certificateLogin(server.url, certs.clientCertPath, encrypted)).status, 201)
      })
    ))

  it.scoped("accepts the header as the base64 of the DER certificate too (MII..., as Anaplan's own examples show it)", () =>
    withCaServer((server, certs) =>
      Effect.gen(function*() {
        const der = new X509Certificate(readFileSync(certs.clientCertPath)).raw.toString("base64")
        assert.match(der, /^MII/)
        const answer = yield* call("POST", `${server.url}/token/authenticate`, `CACertificate ${der}`, signedBody(certs.clientKeyPath))
        assert.strictEqual(answer.status, 201, answer.text)
        decode(TokenAnswer, answer.text)
      })
    ))

  it.scoped("accepts encodedDataFormat v2 with a current timestamp, rejects a stale one", () =>
    withCaServer((server, certs) =>
      Effect.gen(function*() {
        const v2 = (seconds: number) => {
          const data = Buffer.concat([Buffer.alloc(8), randomBytes(150)])
          data.writeBigUInt64BE(BigInt(seconds), 0)
          return { encodedDataFormat: "v2", ...signedBody(certs.clientKeyPath, data) }
        }
        const now = Math.floor(Date.now() / 1000)
        assert.strictEqual((yield* certificateLogin(server.url, certs.clientCertPath, v2(now))).status, 201)
        assert.strictEqual((yield* certificateLogin(server.url, certs.clientCertPath, v2(now - 3600))).status, 401)
        const unknown = { encodedDataFormat: "v9", ...signedBody(certs.clientKeyPath) }
        assert.strictEqual((yield* certificateLogin(server.url, certs.clientCertPath, unknown)).status, 401)
      })
    ))

  it.scoped("rejects each broken login with 401 and issues no token", () =>
    withCaServer((server, certs) =>
      Effect.gen(function*() {
        const data = randomBytes(150)
        const good = signedBody(certs.clientKeyPath, data)
        const cases: ReadonlyArray<readonly [string, string, unknown]> = [
          ["untrusted issuer", certs.untrustedCertPath, signedBody(certs.untrustedKeyPath)],
          ["expired", certs.expiredCertPath, signedBody(certs.clientKeyPath)],
          ["the CA's own certificate", certs.caCertPath, signedBody(certs.caKeyPath)],
          ["signed by another key", certs.clientCertPath, signedBody(certs.otherKeyPath)],
          ["data changed after signing", certs.clientCertPath, { ...good, encodedData: randomBytes(150).toString("base64") }],
          ["SHA-256 instead of SHA-512", certs.clientCertPath, {
            encodedData: data.toString("base64"),
            encodedSignedData: sign("sha256", data, createPrivateKey(readFileSync(certs.clientKeyPath))).toString("base64")
          }],
          ["99 bytes", certs.clientCertPath, signedBody(certs.clientKeyPath, randomBytes(99))],
          ["no body", certs.clientCertPath, undefined],
          ["not JSON", certs.clientCertPath, "encodedData="],
          ["JSON null", certs.clientCertPath, "null"],
          ["missing signature", certs.clientCertPath, { encodedData: good.encodedData }],
          ["non-base64 data", certs.clientCertPath, { ...good, encodedData: "***" }]
        ]
        for (const [name, certPath, body] of cases) {
          const answer = yield* certificateLogin(server.url, certPath, body)
          assert.strictEqual(answer.status, 401, name)
          decode(AuthFailure, answer.text)
        }
        assert.strictEqual(yield* server.activeTokens, 0)
        // the untampered payload still works once...
        assert.strictEqual((yield* certificateLogin(server.url, certs.clientCertPath, good)).status, 201)
        // ...and only once: a replay is rejected
        const replay = yield* certificateLogin(server.url, certs.clientCertPath, good)
        assert.strictEqual(replay.status, 401)
        assert.include(decode(AuthFailure, replay.text).statusMessage, "already used")
      })
    ))

  it.scoped("judges validity by the Clock: the expired certificate was good in 2020, the current one was not", () =>
    withCaServer((server, certs) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.UTC(2020, 5, 1))
        assert.strictEqual((yield* certificateLogin(server.url, certs.expiredCertPath, signedBody(certs.clientKeyPath))).status, 201)
        const early = yield* certificateLogin(server.url, certs.clientCertPath, signedBody(certs.clientKeyPath))
        assert.strictEqual(early.status, 401)
        assert.include(decode(AuthFailure, early.text).statusMessage, "not yet valid")
      })
    ))

  it.scoped("finds the user by the certificate's email; an unknown user is rejected", () =>
    withCaServer(
      (server, certs) =>
        Effect.gen(function*() {
          assert.strictEqual((yield* certificateLogin(server.url, certs.clientCertPath, signedBody(certs.clientKeyPath))).status, 401)
          yield* server.addUser({ email: "demo@example.com" })
          assert.strictEqual((yield* certificateLogin(server.url, certs.clientCertPath, signedBody(certs.clientKeyPath))).status, 201)
        }),
      { users: [{ email: "someone@example.com", password: "x" }] }
    ))

  it.scoped("without a trusted CA every certificate is rejected", () =>
    Effect.gen(function*() {
      const certs = yield* Certificates
      yield* TestClock.setTime(Date.now())
      const server = yield* AnaplanAuthServer.make()
      assert.strictEqual((yield* certificateLogin(server.url, certs.clientCertPath, signedBody(certs.clientKeyPath))).status, 401)
    }))
})
