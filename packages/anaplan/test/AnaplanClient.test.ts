import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as RefreshPolicy from "@effect-auth/core/RefreshPolicy"
import { assert, describe, it } from "@effect/vitest"
import { TokenSource } from "@effect-auth/core/TokenSource"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as AnaplanAuth from "../src/AnaplanAuth.js"
import * as AnaplanAuthServer from "../src/AnaplanAuthServer.js"
import * as AnaplanClient from "../src/AnaplanClient.js"
import { eventually } from "./support/emulator.js"

type Server = AnaplanAuthServer.AnaplanAuthServer.Service

const demo = AnaplanAuthServer.demoUser
const policy = RefreshPolicy.make({ jitter: Duration.zero, retryBase: Duration.zero })

/** The emulator, and an `AnaplanClient` over basic auth against it. */
const withClient = <A, E>(
  f: (client: AnaplanClient.AnaplanClient.Service, server: Server) => Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>,
  options: { readonly apiUrl?: (server: Server) => string; readonly server?: AnaplanAuthServer.Options } = {}
) =>
  Effect.gen(function*() {
    const server = yield* AnaplanAuthServer.make(options.server)
    const auth = AnaplanAuth.layerBasic({
      email: demo.email,
      password: Redacted.make(demo.password!),
      authUrl: server.url,
      tokenSource: { policy }
    })
    // built in the test's scope: the TokenSource lives (and logs out) with it
    const context = yield* Layer.build(auth)
    const client = yield* AnaplanClient.make({ apiUrl: options.apiUrl?.(server) ?? server.url }).pipe(
      Effect.provide(context)
    )
    return yield* f(client, server)
  }).pipe(Effect.provide(NodeHttpClient.layerUndici))

