/**
 * The fault matrix of the core: the engine (`TokenSource`) driving the OAuth 2 client credentials
 * strategy against a raw `node:http` token endpoint that misbehaves in every way a network and a
 * server can. For each fault: the typed error or the recovery a user sees, and that nothing waits
 * past its timeout.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { createServer } from "node:net"
import type * as AuthError from "../src/AuthError.js"
import * as AuthHttpClient from "../src/AuthHttpClient.js"
import * as OAuth2 from "../src/OAuth2.js"
import * as OAuth2Auth from "../src/OAuth2Auth.js"
import * as RefreshPolicy from "../src/RefreshPolicy.js"
import * as TokenSource from "../src/TokenSource.js"
import { eventually, type FaultServer, faultServer, realPause } from "./support/faultServer.js"

const failureOf = <A>(exit: Exit.Exit<A, AuthError.AuthError>): AuthError.AuthError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a token")
  assert.isFalse(Cause.isDie(exit.cause), "no defect")
  return Option.getOrThrow(Cause.failureOption(exit.cause))
}

const value = (token: { readonly accessToken: Redacted.Redacted<string> }) => Redacted.value(token.accessToken)

/** A client credentials source against `server`, with `retries` and a per-request `timeout`. */
const sourceFor = (
  server: FaultServer,
  options: { readonly retries?: number; readonly timeout?: Duration.DurationInput; readonly tokenEndpoint?: string } = {}
): Effect.Effect<TokenSource.TokenSource.Service, AuthError.AuthError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.flatMap(
    OAuth2Auth.clientCredentials({
      endpoints: { tokenEndpoint: options.tokenEndpoint ?? server.tokenEndpoint },
      client: OAuth2.secretPost("client", Redacted.make("client-secret")),
      site: "faulty",
      timeout: options.timeout
    }),
    (strategy) =>
      TokenSource.make(strategy, {
        policy: RefreshPolicy.make({ retries: options.retries ?? 0, jitter: 0 }),
        revokeOnClose: false
      })
  )

/** Drives the test clock in `step`s, letting real I/O run between steps, until `fiber` is done. */
const driveUntilDone = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, step: Duration.DurationInput = "1 second") =>
  Effect.gen(function*() {
    for (let i = 0; i < 600; i++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* TestClock.adjust(step)
      yield* realPause(2)
    }
    return yield* Fiber.await(fiber)
  })

const freePort = Effect.async<number>((resume) => {
  const probe = createServer()
  probe.listen(0, "127.0.0.1", () => {
    const port = (probe.address() as { port: number }).port
    probe.close(() => resume(Effect.succeed(port)))
  })
})

const provide = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>) =>
  effect.pipe(Effect.provide(NodeHttpClient.layerUndici))

