import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as AuthError from "../src/AuthError.js"
import * as AuthStrategy from "../src/AuthStrategy.js"
import * as RefreshPolicy from "../src/RefreshPolicy.js"
import * as Testing from "../src/Testing.js"
import * as Token from "../src/Token.js"
import * as TokenSource from "../src/TokenSource.js"

const value = (token: { readonly accessToken: Redacted.Redacted<string> }) => Redacted.value(token.accessToken)

const unavailable = (retryAfterMillis?: number) =>
  new AuthError.AuthServiceUnavailable({ detail: "down", status: 503, retryAfterMillis })
const rejected = new AuthError.InvalidCredentials({ detail: "no" })

// No jitter so that timing assertions are exact; a 20 % margin share, which these timings were
// written for (RefreshPolicy.test.ts covers the defaults).
const policy = RefreshPolicy.make({ jitter: Duration.zero, marginRatio: 0.2 })

describe("TokenSource", () => {
  it.effect("a get after the source's scope closed dies with a message instead of hanging", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy()
      const scope = yield* Scope.make()
      const source = yield* TokenSource.make(script.strategy, { policy }).pipe(Scope.extend(scope))
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Effect.exit(source.get.pipe(Effect.timeout("1 second")))
      assert.isTrue(Exit.isFailure(exit) && Exit.isFailure(exit) && exit.cause._tag === "Die")
      assert.include(String(exit), "used after its scope closed")
      assert.deepStrictEqual(yield* script.calls, { acquire: 0, refresh: 0, revoke: 0 })
    }))

  it.scoped("serves the held token without calling the strategy again while fresh", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy()
      const source = yield* TokenSource.make(script.strategy, { policy })
      const first = yield* source.get
      yield* TestClock.adjust(Duration.minutes(30))
      const second = yield* source.get
      assert.strictEqual(first, second)
      assert.strictEqual(value(first), "token-1")
      assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 0, revoke: 0 })
    }))

  it.scoped("one get, held and run again, decides each time it runs: yielded, piped, invalidated or expired", () =>
    Effect.gen(function*() {
      // no refresh: each renewal is a new login, numbered
      const script = yield* Testing.scriptedStrategy({ lifetime: Duration.minutes(10), refresh: false })
      const source = yield* TokenSource.make(script.strategy, { policy })
      const get = source.get
      const piped = Effect.map(get, value)
      // the first yield meets a fresh token: what it takes must not stick to `get`
      assert.strictEqual(yield* piped, "token-1")
      assert.strictEqual(value(yield* get), "token-1")
      yield* source.invalidate(yield* get)
      // the same objects, after the token was dropped: both wait for a new one
      assert.strictEqual(value(yield* get), "token-2")
      assert.strictEqual(yield* piped, "token-2")
      // past the token's expiry (renewed ahead or by this get): a yield of the held `get` does not
      // take the exit it took before
      yield* TestClock.adjust(Duration.minutes(10))
      const renewed = value(yield* get)
      assert.notStrictEqual(renewed, "token-2")
      assert.strictEqual(yield* piped, renewed)
    }))

  it.scoped("10,000 concurrent cold gets cause one strategy call and all get its token", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({ latency: Duration.millis(50) })
      const source = yield* TokenSource.make(script.strategy, { policy })
      const fiber = yield* Effect.all(Array.from({ length: 10_000 }, () => source.get), {
        concurrency: "unbounded"
      }).pipe(Effect.fork)
      yield* TestClock.adjust(Duration.millis(50))
      const tokens = yield* Fiber.join(fiber)
      assert.strictEqual(new Set(tokens.map(value)).size, 1)
      assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 0, revoke: 0 })
    }))

  it.scoped("concurrent gets share one failure, and the failure is not cached", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({ acquire: [rejected] })
      const source = yield* TokenSource.make(script.strategy, { policy })
      const exits = yield* Effect.all(Array.from({ length: 100 }, () => Effect.exit(source.get)), {
        concurrency: "unbounded"
      })
      assert.isTrue(exits.every((exit) => Exit.isFailure(exit)))
      assert.strictEqual((yield* script.calls).acquire, 1)
      const token = yield* source.get
      assert.strictEqual(value(token), "token-1")
      assert.strictEqual((yield* script.calls).acquire, 2)
    }))

  it.scoped("refreshes ahead of expiry in the background", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({ lifetime: Duration.minutes(35) })
      const source = yield* TokenSource.make(script.strategy, { policy })
      yield* source.get
      // margin = min(5 min, 20% of 35 min = 7 min) = 5 min: due at 30 min.
      yield* TestClock.adjust(Duration.minutes(30).pipe(Duration.subtract(Duration.seconds(1))))
      assert.strictEqual((yield* script.calls).refresh, 0)
      yield* TestClock.adjust(Duration.seconds(1))
      assert.strictEqual((yield* script.calls).refresh, 1)
      assert.strictEqual(value(yield* source.get), "token-2")
      // and again, 30 minutes after the second token was issued
      yield* TestClock.adjust(Duration.minutes(30))
      assert.strictEqual((yield* script.calls).refresh, 2)
      assert.strictEqual((yield* script.calls).acquire, 1)
    }))

  it.scoped("a rejected refresh falls back to a new login for a non-interactive strategy", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({ lifetime: Duration.minutes(10), refresh: [rejected] })
      const source = yield* TokenSource.make(script.strategy, { policy })
      yield* source.get
      yield* TestClock.adjust(Duration.minutes(8))
      assert.deepStrictEqual(yield* script.calls, { acquire: 2, refresh: 1, revoke: 0 })
      assert.strictEqual(value(yield* source.get), "token-2")
    }))

  it.scoped("a rejected refresh of an interactive strategy makes the next get fail with TokenExpired", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({
        lifetime: Duration.minutes(10),
        refresh: [rejected],
        interactive: true
      })
      const source = yield* TokenSource.make(script.strategy, { policy })
      yield* source.get
      yield* TestClock.adjust(Duration.minutes(8))
      const error = yield* Effect.flip(source.get)
      assert.strictEqual(error._tag, "TokenExpired")
      assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 1, revoke: 0 })
      // an explicit login recovers
      assert.strictEqual(value(yield* source.login), "token-2")
      assert.strictEqual(value(yield* source.get), "token-2")
    }))

  it.scoped("invalidate is compare-and-set", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({ refresh: false })
      const source = yield* TokenSource.make(script.strategy, { policy })
      const first = yield* source.get
      yield* source.invalidate(first)
      const second = yield* source.get
      assert.strictEqual(value(second), "token-2")
      // a late 401 for the first token must not discard the second
      yield* source.invalidate(first)
      assert.strictEqual(value(yield* source.get), "token-2")
      assert.strictEqual((yield* script.calls).acquire, 2)
    }))

  it.effect("revokes the held token when the scope closes", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy()
      const scope = yield* Scope.make()
      const source = yield* TokenSource.make(script.strategy, { policy }).pipe(Scope.extend(scope))
      const token = yield* source.get
      yield* Scope.close(scope, Exit.void)
      const revoked = yield* script.revoked
      assert.deepStrictEqual(revoked.map(value), [value(token)])
    }))

  it.scoped("retries transient failures with backoff, honouring Retry-After", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({ acquire: [unavailable(10_000), unavailable()] })
      const source = yield* TokenSource.make(script.strategy, { policy })
      const fiber = yield* Effect.fork(source.get)
      yield* TestClock.adjust(Duration.seconds(9))
      assert.strictEqual((yield* script.calls).acquire, 1)
      yield* TestClock.adjust(Duration.seconds(1))
      assert.strictEqual((yield* script.calls).acquire, 2)
      yield* TestClock.adjust(Duration.seconds(5))
      const token = yield* Fiber.join(fiber)
      assert.strictEqual(value(token), "token-1")
      assert.strictEqual((yield* script.calls).acquire, 3)
    }))

  it.scoped("gives up after the retry bound and does not retry permanent failures", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({ acquire: Array.from({ length: 10 }, () => unavailable()) })
      const source = yield* TokenSource.make(script.strategy, { policy: RefreshPolicy.make({ retries: 2 }) })
      const fiber = yield* Effect.fork(Effect.flip(source.get))
      yield* TestClock.adjust(Duration.minutes(5))
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "AuthServiceUnavailable")
      assert.strictEqual((yield* script.calls).acquire, 3)

      const permanent = yield* Testing.scriptedStrategy({ acquire: [rejected] })
      const other = yield* TokenSource.make(permanent.strategy, { policy })
      assert.strictEqual((yield* Effect.flip(other.get))._tag, "InvalidCredentials")
      assert.strictEqual((yield* permanent.calls).acquire, 1)
    }))

  it.scoped("current reads the held token without I/O", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy()
      const source = yield* TokenSource.make(script.strategy, { policy })
      assert.isTrue(Option.isNone(yield* source.current))
      yield* source.get
      assert.strictEqual(Option.map(yield* source.current, value).pipe(Option.getOrNull), "token-1")
    }))

  it.scoped("callers keep the held token while a background refresh is under way", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({ lifetime: Duration.minutes(35), latency: Duration.seconds(20) })
      const source = yield* TokenSource.make(script.strategy, { policy })
      const acquiring = yield* Effect.fork(source.get)
      yield* TestClock.adjust(Duration.seconds(20))
      yield* Fiber.join(acquiring)
      yield* TestClock.adjust(Duration.minutes(30)) // refresh due: starts, takes 20 s
      assert.strictEqual((yield* script.calls).refresh, 1)
      const during = yield* source.get.pipe(Effect.timeoutOption(0))
      assert.strictEqual(Option.map(during, value).pipe(Option.getOrNull), "token-1")
      yield* TestClock.adjust(Duration.seconds(20))
      assert.strictEqual(value(yield* source.get), "token-2")
    }))

  it.scoped("a failing background refresh is retried until it succeeds, before expiry", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({
        lifetime: Duration.minutes(35),
        refresh: Array.from({ length: 8 }, () => unavailable())
      })
      const source = yield* TokenSource.make(script.strategy, { policy })
      yield* source.get
      yield* TestClock.adjust(Duration.minutes(34))
      const calls = yield* script.calls
      assert.strictEqual(calls.refresh, 9)
      assert.strictEqual(calls.acquire, 1)
      assert.strictEqual(value(yield* source.get), "token-2")
    }))

  it.scoped("a token without expiry is served until invalidated and never refreshed", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({ lifetime: Duration.infinity })
      const source = yield* TokenSource.make(script.strategy, { policy })
      const token = yield* source.get
      assert.strictEqual(token.expiresAtMillis, Infinity)
      yield* TestClock.adjust(Duration.days(365))
      assert.strictEqual(yield* source.get, token)
      assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 0, revoke: 0 })
    }))

  it.scoped("logs name the strategy but never a token", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ annotations, message }) => {
        lines.push(JSON.stringify({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) }))
      })
      yield* Effect.gen(function*() {
        const script = yield* Testing.scriptedStrategy({ lifetime: Duration.minutes(10), refresh: [rejected] })
        const source = yield* TokenSource.make(script.strategy, { policy })
        yield* source.get
        yield* TestClock.adjust(Duration.minutes(9))
        yield* source.get
      }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)), Logger.withMinimumLogLevel(LogLevel.Debug))
      assert.isAbove(lines.length, 0)
      assert.isTrue(lines.some((line) => line.includes("scripted")))
      for (const line of lines) {
        assert.notInclude(line, "token-")
        assert.notInclude(line, "refresh-")
      }
    }))

  it.scoped("spans name the strategy and site, and carry no secret", () =>
    Effect.gen(function*() {
      const seen: Array<{ name: string; attributes: Record<string, unknown> }> = []
      const strategy = AuthStrategy.make({
        name: "probe",
        site: "prod",
        acquire: Effect.flatMap(Effect.currentSpan, (span) =>
          Effect.sync(() => {
            seen.push({ name: span.name, attributes: Object.fromEntries(span.attributes) })
            return Testing.makeToken({ value: "secret-value", lifetime: Duration.hours(1) })
          })).pipe(Effect.orDie)
      })
      const source = yield* TokenSource.make(strategy, { policy })
      yield* source.get
      assert.strictEqual(seen.length, 1)
      assert.strictEqual(seen[0].name, "TokenSource.acquire")
      assert.deepStrictEqual(seen[0].attributes, { "auth.strategy": "probe", "auth.site": "prod" })
      assert.notInclude(JSON.stringify(seen), "secret-value")
    }))
})

