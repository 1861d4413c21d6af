/**
 * The Anaplan fault matrix: `AnaplanAuth.layerBasic` (and `AnaplanClient`) against the emulator
 * while it misbehaves: refused connections, hangs, slow answers, 5xx, 429 with `Retry-After`,
 * HTML and truncated bodies, oversized bodies, tokens already expired, server clocks 10 minutes
 * off, tokens the API rejects; and, with a persisted store on a secure file, that no stored token
 * is ever lost or corrupted by a failed renewal.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as AuthError from "@effect-auth/core/AuthError"
import * as RefreshPolicy from "@effect-auth/core/RefreshPolicy"
import * as SecureFileStore from "@effect-auth/core/SecureFileStore"
import type * as Token from "@effect-auth/core/Token"
import * as TokenLock from "@effect-auth/core/TokenLock"
import { TokenSource } from "@effect-auth/core/TokenSource"
import * as TokenStore from "@effect-auth/core/TokenStore"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import * as AnaplanAuth from "../src/AnaplanAuth.js"
import * as AnaplanAuthServer from "../src/AnaplanAuthServer.js"
import * as AnaplanClient from "../src/AnaplanClient.js"

type Server = AnaplanAuthServer.AnaplanAuthServer.Service
const Fault = AnaplanAuthServer.Fault
const demo = AnaplanAuthServer.demoUser
const password = Redacted.make(demo.password!)

// a 20 % margin share, which these timings were written for (the default is 5 %)
const policy = (retries: number) => RefreshPolicy.make({ jitter: Duration.zero, retries, marginRatio: 0.2 })

const value = (token: Token.Token) => Redacted.value(token.accessToken)

const failureOf = <A>(exit: Exit.Exit<A, AuthError.AuthError>): AuthError.AuthError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  assert.isFalse(Cause.isDie(exit.cause), "no defect")
  return Option.getOrThrow(Cause.failureOption(exit.cause))
}

const realPause = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

/** Waits, in real time, until `condition` holds. */
const eventually = <E, R>(condition: Effect.Effect<boolean, E, R>, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1_000; i++) {
      if (yield* condition) return
      yield* realPause(5)
    }
    assert.fail(`timed out waiting until ${what}`)
  })

const authenticated = (server: Server, n: number) =>
  eventually(Effect.map(server.counters, (c) => c.authenticate >= n), `${n} login requests arrived`)

/** Drives the test clock in `step`s with real I/O in between until `fiber` is done. */
const driveUntilDone = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, step: Duration.DurationInput = "1 second") =>
  Effect.gen(function*() {
    for (let i = 0; i < 600; i++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* TestClock.adjust(step)
      yield* realPause(2)
    }
    return yield* Fiber.await(fiber)
  })

const sourceOf = <E>(layer: Layer.Layer<TokenSource, E, HttpClient.HttpClient>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, TokenSource))

const basic = (server: Server | { readonly url: string }, retries = 0) =>
  sourceOf(AnaplanAuth.layerBasic({
    email: demo.email,
    password,
    authUrl: server.url,
    site: "emulated",
    tokenSource: { policy: policy(retries) }
  }))

const withServer = <A, E>(
  f: (server: Server) => Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>,
  options?: AnaplanAuthServer.Options
) => Effect.flatMap(AnaplanAuthServer.make(options), f).pipe(Effect.provide(NodeHttpClient.layerUndici))

const freePort = Effect.async<number>((resume) => {
  const probe = createServer()
  probe.listen(0, "127.0.0.1", () => {
    const port = (probe.address() as { port: number }).port
    probe.close(() => resume(Effect.succeed(port)))
  })
})

