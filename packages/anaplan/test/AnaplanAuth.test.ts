import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as RefreshPolicy from "@effect-auth/core/RefreshPolicy"
import * as Testing from "@effect-auth/core/Testing"
import type * as Token from "@effect-auth/core/Token"
import * as TokenSourceModule from "@effect-auth/core/TokenSource"
import { TokenSource } from "@effect-auth/core/TokenSource"
import { assert, describe, it, layer } from "@effect/vitest"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import { readFileSync } from "node:fs"
import * as AnaplanAuth from "../src/AnaplanAuth.js"
import * as AnaplanAuthServer from "../src/AnaplanAuthServer.js"
import * as AnaplanClient from "../src/AnaplanClient.js"
import * as TestCertificates from "../src/TestCertificates.js"
import { Certificates, certificatesLayer, eventually } from "./support/emulator.js"

type Server = AnaplanAuthServer.AnaplanAuthServer.Service

const demo = AnaplanAuthServer.demoUser
const password = Redacted.make(demo.password!)
const lifetime = Duration.toMillis(Duration.minutes(35))
// No jitter, and transient failures retried at once, so that timings are exact under TestClock.
// a 20 % margin share, which these timings were written for (the default is 5 %)
const policy = RefreshPolicy.make({ jitter: Duration.zero, retryBase: Duration.zero, marginRatio: 0.2 })

const withServer = <A, E>(
  f: (server: Server) => Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>,
  options?: AnaplanAuthServer.Options
) => Effect.flatMap(AnaplanAuthServer.make(options), f).pipe(Effect.provide(NodeHttpClient.layerUndici))

/** Builds a layer in the current scope and returns its `TokenSource`. */
const sourceOf = <E>(layer: Layer.Layer<TokenSource, E, HttpClient.HttpClient>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, TokenSource))

const basicLayer = (server: Server, options?: Partial<AnaplanAuth.BasicOptions>) =>
  AnaplanAuth.layerBasic({
    email: demo.email,
    password,
    authUrl: server.url,
    tokenSource: { policy },
    ...options
  })

const value = (token: Token.Token) => Redacted.value(token.accessToken)

