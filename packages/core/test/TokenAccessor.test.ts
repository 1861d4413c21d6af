import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as AuthError from "../src/AuthError.js"
import * as Testing from "../src/Testing.js"
import * as TokenAccessor from "../src/TokenAccessor.js"
import * as TokenSource from "../src/TokenSource.js"

const value = (token: { readonly accessToken: Redacted.Redacted<string> }) => Redacted.value(token.accessToken)

describe("TokenAccessor", () => {
  it.scoped("getToken answers the held token while fresh, from one settled promise, and renews through the source", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({ lifetime: Duration.minutes(10) })
      const source = yield* TokenSource.make(script.strategy)
      const tokens = yield* TokenAccessor.fromContext.pipe(Effect.provideService(TokenSource.TokenSource, source))
      // cold: through the source (one login)
      const first = yield* Effect.promise(() => tokens.getToken())
      assert.strictEqual(value(first), "token-1")
      // fresh: the same promise object each time (no fiber was started for it)
      const a = tokens.getToken()
      const b = tokens.getToken()
      assert.strictEqual(a, b)
      assert.strictEqual(yield* Effect.promise(() => a), first)
      assert.strictEqual(yield* Effect.promise(() => tokens.getAccessToken()), "token-1")
      assert.strictEqual(tokens.getAccessToken(), tokens.getAccessToken())
      // after expiry (the background refresh ran on the test clock): the new token
      yield* TestClock.adjust(Duration.minutes(10))
      assert.strictEqual(value(yield* Effect.promise(() => tokens.getToken())), "token-2")
      assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 1, revoke: 0 })
    }))

  it.scoped("concurrent cold calls share one login; a failure rejects with the AuthError", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({ latency: Duration.millis(10) })
      const source = yield* TokenSource.make(script.strategy)
      const tokens = yield* TokenAccessor.fromContext.pipe(Effect.provideService(TokenSource.TokenSource, source))
      const all = yield* Effect.fork(Effect.promise(() => Promise.all(Array.from({ length: 100 }, () => tokens.getToken()))))
      yield* TestClock.adjust(Duration.millis(10))
      const got = yield* Fiber.join(all)
      assert.strictEqual(new Set(got.map(value)).size, 1)
      assert.strictEqual((yield* script.calls).acquire, 1)

      const rejected = new AuthError.InvalidCredentials({ detail: "no" })
      const failing = yield* Testing.scriptedStrategy({ acquire: [rejected] })
      const other = TokenAccessor.make(yield* TokenSource.make(failing.strategy), yield* Effect.runtime<never>())
      const error = yield* Effect.promise(() => other.getToken().then(() => undefined, (e: unknown) => e))
      assert.include(String(error), "InvalidCredentials")
    }))

  it.effect("fromLayer builds the source on first use and dispose closes it (revoking the token)", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy()
      const tokens = TokenAccessor.fromLayer(TokenSource.layer(script.strategy))
      const token = yield* Effect.promise(() => tokens.getToken())
      assert.strictEqual(value(token), "token-1")
      assert.strictEqual(yield* Effect.promise(() => tokens.getAccessToken()), "token-1")
      yield* Effect.promise(() => tokens.dispose())
      assert.deepStrictEqual((yield* script.revoked).map(value), ["token-1"])
    }))
})