describe("TokenSource: a refresh that extends the token", () => {
  it.scoped("same value, later expiry: an extension keeps the refresh token and scopes the answer did not restate", () =>
    Effect.gen(function*() {
      const issue = (expiresAt: number, refreshToken?: string) =>
        Token.make({ accessToken: "same-value", issuedAt: 0, expiresAt, refreshToken, scopes: refreshToken ? ["a"] : [] })
      const strategy = AuthStrategy.make({
        name: "extending",
        acquire: Effect.succeed(issue(60_000, "rt-1")),
        refresh: (token) => Effect.succeed(issue(token.expiresAtMillis + 60_000))
      })
      const source = yield* TokenSource.make(strategy, { policy })
      const first = yield* source.get
      const extended = yield* source.refresh
      assert.strictEqual(Redacted.value(extended.accessToken), "same-value")
      assert.strictEqual(extended.expiresAtMillis, 120_000)
      assert.strictEqual(Option.map(extended.refreshToken, Redacted.value).pipe(Option.getOrUndefined), "rt-1")
      assert.deepStrictEqual(extended.scopes, ["a"])
      assert.strictEqual(Redacted.value(extended.authorizationHeader), Redacted.value(first.authorizationHeader))
      // served from now on without another call
      assert.strictEqual((yield* source.get).expiresAtMillis, 120_000)
    }))
})