describe("AnaplanAuth", () => {
  describe("basic", () => {
    it.scoped("logs in once; the token is an AnaplanAuthToken expiring when Anaplan says", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(1_000)
          const source = yield* sourceOf(basicLayer(server))
          const token = yield* source.get
          assert.strictEqual(token.tokenType, "AnaplanAuthToken")
          assert.strictEqual(token.expiresAtMillis, 1_000 + lifetime)
          assert.strictEqual(DateTime.toEpochMillis(token.issuedAt), 1_000)
          assert.isTrue(Redacted.value(token.authorizationHeader).startsWith("AnaplanAuthToken "))
          assert.strictEqual(source.name, "anaplan-basic")
          assert.strictEqual(source.site, "anaplan")
          yield* TestClock.adjust(Duration.minutes(10))
          assert.strictEqual(yield* source.get, token)
          assert.strictEqual((yield* server.counters).authenticate, 1)
          // the token is the emulator's: it validates
          const validation = yield* AnaplanAuth.validate(token, { authUrl: server.url })
          assert.strictEqual(validation.email, demo.email)
        })
      ))

    it.scoped("a wrong password or unknown user is InvalidCredentials that points at password expiry and certificates", () =>
      withServer((server) =>
        Effect.gen(function*() {
          for (const [email, secret] of [[demo.email, "wrong-password"], ["nobody@example.com", demo.password!]]) {
            const strategy = yield* AnaplanAuth.basic({ email, password: Redacted.make(secret), authUrl: server.url })
            const error = yield* Effect.flip(strategy.acquire)
            assert.strictEqual(error._tag, "InvalidCredentials")
            assert.include(error.message, "[anaplan]")
            assert.include(error.message, email)
            assert.include(error.message, "30 to 90 days")
            assert.include(error.message, "may have expired")
            assert.include(error.message, "Certificate authentication")
            assert.notInclude(error.message, secret)
          }
          assert.strictEqual((yield* server.counters).authenticate, 2)
          assert.strictEqual(yield* server.activeTokens, 0)
        })
      ))

    it.scoped("refreshes ahead of expiry through /token/refresh, without a new login", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const source = yield* sourceOf(basicLayer(server))
          const first = yield* source.get
          // margin = min(5 min, 20 % of 35 min) = 5 min: due 30 minutes after issue
          yield* TestClock.adjust(Duration.minutes(30).pipe(Duration.subtract(Duration.seconds(1))))
          assert.strictEqual((yield* server.counters).refresh, 0)
          yield* TestClock.adjust(Duration.seconds(1))
          yield* eventually(
            Effect.map(source.current, (held) => Option.exists(held, (token) => token.expiresAtMillis > first.expiresAtMillis)),
            "the extended token is installed"
          )
          const counters = yield* server.counters
          assert.strictEqual(counters.refresh, 1)
          assert.strictEqual(counters.authenticate, 1)
          const second = yield* source.get
          assert.strictEqual(second.expiresAtMillis, Duration.toMillis(Duration.minutes(30)) + lifetime)
          // Anaplan's refresh extends the token in use (setikites/anaplan-openapi, authentication/README.md,
          // "Token Refresh Behavior"): same value, later expiry, the requests signed with it keep working
          assert.strictEqual(value(second), value(first))
          assert.strictEqual((yield* AnaplanAuth.validate(first, { authUrl: server.url })).email, demo.email)
          assert.strictEqual(yield* server.activeTokens, 1)
        })
      ))

    it.scoped("when the refresh is rejected, logs in again", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const source = yield* sourceOf(basicLayer(server))
          const first = yield* source.get
          yield* server.expireAllTokens
          yield* TestClock.adjust(Duration.minutes(30))
          yield* eventually(Effect.map(server.counters, (c) => c.authenticate === 2), "a second login")
          yield* eventually(
            Effect.map(source.current, (held) => Option.exists(held, (token) => value(token) !== value(first))),
            "the new token is installed"
          )
          assert.strictEqual((yield* server.counters).refresh, 1)
          const token = yield* source.get
          assert.strictEqual((yield* AnaplanAuth.validate(token, { authUrl: server.url })).email, demo.email)
        })
      ))

    it.scoped("a token already past its expiry is not sent to /token/refresh; the engine logs in again", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(0)
          const strategy = yield* AnaplanAuth.basic({ email: demo.email, password, authUrl: server.url })
          const token = yield* strategy.acquire
          yield* TestClock.adjust(Duration.millis(lifetime + 1))
          assert.isTrue(Option.isSome(strategy.refresh))
          const error = yield* Effect.flip(Option.getOrThrow(strategy.refresh)(token))
          assert.strictEqual(error._tag, "InvalidCredentials")
          assert.include(error.message, "expired at 1970-01-01T00:35:00")
          assert.strictEqual((yield* server.counters).refresh, 0, "nothing was sent")
          // a token that is still valid is refreshed as before
          const fresh = yield* strategy.acquire
          yield* Option.getOrThrow(strategy.refresh)(fresh)
          assert.strictEqual((yield* server.counters).refresh, 1)
        })
      ))

    it.scoped("closing the layer's scope logs the token out, unless revokeOnClose is false", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const scope = yield* Scope.make()
          yield* Effect.flatMap(sourceOf(basicLayer(server)), (source) => source.get).pipe(Scope.extend(scope))
          assert.strictEqual(yield* server.activeTokens, 1)
          yield* Scope.close(scope, Exit.void)
          assert.strictEqual(yield* server.activeTokens, 0)
          assert.strictEqual((yield* server.counters).logout, 1)

          const kept = yield* Scope.make()
          yield* Effect.flatMap(
            sourceOf(basicLayer(server, { tokenSource: { policy, revokeOnClose: false } })),
            (source) => source.get
          ).pipe(Scope.extend(kept))
          yield* Scope.close(kept, Exit.void)
          assert.strictEqual(yield* server.activeTokens, 1)
          assert.strictEqual((yield* server.counters).logout, 1)
        })
      ))

    it.scoped("spans carry the method and the site only, never a password or token", () =>
      withServer((server) => {
        const spans: Array<Tracer.Span> = []
        return Effect.tracerWith((base) =>
          Effect.gen(function*() {
            const source = yield* sourceOf(basicLayer(server, { site: "prod" }))
            const token = yield* source.get
            yield* source.refresh
            yield* AnaplanAuth.validate(yield* source.get, { authUrl: server.url, site: "prod" })
            const ours = spans.filter((span) => span.name.startsWith("AnaplanAuth."))
            assert.deepStrictEqual(ours.map((span) => span.name), [
              "AnaplanAuth.authenticate",
              "AnaplanAuth.refresh",
              "AnaplanAuth.validate"
            ])
            for (const span of ours) {
              assert.deepStrictEqual([...span.attributes.keys()].sort(), ["anaplan.method", "auth.site"])
              assert.strictEqual(span.attributes.get("auth.site"), "prod")
            }
            assert.deepStrictEqual(ours.map((span) => span.attributes.get("anaplan.method")), ["basic", "refresh", "validate"])
            // no span at all (ours, the engine's, the HTTP client's) carries a secret
            const dump = JSON.stringify(spans.map((span) => [span.name, Object.fromEntries(span.attributes)]))
            assert.include(dump, "http.request.header.authorization")
            assert.notInclude(dump, demo.password!)
            assert.notInclude(dump, value(token))
            assert.notInclude(dump, Buffer.from(`${demo.email}:${demo.password}`).toString("base64"))
          }).pipe(
            Effect.withTracer(Tracer.make({
              context: base.context,
              span: (...args) => {
                const span = base.span(...args)
                spans.push(span)
                return span
              }
            }))
          )
        )
      }))

    it.scoped("a transient 503 is retried; past the retries it is AuthServiceUnavailable", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* server.injectFault(AnaplanAuthServer.Fault.status(503))
          const source = yield* sourceOf(basicLayer(server))
          const token = yield* source.get
          assert.strictEqual(token.tokenType, "AnaplanAuthToken")
          assert.strictEqual((yield* server.counters).authenticate, 2)

          yield* server.injectFault(AnaplanAuthServer.Fault.status(503), 5)
          const failing = yield* sourceOf(basicLayer(server, { tokenSource: { policy: RefreshPolicy.make({ retries: 4, retryBase: 0 }) } }))
          const error = yield* Effect.flip(failing.get)
          assert.strictEqual(error._tag, "AuthServiceUnavailable")
          assert.strictEqual(error._tag === "AuthServiceUnavailable" ? error.status : undefined, 503)
          assert.strictEqual((yield* server.counters).authenticate, 2 + 5)
        })
      ))

    it.scoped("malformed answers are MalformedResponse naming the problem, never a defect, never echoing the token", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const strategy = yield* AnaplanAuth.basic({ email: demo.email, password, authUrl: server.url })
          const cases: ReadonlyArray<readonly [string, AnaplanAuthServer.Fault, string]> = [
            ["missing tokenInfo", AnaplanAuthServer.Fault.body(`{"status":"SUCCESS"}`), "tokenInfo is missing"],
            [
              "non-numeric expiresAt",
              AnaplanAuthServer.Fault.body(`{"status":"SUCCESS","tokenInfo":{"expiresAt":"soon","tokenValue":"s3cr3t-value"}}`),
              "tokenInfo.expiresAt has the wrong type"
            ],
            ["empty tokenValue", AnaplanAuthServer.Fault.body(`{"tokenInfo":{"expiresAt":1,"tokenValue":""}}`), "tokenInfo.tokenValue"],
            [
              "HTML",
              AnaplanAuthServer.Fault.body("<html><body>Maintenance</body></html>", { contentType: "text/html" }),
              "expected JSON, got text/html"
            ],
            ["an empty body", AnaplanAuthServer.Fault.body(""), "an empty body"],
            ["an unexpected status", AnaplanAuthServer.Fault.status(404), "unexpected status 404"]
          ]
          for (const [name, fault, expected] of cases) {
            yield* server.injectFault(fault)
            const exit = yield* Effect.exit(strategy.acquire)
            assert.isTrue(Exit.isFailure(exit), name)
            const error = yield* Effect.flip(exit)
            assert.strictEqual(error._tag, "MalformedResponse", name)
            assert.include(error.message, expected, name)
            assert.include(error.message, "Anaplan basic login", name)
            assert.notInclude(error.message, "s3cr3t-value", name)
          }
          // and the next, normal answer works
          assert.strictEqual((yield* strategy.acquire).tokenType, "AnaplanAuthToken")
        })
      ))

    it.scoped("layerBasicConfig reads ANAPLAN_EMAIL, ANAPLAN_PASSWORD and ANAPLAN_AUTH_URL; a missing one is a ConfigError", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const env = new Map([
            ["ANAPLAN_EMAIL", demo.email],
            ["ANAPLAN_PASSWORD", demo.password!],
            ["ANAPLAN_AUTH_URL", server.url]
          ])
          const source = yield* sourceOf(AnaplanAuth.layerBasicConfig()).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(env))
          )
          assert.strictEqual((yield* source.get).tokenType, "AnaplanAuthToken")
          assert.strictEqual((yield* server.counters).authenticate, 1)

          env.delete("ANAPLAN_PASSWORD")
          const error = yield* Effect.flip(
            sourceOf(AnaplanAuth.layerBasicConfig()).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(env)))
          )
          assert.isTrue(ConfigError.isConfigError(error))
          assert.include(String(error), "ANAPLAN_PASSWORD")
          assert.strictEqual((yield* server.counters).authenticate, 1)
        })
      ))
  })

  describe("static token", () => {
    it.scoped("layerToken hands out the given token, with no call to the service", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const login = yield* AnaplanAuth.basic({ email: demo.email, password, authUrl: server.url })
          const issued = yield* login.acquire
          const layer = AnaplanAuth.layerToken({ token: issued.accessToken, site: "tenant" })
          const user = yield* AnaplanClient.currentUser.pipe(
            Effect.provide(AnaplanClient.layer({ apiUrl: server.url }).pipe(Layer.provide(layer)))
          )
          assert.strictEqual(user.email, demo.email)
          const source = yield* sourceOf(layer)
          const token = yield* source.get
          assert.strictEqual(yield* source.get, token)
          assert.strictEqual(token.tokenType, "AnaplanAuthToken")
          assert.isTrue(Option.isNone(token.expiresAt))
          assert.strictEqual(value(token), value(issued))
          assert.strictEqual(source.site, "tenant")
          const counters = yield* server.counters
          assert.deepStrictEqual([counters.authenticate, counters.refresh, counters.logout], [1, 0, 0])
        })
      ))

    it.effect("layerTokenConfig reads ANAPLAN_TOKEN", () =>
      Effect.gen(function*() {
        const source = yield* Effect.map(Layer.build(AnaplanAuth.layerTokenConfig()), Context.get(TokenSource)).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ANAPLAN_TOKEN", "from-env"]]))),
          Effect.scoped
        )
        assert.strictEqual(value(yield* source.get), "from-env")
        const missing = yield* Effect.flip(
          Layer.build(AnaplanAuth.layerTokenConfig()).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
            Effect.scoped
          )
        )
        assert.include(String(missing), "ANAPLAN_TOKEN")
      }))
  })

  describe("plain http:// auth URLs", () => {
    const insecure = "http://auth.anaplan.invalid"
    it.scoped("are refused before a password, certificate login or token is sent, naming auth_url", () =>
      Effect.gen(function*() {
        const strategy = yield* AnaplanAuth.basic({ email: demo.email, password, authUrl: insecure })
        const refused = yield* Effect.flip(strategy.acquire)
        assert.strictEqual(refused._tag, "InvalidConfiguration")
        assert.include(refused.message, "auth_url (authUrl) (http://auth.anaplan.invalid) is plain http://")
        assert.include(refused.message, "passwords and tokens would travel in clear")
        assert.include(refused.message, "allow_insecure_http")
        assert.notInclude(refused.message, password.pipe(Redacted.value))
        const token = Testing.makeToken({ lifetime: "1 hour" })
        for (const call of [AnaplanAuth.refresh(token, { authUrl: insecure }), AnaplanAuth.logout(token, { authUrl: insecure })]) {
          assert.strictEqual((yield* Effect.flip(call))._tag, "InvalidConfiguration")
        }
        assert.strictEqual((yield* Effect.flip(AnaplanAuth.validate(token, { authUrl: insecure })))._tag, "InvalidConfiguration")
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

    it.scoped("with allowInsecureHttp go out, with one warning per URL", () =>
      Effect.gen(function*() {
        const warnings: Array<string> = []
        const logger = Logger.make(({ logLevel, message }) => {
          if (logLevel._tag === "Warning") warnings.push(String(message))
        })
        const strategy = yield* AnaplanAuth.basic({ email: demo.email, password, authUrl: insecure, allowInsecureHttp: true })
        for (let i = 0; i < 2; i++) {
          const failed = yield* Effect.flip(strategy.acquire).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
          // sent: the host does not resolve (RFC 2606 .invalid), a network failure, not a refusal
          assert.strictEqual(failed._tag, "AuthServiceUnavailable", failed.message)
        }
        assert.strictEqual(warnings.length, 1, warnings.join("\n"))
        assert.include(warnings[0], "passwords and tokens travel in clear (allow_insecure_http is set)")
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
  })

  describe("plain http:// API URLs", () => {
    const insecure = "http://api.anaplan.invalid"
    it.scoped("are refused before a token is sent, naming api_url; allowInsecureHttp sends, warning once", () =>
      Effect.gen(function*() {
        const token = Testing.makeToken({ lifetime: "1 hour" })
        const refused = yield* Effect.flip(AnaplanClient.whoami(token, { apiUrl: insecure }))
        assert.strictEqual(refused._tag, "InvalidConfiguration")
        assert.include(refused.message, "api_url (apiUrl) (http://api.anaplan.invalid) is plain http://")
        assert.include(refused.message, "tokens would travel in clear")
        assert.include(refused.message, "allow_insecure_http")
        // the client refuses when it is built, before any request is signed
        const built = yield* Effect.flip(
          Layer.build(AnaplanClient.layer({ apiUrl: insecure })).pipe(
            Effect.provide(TokenSourceModule.layerStatic(token, { site: "clear" }))
          )
        )
        assert.strictEqual(built._tag, "InvalidConfiguration")
        assert.strictEqual(built.site, "clear")
        assert.include(built.message, "api_url (apiUrl)")

        const warnings: Array<string> = []
        const logger = Logger.make(({ logLevel, message }) => {
          if (logLevel._tag === "Warning") warnings.push(String(message))
        })
        const allowed = { apiUrl: insecure, allowInsecureHttp: true }
        for (let i = 0; i < 2; i++) {
          const failed = yield* Effect.flip(AnaplanClient.whoami(token, allowed)).pipe(
            Effect.provide(Logger.replace(Logger.defaultLogger, logger))
          )
          // sent: the host does not resolve (RFC 2606 .invalid), a network failure, not a refusal
          assert.strictEqual(failed._tag, "AuthServiceUnavailable", failed.message)
        }
        const client = yield* AnaplanClient.make(allowed).pipe(Effect.provide(TokenSourceModule.layerStatic(token)))
        assert.strictEqual(client.apiUrl, insecure)
        assert.strictEqual(warnings.length, 1, warnings.join("\n"))
        assert.include(warnings[0], "tokens travel in clear (allow_insecure_http is set)")
        // loopback is always accepted
        yield* AnaplanClient.make({ apiUrl: "http://127.0.0.1:9" }).pipe(Effect.provide(TokenSourceModule.layerStatic(token)))
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
  })

  describe("single calls", () => {
    it.scoped("validate and whoami decode the service's answers; a dead token is TokenExpired", () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* TestClock.setTime(Date.UTC(2026, 0, 2, 3, 4, 5))
          const token = yield* Effect.flatMap(
            AnaplanAuth.basic({ email: demo.email, password, authUrl: server.url }),
            (strategy) => strategy.acquire
          )
          const validation = yield* AnaplanAuth.validate(token, { authUrl: server.url })
          assert.instanceOf(validation, AnaplanAuth.TokenValidation)
          assert.strictEqual(validation.email, demo.email)
          // the nested answer (setikites/anaplan-openapi authentication/README.md, "GET /token/validate"):
          // userInfo.userId is the email, userGuid the user's hex id
          assert.match(validation.userGuid ?? "", /^[0-9a-f]{32}$/)
          assert.match(validation.customerGuid ?? "", /^[0-9a-f]{32}$/)
          assert.isString(validation.tokenId)
          assert.strictEqual(validation.expiresAt && DateTime.toEpochMillis(validation.expiresAt), token.expiresAtMillis)
          // a bare redacted token value works too
          assert.strictEqual((yield* AnaplanAuth.validate(token.accessToken, { authUrl: server.url })).userGuid, validation.userGuid)

          const user = yield* AnaplanClient.whoami(token, { apiUrl: server.url })
          assert.instanceOf(user, AnaplanClient.User)
          assert.strictEqual(user.email, demo.email)
          assert.strictEqual(user.firstName, "Demo")
          assert.strictEqual(user.lastName, "User")
          assert.strictEqual(user.id, validation.userGuid)
          assert.isTrue(user.active)
          assert.strictEqual(user.lastLoginDate, "2026-01-02T03:04:05.000+0000")

          const bogus = yield* Effect.flip(AnaplanAuth.validate(Redacted.make("not-a-token"), { authUrl: server.url }))
          assert.strictEqual(bogus._tag, "TokenExpired")
          assert.include(bogus.message, "Anaplan token validation")
          assert.notInclude(bogus.message, "not-a-token")
        })
      ))

    it.scoped("refresh extends the token (200, same value, later expiry); a server that rotates (201) is taken too", () =>
      Effect.gen(function*() {
        for (const rotateOnRefresh of [false, true]) {
          yield* withServer((server) =>
            Effect.gen(function*() {
              const first = yield* Effect.flatMap(
                AnaplanAuth.basic({ email: demo.email, password, authUrl: server.url }),
                (strategy) => strategy.acquire
              )
              yield* TestClock.adjust("1 minute")
              const second = yield* AnaplanAuth.refresh(first, { authUrl: server.url })
              assert.strictEqual(value(second) === value(first), !rotateOnRefresh)
              assert.strictEqual(second.expiresAtMillis, first.expiresAtMillis + 60_000)
              assert.strictEqual(
                Exit.isSuccess(yield* Effect.exit(AnaplanAuth.validate(first, { authUrl: server.url }))),
                !rotateOnRefresh,
                "the token in use keeps working unless the server rotates"
              )
            }), { rotateOnRefresh })
        }
      }))

    it.scoped("refresh of a dead token is InvalidCredentials with Anaplan's status; logout ends a token, a dead one counts as logged out", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const first = yield* Effect.flatMap(
            AnaplanAuth.basic({ email: demo.email, password, authUrl: server.url }),
            (strategy) => strategy.acquire
          )
          const second = yield* AnaplanAuth.refresh(first, { authUrl: server.url })
          assert.strictEqual(second.tokenType, "AnaplanAuthToken")
          yield* server.expireAllTokens
          const rejected = yield* Effect.flip(AnaplanAuth.refresh(first, { authUrl: server.url, site: "prod" }))
          assert.strictEqual(rejected._tag, "InvalidCredentials")
          assert.include(rejected.message, "[prod] Anaplan token refresh")
          // the body's status code, never its text (ANAPLAN.md, "Failures")
          assert.include(rejected.message, "(Anaplan status FAILURE_BAD_CREDENTIAL)")
          assert.notInclude(rejected.message, "Invalid or expired token")
          const live = yield* Effect.flatMap(
            AnaplanAuth.basic({ email: demo.email, password, authUrl: server.url }),
            (strategy) => strategy.acquire
          )
          assert.strictEqual(yield* server.activeTokens, 1)
          yield* AnaplanAuth.logout(live, { authUrl: server.url })
          assert.strictEqual(yield* server.activeTokens, 0)
          yield* AnaplanAuth.logout(live, { authUrl: server.url })
          assert.strictEqual((yield* server.counters).logout, 2)
          // a real failure of logout is still reported
          yield* server.injectFault(AnaplanAuthServer.Fault.status(500))
          assert.strictEqual((yield* Effect.flip(AnaplanAuth.logout(live, { authUrl: server.url })))._tag, "AuthServiceUnavailable")
        })
      ))

    it.effect("decodeTokenResponse maps Anaplan's answer to a Token and rejects anything else", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(5_000)
        const token = yield* AnaplanAuth.decodeTokenResponse({
          meta: { validationUrl: "https://auth.anaplan.com/token/validate" },
          status: "SUCCESS",
          statusMessage: "Login successful",
          tokenInfo: { expiresAt: 5_000 + lifetime, tokenId: "id", tokenValue: "abc", refreshTokenId: "rid", refreshToken: "new-field" }
        })
        assert.strictEqual(value(token), "abc")
        assert.strictEqual(token.tokenType, "AnaplanAuthToken")
        assert.strictEqual(token.expiresAtMillis, 5_000 + lifetime)
        assert.strictEqual(Option.map(token.lifetime, Duration.toMillis).pipe(Option.getOrThrow), lifetime)
        for (const body of [null, "text", { tokenInfo: { expiresAt: -1, tokenValue: "abc" } }, { tokenInfo: { tokenValue: "abc" } }]) {
          const error = yield* Effect.flip(AnaplanAuth.decodeTokenResponse(body, { site: "s" }))
          assert.strictEqual(error._tag, "MalformedResponse")
          assert.notInclude(error.message, "abc")
        }
      }))
  })
})