/** A clock `offsetMillis` ahead of `base` (behind when negative): an Anaplan server whose clock is off. */
const skewed = (base: Clock.Clock, offsetMillis: number): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis() + offsetMillis,
  currentTimeMillis: Effect.map(base.currentTimeMillis, (now) => now + offsetMillis),
  unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos() + BigInt(offsetMillis) * 1_000_000n,
  currentTimeNanos: Effect.map(base.currentTimeNanos, (now) => now + BigInt(offsetMillis) * 1_000_000n),
  sleep: (duration) => base.sleep(duration)
})

describe("Anaplan fault matrix: transport", () => {
  it.scoped("connection refused: AuthServiceUnavailable naming the host after the retries", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const source = yield* basic({ url: `http://127.0.0.1:${port}` }, 2)
      const error = failureOf(yield* driveUntilDone(yield* Effect.fork(source.get)))
      assert.strictEqual(error._tag, "AuthServiceUnavailable")
      assert.include(error.message, `cannot reach 127.0.0.1:${port}`)
      assert.include(error.message, "[emulated]")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a hang: the 30 s timeout fires, the retry logs in; hanging every time fails after the bound", () =>
    withServer((server) =>
      Effect.gen(function*() {
        yield* server.injectFault(Fault.hang())
        const source = yield* basic(server, 1)
        const fiber = yield* Effect.fork(source.get)
        yield* authenticated(server, 1)
        yield* TestClock.adjust("29 seconds")
        yield* realPause(30)
        assert.strictEqual((yield* server.counters).authenticate, 1, "no second attempt before the timeout")
        yield* TestClock.adjust("1 second")
        const token = yield* driveUntilDone(fiber, "100 millis")
        assert.isTrue(Exit.isSuccess(token))
        assert.strictEqual((yield* server.counters).authenticate, 2)

        yield* server.injectFault(Fault.hang(), 2)
        const stuck = yield* basic(server, 1)
        const started = yield* Clock.currentTimeMillis
        const error = failureOf(yield* driveUntilDone(yield* Effect.fork(stuck.get)))
        const waited = (yield* Clock.currentTimeMillis) - started
        assert.strictEqual(error._tag, "AuthServiceUnavailable")
        assert.include(error.message, "no answer from")
        assert.isAtMost(waited, 62_000, "two timeouts and a short backoff, no more")
      })))

  it.scoped("a connection reset mid-body: AuthServiceUnavailable without retries; with them the login recovers", () =>
    withServer((server) =>
      Effect.gen(function*() {
        yield* server.injectFault(Fault.reset())
        const once = yield* basic(server, 0)
        const error = failureOf(yield* Effect.exit(once.get))
        assert.strictEqual(error._tag, "AuthServiceUnavailable")
        assert.include(error.message, "[emulated]")

        yield* server.injectFault(Fault.reset(), 2)
        const retrying = yield* basic(server, 3)
        assert.isTrue(Exit.isSuccess(yield* driveUntilDone(yield* Effect.fork(retrying.get), "100 millis")))
        assert.strictEqual((yield* server.counters).authenticate, 4)
      })))

  it.scoped("a slow answer (20 s) inside the timeout is awaited; a 40 s one is abandoned at 30 s and retried", () =>
    withServer((server) =>
      Effect.gen(function*() {
        yield* server.injectFault(Fault.delay("20 seconds"))
        const patient = yield* basic(server)
        const fiber = yield* Effect.fork(patient.get)
        yield* authenticated(server, 1)
        yield* TestClock.adjust("20 seconds")
        assert.isTrue(Exit.isSuccess(yield* driveUntilDone(fiber, "100 millis")))

        yield* server.injectFault(Fault.delay("40 seconds"))
        const hasty = yield* basic(server, 1)
        const second = yield* Effect.fork(hasty.get)
        yield* authenticated(server, 2)
        yield* TestClock.adjust("30 seconds")
        assert.isTrue(Exit.isSuccess(yield* driveUntilDone(second, "100 millis")))
        assert.strictEqual((yield* server.counters).authenticate, 3)
      })))
})

