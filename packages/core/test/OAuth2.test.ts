import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import * as OAuth2 from "../src/OAuth2.js"
import * as LoginAgent from "../src/LoginAgent.js"
import * as OAuth2Auth from "../src/OAuth2Auth.js"

const errorOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error("expected a typed failure")
  return exit.cause.error
}

/** A loopback stub answering each request with `handler`; records the bodies it received. */
const stub = (handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; bodies: Array<string>; headers: Array<IncomingMessage["headers"]>; close: () => void }>(
      (resume) => {
        const bodies: Array<string> = []
        const headers: Array<IncomingMessage["headers"]> = []
        const server = createServer((req, res) => {
          let body = ""
          req.on("data", (chunk) => (body += chunk))
          req.on("end", () => {
            bodies.push(body)
            headers.push(req.headers)
            handler(req, res, body)
          })
        })
        server.listen(0, "127.0.0.1", () =>
          resume(Effect.succeed({
            url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            bodies,
            headers,
            close: () => {
              server.closeAllConnections()
              server.close()
            }
          })))
      }
    ),
    (s) => Effect.sync(s.close)
  )

const answer = (status: number, body: string, contentType = "application/json", extra: Record<string, string> = {}) =>
(_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { "content-type": contentType, ...extra })
  res.end(body)
}

const client = OAuth2.secretBasic("my client", Redacted.make("s3cr3t:with/odd chars"))

const tokenCall = (url: string, options: OAuth2.TokenResponseOptions = {}) =>
  Effect.gen(function*() {
    const http = yield* HttpClient.HttpClient
    const response = yield* http.execute(
      OAuth2.refreshTokenGrantRequest(`${url}/token`, client, { refreshToken: Redacted.make("rt-old") })
    ).pipe(Effect.orDie)
    return yield* OAuth2.processTokenResponse(response, { previousRefreshToken: Redacted.make("rt-old"), ...options })
  })