describe("core fault matrix: transport", () => {
  it.scoped("connection refused: AuthServiceUnavailable naming the host, retried, never a defect", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      const port = yield* freePort
      const source = yield* sourceFor(server, { retries: 2, tokenEndpoint: `http://127.0.0.1:${port}/token` })
      const error = failureOf(yield* driveUntilDone(yield* Effect.fork(source.get)))
      assert.strictEqual(error._tag, "AuthServiceUnavailable")
      assert.include(error.message, `cannot reach 127.0.0.1:${port}`)
      assert.include(error.message, "ECONNREFUSED")
      assert.include(error.message, "try again")
    })))

  it.scopedLive("a server that accepts and never answers: the timeout fires on time, the call fails", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      server.setDefault({ _tag: "Hang" })
      const source = yield* sourceFor(server, { timeout: "300 millis", retries: 1 })
      const started = Date.now()
      const error = failureOf(yield* Effect.exit(source.get))
      const elapsed = Date.now() - started
      assert.strictEqual(error._tag, "AuthServiceUnavailable")
      assert.include(error.message, "no answer from")
      assert.include(error.message, "within 300ms")
      assert.strictEqual(server.tokenRequests(), 2, "one retry")
      // two attempts of 300 ms and one short backoff (~250 ms): bounded by the timeouts, not the
      // default 30 s; the slack is for a loaded machine
      assert.isAtLeast(elapsed, 600)
      assert.isBelow(elapsed, 3_000)
    })))

  it.scopedLive("a slow answer within the timeout is awaited; beyond it, the retry gets the token", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      server.script({ _tag: "Delay", millis: 200 })
      const patient = yield* sourceFor(server, { timeout: "2 seconds" })
      assert.strictEqual(value(yield* patient.get), "at-1")

      server.script({ _tag: "Delay", millis: 1_500 })
      const hasty = yield* sourceFor(server, { timeout: "400 millis", retries: 1 })
      const token = yield* hasty.get
      // the retry's answer (the server's 2nd token) arrived; the slow one (its 3rd) was abandoned
      assert.strictEqual(value(token), "at-2", "the slow attempt was abandoned at its timeout")
      assert.strictEqual(server.tokenRequests(), 3)
    })))

  it.scoped("a connection reset mid-body is transient: AuthServiceUnavailable, and a retry recovers", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      server.script({ _tag: "Reset" })
      const once = yield* sourceFor(server)
      const error = failureOf(yield* Effect.exit(once.get))
      assert.strictEqual(error._tag, "AuthServiceUnavailable")
      assert.include(error.message, "connection broke while reading")

      server.script({ _tag: "Reset" }, { _tag: "Reset" })
      const retrying = yield* sourceFor(server, { retries: 3 })
      const exit = yield* driveUntilDone(yield* Effect.fork(retrying.get))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(server.tokenRequests(), 4)
    })))
})

describe("core fault matrix: statuses", () => {
  for (const status of [500, 502, 503]) {
    it.scoped(`${status} once is retried with backoff and recovers; ${status} always fails typed after the bound`, () =>
      provide(Effect.gen(function*() {
        const server = yield* faultServer
        server.script({ _tag: "Status", status })
        const source = yield* sourceFor(server, { retries: 3 })
        const fiber = yield* Effect.fork(source.get)
        yield* eventually(() => server.tokenRequests() === 1, "the first attempt")
        yield* realPause(30)
        assert.strictEqual(server.tokenRequests(), 1, "no retry before the backoff")
        const exit = yield* driveUntilDone(fiber, "100 millis")
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(server.tokenRequests(), 2)

        server.setDefault({ _tag: "Status", status })
        const failing = yield* sourceFor(server, { retries: 2 })
        const error = failureOf(yield* driveUntilDone(yield* Effect.fork(failing.get)))
        assert.strictEqual(error._tag, "AuthServiceUnavailable")
        if (error._tag === "AuthServiceUnavailable") assert.strictEqual(error.status, status)
        assert.include(error.message, `answered ${status}`)
        assert.strictEqual(server.tokenRequests(), 2 + 3)
      })))
  }

  it.scoped("429 with Retry-After in seconds: the engine waits at least that long", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      server.script({ _tag: "Status", status: 429, headers: { "retry-after": "7" } })
      const source = yield* sourceFor(server, { retries: 2 })
      const fiber = yield* Effect.fork(source.get)
      yield* eventually(() => server.tokenRequests() === 1, "the first attempt")
      yield* TestClock.adjust("6900 millis")
      yield* realPause(50)
      assert.strictEqual(server.tokenRequests(), 1, "no retry before Retry-After")
      yield* TestClock.adjust("200 millis")
      const token = yield* Fiber.join(fiber)
      assert.strictEqual(value(token), "at-1")
      assert.strictEqual(server.tokenRequests(), 2)
    })))

  it.scoped("429 with Retry-After as an HTTP date: the engine waits until that date", () =>
    provide(Effect.gen(function*() {
      const now = Date.parse("2026-11-23T12:00:00Z")
      yield* TestClock.setTime(now)
      const server = yield* faultServer
      server.script({
        _tag: "Status",
        status: 429,
        headers: { "retry-after": new Date(now + 12_000).toUTCString() }
      })
      const source = yield* sourceFor(server, { retries: 2 })
      const fiber = yield* Effect.fork(source.get)
      yield* eventually(() => server.tokenRequests() === 1, "the first attempt")
      yield* TestClock.adjust("11900 millis")
      yield* realPause(50)
      assert.strictEqual(server.tokenRequests(), 1, "no retry before the Retry-After date")
      yield* TestClock.adjust("200 millis")
      assert.strictEqual(value(yield* Fiber.join(fiber)), "at-1")
    })))

  it.scoped("429 with an absurd Retry-After: the wait is capped at retryCap (30 s), then fails typed", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      server.setDefault({ _tag: "Status", status: 429, headers: { "retry-after": "86400" } })
      const source = yield* sourceFor(server, { retries: 1 })
      const fiber = yield* Effect.fork(source.get)
      yield* eventually(() => server.tokenRequests() === 1, "the first attempt")
      yield* TestClock.adjust("30 seconds")
      yield* eventually(() => server.tokenRequests() === 2, "the capped retry")
      const error = failureOf(yield* Fiber.await(fiber))
      assert.strictEqual(error._tag, "AuthServiceUnavailable")
      if (error._tag === "AuthServiceUnavailable") assert.strictEqual(error.retryAfterMillis, 86_400_000)
      assert.include(error.message, "too many requests")
    })))
})