describe("Anaplan fault matrix: statuses", () => {
  for (const status of [500, 502, 503]) {
    it.scoped(`${status} is retried and recovers; ${status} every time is AuthServiceUnavailable after the bound`, () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* server.injectFault(Fault.status(status))
          const source = yield* basic(server, 2)
          assert.isTrue(Exit.isSuccess(yield* driveUntilDone(yield* Effect.fork(source.get), "100 millis")))
          assert.strictEqual((yield* server.counters).authenticate, 2)

          yield* server.injectFault(Fault.status(status), 3)
          const failing = yield* basic(server, 2)
          const error = failureOf(yield* driveUntilDone(yield* Effect.fork(failing.get), "100 millis"))
          assert.strictEqual(error._tag, "AuthServiceUnavailable")
          if (error._tag === "AuthServiceUnavailable") assert.strictEqual(error.status, status)
          assert.strictEqual((yield* server.counters).authenticate, 5)
        })))
  }

  it.scoped("429 with Retry-After: 7 waits at least 7 s; as an HTTP date, until that date", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const now = Date.parse("2026-11-23T12:00:00Z")
        yield* TestClock.setTime(now)
        yield* server.injectFault(Fault.status(429, { retryAfter: "7" }))
        const source = yield* basic(server, 2)
        const fiber = yield* Effect.fork(source.get)
        yield* authenticated(server, 1)
        yield* TestClock.adjust("6900 millis")
        yield* realPause(40)
        assert.strictEqual((yield* server.counters).authenticate, 1, "no retry before Retry-After")
        yield* TestClock.adjust("200 millis")
        assert.isTrue(Exit.isSuccess(yield* driveUntilDone(fiber, "100 millis")))

        const at = (yield* Clock.currentTimeMillis) + 12_000
        yield* server.injectFault(Fault.status(429, { retryAfter: new Date(at).toUTCString() }))
        const other = yield* basic(server, 2)
        const second = yield* Effect.fork(other.get)
        yield* authenticated(server, 3)
        yield* TestClock.adjust("11 seconds")
        yield* realPause(40)
        assert.strictEqual((yield* server.counters).authenticate, 3, "no retry before the Retry-After date")
        yield* TestClock.adjust("1 second")
        assert.isTrue(Exit.isSuccess(yield* driveUntilDone(second, "100 millis")))
        assert.strictEqual((yield* server.counters).authenticate, 4)
      })))
})

describe("Anaplan fault matrix: bodies", () => {
  const cases: ReadonlyArray<readonly [string, AnaplanAuthServer.Fault, string]> = [
    ["an HTML page with status 201", Fault.body("<html><body>Down for maintenance</body></html>", { contentType: "text/html" }), "got text/html"],
    ["an HTML page with status 200", Fault.body("<html></html>", { status: 200, contentType: "text/html" }), "expected JSON"],
    ["truncated JSON", Fault.body("{\"status\":\"SUCCESS\",\"tokenInfo\":{\"tokenValue\":\"SECRET-cut"), "expected JSON"],
    ["JSON without tokenInfo", Fault.body("{\"status\":\"SUCCESS\"}"), "tokenInfo is missing"],
    ["an expiry that is not a number", Fault.body("{\"tokenInfo\":{\"tokenValue\":\"SECRET-t\",\"expiresAt\":\"soon\"}}"), "tokenInfo.expiresAt"],
    ["an expiry beyond any date", Fault.body("{\"tokenInfo\":{\"tokenValue\":\"SECRET-t\",\"expiresAt\":1e300}}"), "tokenInfo.expiresAt"],
    ["an oversized body (2 MiB)", Fault.body(`{"pad":"${"x".repeat(2 * 1024 * 1024)}"}`), "larger than 1048576 bytes"]
  ]
  for (const [name, fault, says] of cases) {
    it.scoped(`${name}: MalformedResponse at once, not retried, no token quoted`, () =>
      withServer((server) =>
        Effect.gen(function*() {
          yield* server.injectFault(fault)
          const source = yield* basic(server, 3)
          const error = failureOf(yield* Effect.exit(source.get))
          assert.strictEqual(error._tag, "MalformedResponse")
          assert.include(error.message, says)
          assert.notInclude(error.message, "SECRET")
          assert.strictEqual((yield* server.counters).authenticate, 1)
          // the next login is unaffected
          assert.isTrue(Exit.isSuccess(yield* Effect.exit(source.get)))
        })))
  }

  it.scoped("a good answer with a wrong content type is decoded all the same", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* server.injectFault(Fault.body(
          JSON.stringify({ status: "SUCCESS", tokenInfo: { tokenValue: "plain-token", expiresAt: now + 60_000 } }),
          { contentType: "text/plain" }
        ))
        const source = yield* basic(server)
        assert.strictEqual(value(yield* source.get), "plain-token")
      })))
})