describe("AnaplanClient", () => {
  it.scoped("requests go to {apiUrl}/2/0 with the AnaplanAuthToken header; other statuses pass through", () =>
    withClient((client, server) =>
      Effect.gen(function*() {
        assert.strictEqual(client.apiUrl, server.url)
        const response = yield* client.http.get("/users/me")
        // the emulator answers 200 only to a live AnaplanAuthToken
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.request.url, `${server.url}/2/0/users/me`)
        assert.isTrue(response.request.headers["authorization"]?.startsWith("AnaplanAuthToken "))
        const missing = yield* client.http.get("/workspaces")
        assert.strictEqual(missing.status, 404)
        const counters = yield* server.counters
        assert.deepStrictEqual([counters.authenticate, counters.usersMe], [1, 1])
      }), { apiUrl: (server) => `${server.url}/` }))

  it.scoped("a 401 after expireAllTokens causes one refresh attempt, one login and one retry, which succeeds", () =>
    withClient((client, server) =>
      Effect.gen(function*() {
        yield* client.whoami
        yield* server.expireAllTokens
        const user = yield* client.whoami
        assert.strictEqual(user.email, demo.email)
        const counters = yield* server.counters
        // usersMe: the first call, the 401, the retry; the refresh of the dead token is rejected
        assert.deepStrictEqual(
          { authenticate: counters.authenticate, refresh: counters.refresh, usersMe: counters.usersMe },
          { authenticate: 2, refresh: 1, usersMe: 3 }
        )
      })
    ))

  it.scoped("concurrent requests without a token share one login", () =>
    withClient((client, server) =>
      Effect.gen(function*() {
        const users = yield* Effect.all(Array.from({ length: 50 }, () => client.whoami), { concurrency: "unbounded" })
        assert.isTrue(users.every((user) => user.email === demo.email))
        const counters = yield* server.counters
        assert.strictEqual(counters.authenticate, 1)
        assert.strictEqual(counters.usersMe, 50)
      })
    ))

  it.scoped("whoami decodes the user; an answer without a user is MalformedResponse", () =>
    withClient((client, server) =>
      Effect.gen(function*() {
        const user = yield* client.whoami
        assert.instanceOf(user, AnaplanClient.User)
        assert.deepStrictEqual(
          [user.email, user.firstName, user.lastName, user.active, user.emailOptIn],
          [demo.email, "Demo", "User", true, false]
        )
        assert.match(user.id, /^[0-9a-f]{32}$/)
        yield* server.injectFault(AnaplanAuthServer.Fault.body(`{"status":{"code":200}}`, { status: 200 }))
        const error = yield* Effect.flip(client.whoami)
        assert.strictEqual(error._tag, "MalformedResponse")
        assert.include(error.message, "Anaplan whoami: unexpected answer: user is missing")
        yield* server.injectFault(AnaplanAuthServer.Fault.status(503))
        assert.strictEqual((yield* Effect.flip(client.whoami))._tag, "AuthServiceUnavailable")
      })
    ))

  it.scoped("401 ACCESS_CONTROL_DENIED is AccessDenied at once: no refresh, no login, no retry (ANAPLAN.md, integration API)", () =>
    withClient((client, server) =>
      Effect.gen(function*() {
        yield* client.whoami
        yield* server.resetCounters
        const error = yield* Effect.flip(client.http.get("/users"))
        assert.strictEqual(error._tag, "AccessDenied")
        if (error._tag === "AccessDenied") {
          assert.strictEqual(error.resource, "GET /2/0/users")
          assert.strictEqual(error.reason, "ACCESS_CONTROL_DENIED")
          assert.include(error.message, "lacks the permission")
          assert.include(error.message, "Logging in again will not help")
        }
        const counters = yield* server.counters
        assert.deepStrictEqual(
          [counters.users, counters.refresh, counters.authenticate, counters.logout],
          [1, 0, 0, 0],
          "one request, nothing spent"
        )
        // the token is still good for what the user may do
        assert.strictEqual((yield* client.whoami).email, demo.email)
        assert.strictEqual((yield* server.counters).authenticate, 0)
      }), { server: { users: [{ ...demo, deniedEndpoints: ["/2/0/users"] }] } }))

  it.scoped("a user with the role gets the list; an expired token is still recovered as before", () =>
    withClient((client, server) =>
      Effect.gen(function*() {
        const response = yield* client.http.get("/users")
        assert.strictEqual(response.status, 200)
        yield* server.expireAllTokens
        assert.strictEqual((yield* client.http.get("/users")).status, 200)
        assert.strictEqual((yield* server.counters).users, 3)
      })))

  it.scoped("a refresh extends the token: requests in flight keep working, none is refused or re-sent, one login", () =>
    Effect.gen(function*() {
      const server = yield* AnaplanAuthServer.make()
      const context = yield* Layer.build(
        AnaplanClient.layer({ apiUrl: server.url }).pipe(
          Layer.provideMerge(AnaplanAuth.layerBasic({
            email: demo.email,
            password: Redacted.make(demo.password!),
            authUrl: server.url,
            tokenSource: { policy }
          }))
        )
      )
      const client = Context.get(context, AnaplanClient.AnaplanClient)
      const source = Context.get(context, TokenSource)
      const before = yield* source.get
      yield* server.resetCounters
      const [responses, extended] = yield* Effect.all([
        Effect.all(Array.from({ length: 50 }, () => client.http.get("/users/me")), { concurrency: "unbounded" }),
        source.refresh
      ], { concurrency: "unbounded" })
      assert.isTrue(responses.every((response) => response.status === 200))
      assert.strictEqual(Redacted.value(extended.accessToken), Redacted.value(before.accessToken))
      const counters = yield* server.counters
      assert.deepStrictEqual([counters.usersMe, counters.refresh, counters.authenticate], [50, 1, 0])
      assert.strictEqual(yield* server.activeTokens, 1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("layerConfig reads ANAPLAN_API_URL and defaults to Anaplan's public API", () =>
    Effect.gen(function*() {
      const server = yield* AnaplanAuthServer.make()
      const login = yield* AnaplanAuth.basic({ email: demo.email, password: Redacted.make(demo.password!), authUrl: server.url })
      const token = yield* login.acquire
      const auth = AnaplanAuth.layerToken({ token: token.accessToken })
      const fromEnv = AnaplanClient.layerConfig().pipe(Layer.provide(auth))
      const user = yield* AnaplanClient.currentUser.pipe(
        Effect.provide(fromEnv),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ANAPLAN_API_URL", server.url]])))
      )
      assert.strictEqual(user.email, demo.email)
      const apiUrl = yield* Effect.map(AnaplanClient.AnaplanClient, (client) => client.apiUrl).pipe(
        Effect.provide(fromEnv),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      assert.strictEqual(apiUrl, AnaplanAuth.defaultApiUrl)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  describe("layerWithAuth: the auth service's own connection pool", () => {
    const lifetime = 4_000
    // the API's pool: this many connections, each held by a request the emulator answers at 5 s
    const connections = 4
    const limitedPool = NodeHttpClient.layerUndiciWithoutDispatcher.pipe(
      Layer.provide(Layer.scoped(
        NodeHttpClient.Dispatcher,
        Effect.acquireRelease(
          Effect.sync(() => new Undici.Agent({ connections })),
          (agent) => Effect.promise(() => agent.destroy())
        )
      ))
    )

    /**
     * A 4 s token (default policy: refresh-ahead due 3.6 to 3.7 s), its pool saturated: `connections`
     * requests held until 5 s, as many queued behind them; then the clock at 3.7 s.
     */
    const saturated = (
      wire: (
        server: Server,
        auth: Layer.Layer<TokenSource, never, HttpClient.HttpClient>
      ) => Layer.Layer<AnaplanClient.AnaplanClient | TokenSource, unknown>
    ) =>
      Effect.gen(function*() {
        const server = yield* AnaplanAuthServer.make({ tokenLifetime: Duration.millis(lifetime) })
        const auth = AnaplanAuth.layerBasic({
          email: demo.email,
          password: Redacted.make(demo.password!),
          authUrl: server.url,
          tokenSource: { revokeOnClose: false }
        })
        const context = yield* Layer.build(wire(server, auth))
        const client = Context.get(context, AnaplanClient.AnaplanClient)
        const source = Context.get(context, TokenSource)
        assert.strictEqual((yield* source.get).expiresAtMillis, lifetime)
        yield* server.injectFault(AnaplanAuthServer.Fault.delay("5 seconds"), connections)
        const calls = yield* Effect.fork(
          Effect.all(Array.from({ length: 2 * connections }, () => client.http.get("/users/me")), { concurrency: "unbounded" })
        )
        yield* eventually(Effect.map(server.counters, (c) => c.usersMe === connections), "the held requests arrived")
        yield* TestClock.adjust(3_700)
        return { server, source, calls }
      })

    it.scoped("refresh-ahead extends the token before expiry behind a saturated API pool: one login, no 401", () =>
      Effect.gen(function*() {
        const { calls, server, source } = yield* saturated((server, auth) =>
          AnaplanClient.layerWithAuth(auth, { apiUrl: server.url, transport: limitedPool })
        )
        yield* eventually(Effect.map(server.counters, (c) => c.refresh === 1), "the refresh arrived")
        // extended while the token was valid: the requests signed with it stay good
        yield* eventually(
          Effect.map(source.current, (held) => held._tag === "Some" && held.value.expiresAtMillis > lifetime),
          "the extended token is installed"
        )
        yield* TestClock.adjust(1_300)
        const responses = yield* Fiber.join(calls)
        assert.deepStrictEqual(responses.map((response) => response.status), Array(2 * connections).fill(200))
        const counters = yield* server.counters
        // none refused (a refused request is sent again, and counted again)
        assert.deepStrictEqual([counters.authenticate, counters.refresh, counters.usersMe], [1, 1, 2 * connections])
      }))

    it.scoped("one pool for both: the refresh queues behind the held requests, arrives after expiry, and becomes a login", () =>
      Effect.gen(function*() {
        const { calls, server } = yield* saturated((server, auth) =>
          AnaplanClient.layer({ apiUrl: server.url }).pipe(Layer.provideMerge(auth), Layer.provide(limitedPool))
        )
        yield* TestClock.adjust(1_300)
        const responses = yield* Fiber.join(calls)
        // the callers see nothing (AuthHttpClient recovers), but the emulator refused requests
        assert.deepStrictEqual(responses.map((response) => response.status), Array(2 * connections).fill(200))
        const counters = yield* server.counters
        assert.strictEqual(counters.authenticate, 2)
        assert.isAbove(counters.usersMe, 2 * connections)
      }))
  })
})