describe("core fault matrix: bodies", () => {
  const permanent: ReadonlyArray<readonly [string, string, string, string]> = [
    ["truncated JSON", "{\"access_token\":\"at-x\",\"token_ty", "application/json", "expected JSON"],
    ["an HTML page with status 200", "<html><body>Service maintenance</body></html>", "text/html", "got text/html"],
    ["an empty body", "", "application/json", "an empty body"],
    ["JSON without access_token", "{\"token_type\":\"Bearer\"}", "application/json", "access_token is missing"],
    ["a form-encoded answer", "access_token=at-x&token_type=bearer", "application/x-www-form-urlencoded", "expected JSON"],
    ["a wrong expires_in", "{\"access_token\":\"at-x\",\"token_type\":\"Bearer\",\"expires_in\":\"soon\"}", "application/json", "expires_in"]
  ]
  for (const [name, body, contentType, says] of permanent) {
    it.scoped(`${name}: MalformedResponse at once, not retried, quoting nothing`, () =>
      provide(Effect.gen(function*() {
        const server = yield* faultServer
        server.script({ _tag: "Body", body, contentType })
        const source = yield* sourceFor(server, { retries: 3 })
        const error = failureOf(yield* Effect.exit(source.get))
        assert.strictEqual(error._tag, "MalformedResponse")
        assert.include(error.message, says)
        assert.notInclude(error.message, "at-x")
        assert.include(error.message, "Check that the configured host")
        assert.strictEqual(server.tokenRequests(), 1, "a malformed answer is not retried")
      })))
  }

  it.scoped("a good JSON body with a wrong content type is still decoded (lenient, as servers vary)", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      server.script({
        _tag: "Body",
        body: "{\"access_token\":\"at-plain\",\"token_type\":\"Bearer\",\"expires_in\":60}",
        contentType: "text/plain"
      })
      const source = yield* sourceFor(server)
      assert.strictEqual(value(yield* source.get), "at-plain")
    })))

  it.scopedLive("an endless body is cut at 1 MiB: MalformedResponse, and the read stops", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      server.script({ _tag: "Endless" })
      const source = yield* sourceFor(server, { timeout: "10 seconds" })
      const error = failureOf(yield* Effect.exit(source.get))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.include(error.message, "larger than 1048576 bytes")
      yield* eventually(server.endlessStopped, "the server notices the client hung up")
      assert.isBelow(server.endlessBytes(), 32 * 1024 * 1024, "the client did not read the endless body")
    })))

  it.scoped("a declared Content-Length over the bound is refused before reading", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      server.script({ _tag: "Endless", declareLength: 50 * 1024 * 1024 })
      const source = yield* sourceFor(server)
      const error = failureOf(yield* Effect.exit(source.get))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.include(error.message, "larger than")
    })))
})