describe("Anaplan fault matrix: time", () => {
  it.scoped("a token already expired on arrival: handed out once, never in a loop, the next get logs in", () =>
    withServer((server) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-11-23T12:00:00Z"))
        const now = yield* Clock.currentTimeMillis
        yield* server.injectFault(Fault.body(
          JSON.stringify({ status: "SUCCESS", tokenInfo: { tokenValue: "already-dead", expiresAt: now - 1_000 } })
        ))
        const source = yield* basic(server)
        assert.strictEqual(value(yield* source.get), "already-dead")
        yield* realPause(300)
        assert.strictEqual((yield* server.counters).authenticate, 1, "no background renewal loop")
        const next = yield* source.get
        assert.notStrictEqual(value(next), "already-dead")
        assert.strictEqual((yield* server.counters).authenticate, 2)
      })))

  it.scoped("the server's clock 10 minutes AHEAD: a token rejected before its believed expiry is recovered by AnaplanClient", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-11-23T12:00:00Z"))
      const clock = yield* Effect.clock
      const server = yield* AnaplanAuthServer.make().pipe(Effect.withClock(skewed(clock, 10 * 60_000)))
      const layer = AnaplanClient.layer({ apiUrl: server.url }).pipe(
        Layer.provideMerge(AnaplanAuth.layerBasic({
          email: demo.email,
          password,
          authUrl: server.url,
          tokenSource: { policy: policy(0) }
        }))
      )
      const context = yield* Layer.build(layer)
      const client = Context.get(context, AnaplanClient.AnaplanClient)
      const source = Context.get(context, TokenSource)
      const token = yield* source.get
      assert.strictEqual(token.expiresAtMillis, (yield* Clock.currentTimeMillis) + 45 * 60_000, "believed: 45 minutes")
      // at 36 minutes the token looks fresh here, but the server (10 minutes ahead) expired it
      yield* TestClock.adjust("36 minutes")
      const user = yield* client.whoami
      assert.strictEqual(user.email, demo.email)
      const counters = yield* server.counters
      assert.strictEqual(counters.usersMe, 2, "the rejected call and its one retry")
      assert.isAtLeast(counters.authenticate + counters.refresh, 2, "a new token was obtained")
      assert.notStrictEqual(value(yield* source.get), value(token))
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("the server's clock 10 minutes BEHIND: the token is renewed early, and the API never refuses it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-11-23T12:00:00Z"))
      const clock = yield* Effect.clock
      const server = yield* AnaplanAuthServer.make().pipe(Effect.withClock(skewed(clock, -10 * 60_000)))
      const source = yield* basic(server)
      const token = yield* source.get
      assert.strictEqual(token.expiresAtMillis, (yield* Clock.currentTimeMillis) + 25 * 60_000, "believed: 25 minutes")
      // refresh-ahead at 25 - 5 minutes
      yield* TestClock.adjust("20 minutes")
      yield* eventually(Effect.map(server.counters, (c) => c.refresh === 1), "the early refresh")
      // the request has arrived; its answer is installed a moment later
      yield* eventually(
        Effect.map(source.current, (held) => Option.exists(held, (t) => value(t) !== value(token))),
        "the renewed token installed"
      )
      const renewed = yield* source.get
      assert.notStrictEqual(value(renewed), value(token))
      const validation = yield* AnaplanAuth.validate(renewed, { authUrl: server.url })
      assert.strictEqual(validation.email, demo.email)
      assert.strictEqual((yield* server.counters).authenticate, 1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a token the API rejects on first use (expireAllTokens): AnaplanClient renews once and the call succeeds", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const context = yield* Layer.build(
          AnaplanClient.layer({ apiUrl: server.url }).pipe(
            Layer.provideMerge(AnaplanAuth.layerBasic({
              email: demo.email,
              password,
              authUrl: server.url,
              tokenSource: { policy: policy(0) }
            }))
          )
        )
        const client = Context.get(context, AnaplanClient.AnaplanClient)
        yield* Context.get(context, TokenSource).get
        yield* server.expireAllTokens
        const user = yield* client.whoami
        assert.strictEqual(user.email, demo.email)
        assert.strictEqual((yield* server.counters).usersMe, 2)
      })))
})