describe("OAuth2", () => {
  it("PKCE: a 43-character verifier from the unreserved set and the RFC 7636 appendix B challenge", () => {
    const verifier = Redacted.value(OAuth2.generateCodeVerifier())
    assert.match(verifier, /^[A-Za-z0-9\-._~]{43}$/)
    assert.notStrictEqual(verifier, Redacted.value(OAuth2.generateCodeVerifier()))
    assert.strictEqual(
      OAuth2.codeChallengeS256(Redacted.make("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
  })

  it.effect("builds the authorization URL with state, S256 PKCE and, for openid, a nonce", () =>
    Effect.gen(function*() {
      const request = yield* OAuth2.authorizationRequest({
        authorizationEndpoint: "https://op.example/authorize?tenant=a",
        clientId: "cid",
        redirectUri: "http://127.0.0.1:5000/callback",
        scopes: ["openid", "profile"],
        extraParams: { prompt: "consent", state: "attacker-chosen" }
      })
      const params = request.url.searchParams
      assert.strictEqual(params.get("tenant"), "a")
      assert.strictEqual(params.get("response_type"), "code")
      assert.strictEqual(params.get("scope"), "openid profile")
      assert.strictEqual(params.get("prompt"), "consent")
      assert.strictEqual(params.get("state"), request.state)
      assert.notStrictEqual(request.state, "attacker-chosen")
      assert.strictEqual(params.get("nonce"), request.nonce)
      assert.strictEqual(params.get("code_challenge_method"), "S256")
      assert.strictEqual(params.get("code_challenge"), OAuth2.codeChallengeS256(request.codeVerifier!))
      const plain = yield* OAuth2.authorizationRequest({
        authorizationEndpoint: "https://op.example/authorize",
        clientId: "cid",
        redirectUri: "https://app.example/cb",
        scopes: ["read"],
        pkce: false
      })
      assert.isNull(plain.url.searchParams.get("code_challenge"))
      assert.isNull(plain.url.searchParams.get("nonce"))
      assert.isUndefined(plain.codeVerifier)
    }))

  it("validates redirects: state, iss, error codes, code", () => {
    const check = (query: string) =>
      OAuth2.validateAuthorizationResponse(OAuth2.redirectParams(`http://127.0.0.1/cb?${query}`)!, {
        state: "S",
        issuer: "https://op.example"
      })
    const tag = (query: string) => Either.match(check(query), { onLeft: (e) => e._tag, onRight: () => "ok" })
    assert.strictEqual(tag("code=c&state=S"), "ok")
    assert.strictEqual(tag("code=c&state=S&iss=https%3A%2F%2Fop.example"), "ok")
    assert.strictEqual(tag("code=c&state=T"), "InvalidCredentials")
    assert.strictEqual(tag("code=c"), "InvalidCredentials")
    assert.strictEqual(tag("code=c&state=S&iss=https%3A%2F%2Fevil.example"), "InvalidCredentials")
    assert.strictEqual(tag("state=S"), "MalformedResponse")
    assert.strictEqual(tag("error=access_denied&state=S"), "LoginCancelled")
    const other = check("error=unauthorized_client&state=S")
    assert.isTrue(Either.isLeft(other) && other.left.message.includes("unauthorized_client"))
    // a fragment works as well as a query
    assert.isTrue(Either.isRight(
      OAuth2.validateAuthorizationResponse(OAuth2.redirectParams("http://127.0.0.1/cb#code=c&state=S")!, { state: "S" })
    ))
  })

  it("derives the well-known URLs of RFC 8414 and OIDC Discovery", () => {
    assert.strictEqual(
      OAuth2.discoveryUrl("https://op.example/tenant", "oidc"),
      "https://op.example/tenant/.well-known/openid-configuration"
    )
    assert.strictEqual(
      OAuth2.discoveryUrl("https://op.example/tenant", "oauth"),
      "https://op.example/.well-known/oauth-authorization-server/tenant"
    )
  })

  it.scoped("falls back to RFC 8414 metadata when there is no OIDC document", () =>
    Effect.gen(function*() {
      let issuer = ""
      const server = yield* stub((req, res) => {
        if (req.url === "/.well-known/oauth-authorization-server/tenant") {
          return answer(200, JSON.stringify({ issuer, token_endpoint: `${issuer}/token` }))(req, res)
        }
        answer(404, "not found", "text/plain")(req, res)
      })
      issuer = `${server.url}/tenant`
      const metadata = yield* OAuth2.discover(issuer)
      assert.strictEqual(metadata.tokenEndpoint, `${issuer}/token`)
      assert.isUndefined(metadata.revocationEndpoint)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("decodes a token answer; client_secret_basic form-encodes id and secret", () =>
    Effect.gen(function*() {
      const server = yield* stub(answer(
        200,
        JSON.stringify({ access_token: "at", token_type: "bearer", expires_in: 3600, scope: "a b" })
      ))
      const token = yield* tokenCall(server.url)
      assert.strictEqual(Redacted.value(token.accessToken), "at")
      assert.strictEqual(token.tokenType, "Bearer")
      assert.deepStrictEqual(token.scopes, ["a", "b"])
      assert.strictEqual(Option.getOrThrow(token.lifetime).pipe(Duration.toSeconds), 3600)
      // no refresh_token in the answer: the old one is kept (RFC 6749 section 6)
      assert.strictEqual(Redacted.value(Option.getOrThrow(token.refreshToken)), "rt-old")
      const basic = server.headers[0].authorization!
      assert.strictEqual(
        Buffer.from(basic.replace(/^Basic /, ""), "base64").toString(),
        "my+client:s3cr3t%3Awith%2Fodd+chars"
      )
      assert.strictEqual(server.bodies[0], "grant_type=refresh_token&refresh_token=rt-old")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("uses the rotated refresh token and the configured header scheme", () =>
    Effect.gen(function*() {
      const server = yield* stub(answer(
        200,
        JSON.stringify({ access_token: "at", token_type: "bearer", expires_in: "1800", refresh_token: "rt-new" })
      ))
      const token = yield* tokenCall(server.url, { tokenType: "AnaplanAuthToken" })
      assert.strictEqual(Redacted.value(Option.getOrThrow(token.refreshToken)), "rt-new")
      assert.strictEqual(Redacted.value(token.authorizationHeader), "AnaplanAuthToken at")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  const bad: ReadonlyArray<[string, number, string, string, string, Record<string, string>?]> = [
    ["no access_token", 200, JSON.stringify({ token_type: "Bearer" }), "application/json", "MalformedResponse"],
    [
      "an unknown token_type",
      200,
      JSON.stringify({ access_token: "secret-at", token_type: "MAC" }),
      "application/json",
      "MalformedResponse"
    ],
    [
      "a non-numeric expires_in",
      200,
      JSON.stringify({ access_token: "secret-at", token_type: "Bearer", expires_in: "soon" }),
      "application/json",
      "MalformedResponse"
    ],
    ["an HTML body", 200, "<html><body>Sign in</body></html>", "text/html", "MalformedResponse"],
    ["an HTML error page", 400, "<html>Bad</html>", "text/html", "MalformedResponse"],
    ["invalid_grant", 400, JSON.stringify({ error: "invalid_grant" }), "application/json", "InvalidCredentials"],
    ["invalid_client", 401, JSON.stringify({ error: "invalid_client" }), "application/json", "InvalidCredentials"],
    ["a 503", 503, "down", "text/plain", "AuthServiceUnavailable", { "retry-after": "7" }],
    ["a 429", 429, "", "text/plain", "AuthServiceUnavailable"]
  ]
  for (const [name, status, body, type, expected, headers] of bad) {
    it.scoped(`a token answer with ${name} is ${expected}, naming no secret`, () =>
      Effect.gen(function*() {
        const server = yield* stub(answer(status, body, type, headers))
        const error = errorOf(yield* Effect.exit(tokenCall(server.url)))
        assert.strictEqual(error._tag, expected)
        assert.notInclude(error.message, "secret-at")
        assert.notInclude(error.message, "rt-old")
        if (name === "invalid_client") assert.include(error.message, "client id and client secret")
        if (error._tag === "AuthServiceUnavailable" && status === 503) assert.strictEqual(error.retryAfterMillis, 7000)
      }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
  }
})

/** An in-memory token endpoint answering the device polls in turn, recording when (on the Clock). */
const scriptedEndpoint = (answers: ReadonlyArray<{ status: number; body: object }>) => {
  const times: Array<number> = []
  let n = 0
  const http = HttpClient.make((request) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      times.push(now)
      const next = answers[Math.min(n++, answers.length - 1)]
      return HttpClientResponse.fromWeb(
        request,
        new Response(JSON.stringify(next.body), { status: next.status, headers: { "content-type": "application/json" } })
      )
    })
  )
  return { http, times }
}

const device = (expiresIn: number, interval?: number): OAuth2.DeviceAuthorization => ({
  deviceCode: Redacted.make("dc"),
  userCode: "ABCD-EFGH",
  verificationUri: "https://op.example/device",
  verificationUriComplete: undefined,
  expiresIn: Duration.seconds(expiresIn),
  interval: Duration.seconds(interval ?? 5)
})

const pending = { status: 400, body: { error: "authorization_pending" } }
const slowDown = { status: 400, body: { error: "slow_down" } }
const success = { status: 200, body: { access_token: "at", token_type: "Bearer", expires_in: 60 } }

const runPoll = (endpoint: ReturnType<typeof scriptedEndpoint>, auth: OAuth2.DeviceAuthorization, seconds: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(
      OAuth2.pollDeviceToken(endpoint.http, "https://op.example/token", OAuth2.none("cid"), auth)
    )
    for (let i = 0; i < seconds; i++) yield* TestClock.adjust(Duration.seconds(1))
    return yield* Fiber.await(fiber)
  })

describe("OAuth2 device polling (RFC 8628 section 3.5)", () => {
  it.effect("honours the interval, continues on authorization_pending, adds 5 s on slow_down", () =>
    Effect.gen(function*() {
      const endpoint = scriptedEndpoint([pending, slowDown, pending, success])
      const exit = yield* runPoll(endpoint, device(600, 3), 40)
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(endpoint.times, [3_000, 6_000, 14_000, 22_000])
    }))

  it.effect("defaults to a 5 s interval", () =>
    Effect.gen(function*() {
      const endpoint = scriptedEndpoint([pending, success])
      const exit = yield* runPoll(endpoint, device(600), 20)
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(endpoint.times, [5_000, 10_000])
    }))

  it.effect("expired_token is LoginTimeout, access_denied is LoginCancelled", () =>
    Effect.gen(function*() {
      const expired = yield* runPoll(scriptedEndpoint([pending, { status: 400, body: { error: "expired_token" } }]), device(600), 20)
      assert.strictEqual(errorOf(expired)._tag, "LoginTimeout")
      const denied = yield* runPoll(scriptedEndpoint([{ status: 400, body: { error: "access_denied" } }]), device(600), 20)
      assert.strictEqual(errorOf(denied)._tag, "LoginCancelled")
    }))

  it.effect("gives up at the code's expiry with LoginTimeout", () =>
    Effect.gen(function*() {
      const endpoint = scriptedEndpoint([pending])
      const exit = yield* runPoll(endpoint, device(30), 40)
      assert.strictEqual(errorOf(exit)._tag, "LoginTimeout")
      assert.deepStrictEqual(endpoint.times, [5_000, 10_000, 15_000, 20_000, 25_000])
    }))
})

describe("OAuth2 presets", () => {
  it.effect("Foundry needs no discovery: its endpoints are explicit", () =>
    Effect.gen(function*() {
      const { make } = yield* Effect.promise(() => import("../src/presets/Foundry.js"))
      const options = make({ host: "stack.example.com", client: OAuth2.none("cid"), scopes: ["api:read"] })
      const metadata = yield* OAuth2Auth.resolveMetadata(options).pipe(
        Effect.provideService(HttpClient.HttpClient, HttpClient.make(() => Effect.dieMessage("no I/O expected")))
      )
      assert.strictEqual(metadata.tokenEndpoint, "https://stack.example.com/multipass/api/oauth2/token")
      assert.strictEqual(metadata.revocationEndpoint, "https://stack.example.com/multipass/api/oauth2/revoke_token")
      assert.deepStrictEqual(options.scopes, ["api:read", "offline_access"])
    }))
})

describe("OAuth2 plain http:// endpoints (issue 18, item 4)", () => {
  const capture = () => {
    const warnings: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    return { warnings, layer: Logger.replace(Logger.defaultLogger, logger) }
  }

  it.effect("https:// and loopback http:// pass; plain http:// elsewhere is refused, naming the field", () =>
    Effect.gen(function*() {
      for (const url of ["https://op.example/token", "http://127.0.0.1:8080/token", "http://localhost/t", "http://[::1]:9/t"]) {
        yield* OAuth2.checkEndpoint("token_url", url)
      }
      const error = errorOf(yield* Effect.exit(OAuth2.checkEndpoint("token_url", "http://op.example/token?x=q7Zp")))
      assert.strictEqual(error._tag, "InvalidConfiguration")
      assert.include(error.message, "token_url (http://op.example) is plain http://")
      assert.include(error.message, "allow_insecure_http")
      assert.notInclude(error.message, "q7Zp")
      const other = errorOf(yield* Effect.exit(OAuth2.checkEndpoint("issuer", "ftp://op.example")))
      assert.include(other.message, "issuer is not an http(s) URL")
    }))

  it.effect("allowInsecureHttp accepts it with a warning", () => {
    const { layer, warnings } = capture()
    return Effect.gen(function*() {
      yield* OAuth2.checkEndpoint("token_url", "http://op.example/token", { allowInsecureHttp: true, site: "lab" })
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0], "lab: OAuth 2: token_url (http://op.example) is plain http://")
    }).pipe(Effect.provide(layer))
  })

  it.effect("strategies refuse configured endpoints before sending anything; the option lets them through", () => {
    const { layer, warnings } = capture()
    return Effect.gen(function*() {
      const endpoints = {
        tokenEndpoint: "https://op.example/token",
        revocationEndpoint: "http://op.example/revoke"
      }
      const refused = errorOf(
        yield* Effect.exit(OAuth2Auth.clientCredentials({ endpoints, client, site: "lab" }))
      )
      assert.strictEqual(refused._tag, "InvalidConfiguration")
      assert.include(refused.message, "revocation_url (revocationEndpoint) (http://op.example) is plain http://")
      const strategy = yield* OAuth2Auth.clientCredentials({ endpoints, client, allowInsecureHttp: true })
      assert.strictEqual(strategy.name, "oauth2-client-credentials")
      assert.strictEqual(warnings.length, 1)
    }).pipe(Effect.provide(Layer.merge(layer, NodeHttpClient.layerUndici)))
  })

  it.scoped("discovery refuses a plain http:// issuer and discovered plain http:// endpoints", () =>
    Effect.gen(function*() {
      const issuerError = errorOf(yield* Effect.exit(OAuth2.discover("http://op.example")))
      assert.include(issuerError.message, "issuer (http://op.example) is plain http://")
      let issuer = ""
      const server = yield* stub((req, res) =>
        answer(200, JSON.stringify({ issuer, token_endpoint: "http://tokens.example/token" }))(req, res)
      )
      issuer = server.url
      const discovered = errorOf(yield* Effect.exit(OAuth2.discover(issuer)))
      assert.include(discovered.message, "the discovered token_endpoint (http://tokens.example) is plain http://")
      const authorization = errorOf(
        yield* Effect.exit(OAuth2Auth.authorizationCode({ issuer: "http://op.example", client }))
      )
      assert.include(authorization.message, "issuer (http://op.example)")
    }).pipe(Effect.provide(Layer.merge(NodeHttpClient.layerUndici, LoginAgent.layerTest({})))))
})

describe("OAuth2 device authorization request", () => {
  it.scoped("is form-encoded by default and JSON with body: json (providers that take only JSON)", () =>
    Effect.gen(function*() {
      const server = yield* stub(answer(
        200,
        JSON.stringify({ device_code: "dc", user_code: "UC", verification_uri: "https://op.example/device", expires_in: 600 })
      ))
      const http = yield* HttpClient.HttpClient
      for (const body of [undefined, "json"] as const) {
        const response = yield* http.execute(
          OAuth2.deviceAuthorizationRequest(`${server.url}/device`, OAuth2.none("cli"), { scopes: ["a", "b"], body })
        ).pipe(Effect.orDie)
        const device = yield* OAuth2.processDeviceAuthorizationResponse(response)
        assert.strictEqual(device.userCode, "UC")
      }
      assert.strictEqual(server.bodies[0], "scope=a+b&client_id=cli")
      assert.strictEqual(server.headers[0]["content-type"], "application/x-www-form-urlencoded")
      assert.deepStrictEqual(JSON.parse(server.bodies[1]), { scope: "a b", client_id: "cli" })
      assert.strictEqual(server.headers[1]["content-type"], "application/json")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