// -------------------------------------------------------------------------------------------------
// Certificates: generated once for the block below (openssl), in a temporary directory.

const CertificatesLive = certificatesLayer("effect-auth-anaplan-auth-")

layer(Layer.merge(CertificatesLive, NodeHttpClient.layerUndici), { timeout: "60 seconds" })("AnaplanAuth certificate", (it) => {
  const withCaServer = <A, E>(
    f: (server: Server, certs: TestCertificates.TestCertificates) => Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>
  ) =>
    Effect.gen(function*() {
      const certs = yield* Certificates
      // certificate validity is judged by the Clock; the TestClock starts at 1970
      yield* TestClock.setTime(Date.now())
      const server = yield* AnaplanAuthServer.make({ trustedCaPem: certs.caPem })
      return yield* f(server, certs)
    })

  it.scoped("logs in with a certificate and key given as paths, as content, or with an encrypted key", () =>
    withCaServer((server, certs) =>
      Effect.gen(function*() {
        const variants: ReadonlyArray<AnaplanAuth.CertificateOptions> = [
          { certificate: { path: certs.clientCertPath }, privateKey: { path: certs.clientKeyPath } },
          {
            certificate: { pem: readFileSync(certs.clientCertPath, "utf8") },
            privateKey: { pem: Redacted.make(readFileSync(certs.clientKeyPath, "utf8")) }
          },
          {
            certificate: { path: certs.clientCertPath },
            privateKey: { path: certs.clientEncryptedKeyPath },
            passphrase: certs.passphrase
          },
          { certificate: { path: certs.clientCertPath }, privateKey: { path: certs.clientKeyPath }, encodedDataFormat: "v1" }
        ]
        for (const options of variants) {
          const source = yield* sourceOf(AnaplanAuth.layerCertificate({ ...options, authUrl: server.url, tokenSource: { policy } }))
          const token = yield* source.get
          assert.strictEqual(token.tokenType, "AnaplanAuthToken")
          assert.strictEqual(source.name, "anaplan-certificate")
          assert.strictEqual((yield* AnaplanClient.whoami(token, { apiUrl: server.url })).email, certs.email)
        }
        assert.strictEqual((yield* server.counters).authenticate, variants.length)
      })
    ))

  it.scoped("each unusable certificate or key fails with InvalidConfiguration naming the file, before any network call", () =>
    withCaServer((server, certs) =>
      Effect.gen(function*() {
        const keyPem = readFileSync(certs.clientKeyPath, "utf8")
        const keyBody = keyPem.split("\n")[1]
        const cert = { path: certs.clientCertPath }
        const key = { path: certs.clientKeyPath }
        const cases: ReadonlyArray<readonly [string, AnaplanAuth.CertificateOptions, ReadonlyArray<string>]> = [
          [
            "missing certificate file",
            { certificate: { path: `${certs.dir}/missing.pem` }, privateKey: key },
            [`certificate file ${certs.dir}/missing.pem does not exist`]
          ],
          [
            "missing key file",
            { certificate: cert, privateKey: { path: `${certs.dir}/missing.key` } },
            [`private key file ${certs.dir}/missing.key does not exist`]
          ],
          [
            "a key where the certificate belongs",
            { certificate: { path: certs.clientKeyPath }, privateKey: key },
            [`certificate file ${certs.clientKeyPath} holds no PEM certificate`]
          ],
          [
            "garbage PEM content",
            { certificate: { pem: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n" }, privateKey: key },
            ["certificate given as PEM content could not be parsed"]
          ],
          [
            "a certificate where the key belongs",
            { certificate: cert, privateKey: { path: certs.clientCertPath } },
            [`private key file ${certs.clientCertPath} holds no PEM private key`]
          ],
          [
            "a key that does not match",
            { certificate: cert, privateKey: { path: certs.otherKeyPath } },
            [`private key file ${certs.otherKeyPath} does not match the certificate file ${certs.clientCertPath}`]
          ],
          [
            "an expired certificate",
            { certificate: { path: certs.expiredCertPath }, privateKey: key },
            [`certificate file ${certs.expiredCertPath} expired on 2021-01-01`]
          ],
          [
            "an encrypted key without passphrase",
            { certificate: cert, privateKey: { path: certs.clientEncryptedKeyPath } },
            [`private key file ${certs.clientEncryptedKeyPath} is encrypted and no passphrase was given`]
          ],
          [
            "a wrong passphrase",
            {
              certificate: cert,
              privateKey: { path: certs.clientEncryptedKeyPath },
              passphrase: Redacted.make("not-the-passphrase")
            },
            [`passphrase for the private key file ${certs.clientEncryptedKeyPath} is wrong`]
          ]
        ]
        for (const [name, options, expected] of cases) {
          const exit = yield* Effect.exit(sourceOf(AnaplanAuth.layerCertificate({ ...options, authUrl: server.url })))
          assert.isTrue(Exit.isFailure(exit), name)
          const error = yield* Effect.flip(exit)
          assert.strictEqual(error._tag, "InvalidConfiguration", name)
          for (const text of expected) assert.include(error.message, text, name)
          assert.notInclude(error.message, keyBody, name)
          assert.notInclude(error.message, "not-the-passphrase", name)
          assert.notInclude(error.message, Redacted.value(certs.passphrase), name)
        }
        // not yet valid: the Clock says 2020, before the client certificate was issued
        yield* TestClock.setTime(Date.UTC(2020, 5, 1))
        const early = yield* Effect.flip(AnaplanAuth.certificate({ certificate: cert, privateKey: key, authUrl: server.url }))
        assert.include(early.message, `certificate file ${certs.clientCertPath} is not valid before`)
        assert.strictEqual((yield* server.counters).authenticate, 0)
      })
    ))

  it.scoped("a certificate Anaplan does not trust is InvalidCredentials naming the certificate", () =>
    withCaServer((server, certs) =>
      Effect.gen(function*() {
        const strategy = yield* AnaplanAuth.certificate({
          certificate: { path: certs.untrustedCertPath },
          privateKey: { path: certs.untrustedKeyPath },
          authUrl: server.url
        })
        const error = yield* Effect.flip(strategy.acquire)
        assert.strictEqual(error._tag, "InvalidCredentials")
        assert.include(error.message, `Anaplan rejected the certificate file ${certs.untrustedCertPath}`)
        assert.include(error.message, "certificate authority Anaplan trusts")
        assert.strictEqual((yield* server.counters).authenticate, 1)
      })
    ))

  it.scoped("refreshes ahead and logs in again with a fresh signature when the refresh is rejected", () =>
    withCaServer((server, certs) =>
      Effect.gen(function*() {
        const source = yield* sourceOf(AnaplanAuth.layerCertificate({
          certificate: { path: certs.clientCertPath },
          privateKey: { path: certs.clientKeyPath },
          authUrl: server.url,
          tokenSource: { policy }
        }))
        const first = yield* source.get
        yield* TestClock.adjust(Duration.minutes(30))
        yield* eventually(Effect.map(server.counters, (c) => c.refresh === 1), "a refresh")
        yield* eventually(
          Effect.map(source.current, (held) => Option.exists(held, (token) => token.expiresAtMillis > first.expiresAtMillis)),
          "the extended token is installed"
        )
        yield* server.expireAllTokens
        yield* TestClock.adjust(Duration.minutes(30))
        // the emulator rejects a replayed payload: the second login must have signed fresh data
        yield* eventually(Effect.map(server.counters, (c) => c.authenticate === 2), "a second login")
        const counters = yield* server.counters
        assert.strictEqual(counters.refresh, 2)
      })
    ))

  it.scoped("layerCertificateConfig reads the PEM content, a key path and the passphrase from the environment", () =>
    withCaServer((server, certs) =>
      Effect.gen(function*() {
        const env = ConfigProvider.fromMap(
          new Map([
            ["ANAPLAN_CERTIFICATE_PEM", readFileSync(certs.clientCertPath, "utf8")],
            ["ANAPLAN_PRIVATE_KEY", certs.clientEncryptedKeyPath],
            ["ANAPLAN_PRIVATE_KEY_PASSPHRASE", Redacted.value(certs.passphrase)],
            ["ANAPLAN_AUTH_URL", server.url]
          ])
        )
        const source = yield* sourceOf(AnaplanAuth.layerCertificateConfig()).pipe(Effect.withConfigProvider(env))
        assert.strictEqual((yield* source.get).tokenType, "AnaplanAuthToken")
        assert.strictEqual((yield* server.counters).authenticate, 1)

        const missing = yield* Effect.flip(
          sourceOf(AnaplanAuth.layerCertificateConfig()).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ANAPLAN_CERTIFICATE", certs.clientCertPath]])))
          )
        )
        assert.include(String(missing), "ANAPLAN_PRIVATE_KEY")
      })
    ))
})