describe("Anaplan fault matrix: persisted tokens survive every failed renewal", () => {
  it.scoped("503s, a hang, HTML and truncated JSON during refresh leave the stored token whole and usable", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const directory = yield* fs.makeTempDirectoryScoped({ prefix: "effect-auth-faults-" })
        const stores = Layer.merge(
          SecureFileStore.layerTokenStore({ directory }),
          TokenLock.layerFile({ directory })
        )
        const strategy = AnaplanAuth.basic({ email: demo.email, password, authUrl: server.url, site: "emulated" })
        const context = yield* Layer.build(
          TokenStore.layerPersisted(strategy, { key: "emulated", policy: policy(1) }).pipe(Layer.provideMerge(stores))
        )
        const source = Context.get(context, TokenSource)
        const store = Context.get(context, TokenStore.TokenStore)
        const stored = () => Effect.map(store.load("emulated"), Option.getOrThrow)
        const original = yield* source.get
        assert.strictEqual(value(yield* stored()), value(original))

        const faults: ReadonlyArray<readonly [string, AnaplanAuthServer.Fault, number]> = [
          ["503", Fault.status(503), 2],
          ["hang", Fault.hang(), 2],
          ["HTML", Fault.body("<html>maintenance</html>", { contentType: "text/html" }), 1],
          ["truncated", Fault.body("{\"tokenInfo\":{\"tokenValue\":\"cut"), 1]
        ]
        for (const [name, fault, times] of faults) {
          yield* server.injectFault(fault, times)
          const exit = yield* driveUntilDone(yield* Effect.fork(source.refresh), "5 seconds")
          assert.isTrue(Exit.isFailure(exit), `${name}: the refresh fails`)
          const kept = yield* stored()
          assert.strictEqual(value(kept), value(original), `${name}: the stored token is the last good one`)
          assert.strictEqual(kept.expiresAtMillis, original.expiresAtMillis)
          // the file is whole JSON, 0600
          const file = `${directory}/credentials.json`
          assert.doesNotThrow(() => JSON.parse(readFileSync(file, "utf8")), `${name}: the file parses`)
          assert.strictEqual((yield* fs.stat(file)).mode & 0o777, 0o600)
        }
        // the kept token still works at Anaplan, and a good refresh replaces it in the store
        assert.strictEqual((yield* AnaplanAuth.validate(original, { authUrl: server.url })).email, demo.email)
        const renewed = yield* source.refresh
        assert.notStrictEqual(value(renewed), value(original))
        assert.strictEqual(value(yield* stored()), value(renewed))
      }).pipe(Effect.provide(NodeContext.layer))))
})