describe("core fault matrix: expiry and rejection", () => {
  it.scoped("expires_in 0 (expiresAt already past): each get logs in again, without a hot loop upstream", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      server.setDefault({ _tag: "Token", expiresIn: 0 })
      const source = yield* sourceFor(server)
      const first = yield* source.get
      assert.strictEqual(value(first), "at-1")
      // the engine must not spin: give it real time with the clock standing still
      yield* realPause(300)
      const afterPause = server.tokenRequests()
      assert.isAtMost(afterPause, 3, `upstream calls while idle: ${afterPause}`)
      const second = yield* source.get
      assert.notStrictEqual(value(second), value(first), "an expired token is never served again")
    })))

  it.scoped("a token living 20 s (shorter than the 30 s jitter): renewed in the background, at most every 12 s", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      server.setDefault({ _tag: "Token", expiresIn: 20 })
      const source = yield* TokenSource.make(
        yield* OAuth2Auth.clientCredentials({
          endpoints: { tokenEndpoint: server.tokenEndpoint },
          client: OAuth2.secretPost("client", Redacted.make("client-secret"))
        }),
        { policy: RefreshPolicy.defaults, revokeOnClose: false }
      )
      yield* source.get
      yield* realPause(200)
      assert.strictEqual(server.tokenRequests(), 1, "no renewal before the clock moves")
      for (let second = 0; second < 60; second++) {
        yield* TestClock.adjust("1 second")
        yield* realPause(3)
      }
      yield* realPause(50)
      // 20 s tokens are renewed between 12 s and 16 s of their life (margin 4 s, jitter at most the
      // margin): over 60 s, 4 to 6 calls in all, and a fresh token at the end
      assert.isAtMost(server.tokenRequests(), 6)
      assert.isAtLeast(server.tokenRequests(), 4, "yet renewed ahead of every expiry")
      assert.isTrue(Option.exists(yield* source.current, (t) => t.isFresh(60_000)))
    })))

  it.scoped("clock skew +/- 10 minutes: expires_in is counted from the local clock, so expiry is unaffected", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      for (const skew of [-10, 10]) {
        const now = Date.parse("2026-11-23T12:00:00Z")
        yield* TestClock.setTime(now)
        // the server's own idea of time is off; it only speaks relative lifetimes
        server.script({ _tag: "Token", expiresIn: 3600, extra: { server_time: now + skew * 60_000 } })
        const source = yield* sourceFor(server)
        const token = yield* source.get
        assert.strictEqual(token.expiresAtMillis, now + 3_600_000)
      }
    })))

  it.scoped("a token the API rejects on first use: AuthHttpClient invalidates it, gets a new one, and succeeds", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      server.apiRejects.add("at-1")
      const source = yield* sourceFor(server)
      const client = AuthHttpClient.make(source)(yield* HttpClient.HttpClient)
      const response = yield* client.get(server.apiUrl)
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(server.apiSeen, ["Bearer at-1", "Bearer at-2"])
      assert.strictEqual(server.tokenRequests(), 2)
      // the new token is kept: the next call needs no login
      assert.strictEqual((yield* client.get(server.apiUrl)).status, 200)
      assert.strictEqual(server.tokenRequests(), 2)
    })))

  it.scoped("an API that rejects every token: InvalidCredentials after exactly one renewal, no loop", () =>
    provide(Effect.gen(function*() {
      const server = yield* faultServer
      for (let i = 1; i <= 10; i++) server.apiRejects.add(`at-${i}`)
      const source = yield* sourceFor(server)
      const client = AuthHttpClient.make(source)(yield* HttpClient.HttpClient)
      const error = yield* Effect.flip(client.get(server.apiUrl))
      assert.strictEqual(error._tag, "InvalidCredentials")
      assert.include(error.message, "refused (401) twice")
      assert.strictEqual(server.apiSeen.length, 2)
      assert.strictEqual(server.tokenRequests(), 2)
    })))
})
