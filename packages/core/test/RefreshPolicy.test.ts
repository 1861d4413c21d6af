import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as RefreshPolicy from "../src/RefreshPolicy.js"
import * as Testing from "../src/Testing.js"
import * as TokenSource from "../src/TokenSource.js"

const millis = (duration: Duration.Duration) => Duration.toMillis(duration)

describe("RefreshPolicy", () => {
  it("margin and skew are shares of a short lifetime and capped for a long one", () => {
    const policy = RefreshPolicy.defaults
    const token = (lifetime: Duration.DurationInput) => Testing.makeToken({ lifetime })
    // 5 % of 1 s is thinner than the 1 s minimum: widened to 7.5 %, the jitter keeps to 10 %
    assert.strictEqual(millis(RefreshPolicy.marginFor(policy, token("1 second"))), 75)
    assert.strictEqual(millis(RefreshPolicy.jitterFor(policy, token("1 second"))), 25)
    assert.strictEqual(millis(RefreshPolicy.marginFor(policy, token("4 seconds"))), 300)
    assert.strictEqual(millis(RefreshPolicy.jitterFor(policy, token("4 seconds"))), 100)
    // from 20 s up, 5 % is at least the minimum: unchanged
    assert.strictEqual(millis(RefreshPolicy.marginFor(policy, token("20 seconds"))), 1_000)
    assert.strictEqual(millis(RefreshPolicy.jitterFor(policy, token("20 seconds"))), 1_000)
    assert.strictEqual(millis(RefreshPolicy.jitterFor(policy, token("35 minutes"))), 30_000)
    assert.strictEqual(millis(RefreshPolicy.skewFor(policy, token("1 second"))), 10)
    assert.strictEqual(millis(RefreshPolicy.marginFor(policy, token("35 minutes"))), 105_000)
    assert.strictEqual(millis(RefreshPolicy.skewFor(policy, token("35 minutes"))), 10_000)
    assert.strictEqual(millis(RefreshPolicy.marginFor(policy, token("2 hours"))), 300_000)
    assert.strictEqual(millis(RefreshPolicy.skewFor(policy, token("2 hours"))), 10_000)
    // no expiry: the caps
    assert.strictEqual(millis(RefreshPolicy.skewFor(policy, token(Duration.infinity))), 10_000)
    // overrides keep the rule
    const custom = RefreshPolicy.make({ marginRatio: 0.5, skewRatio: 0.1, expirySkew: "1 second" })
    assert.strictEqual(millis(RefreshPolicy.marginFor(custom, token("4 seconds"))), 2_000)
    assert.strictEqual(millis(RefreshPolicy.skewFor(custom, token("4 seconds"))), 400)
    assert.strictEqual(millis(RefreshPolicy.skewFor(custom, token("1 minute"))), 1_000)
  })

  // The rule the engine follows with the default policy (jitter included): about one renewal per
  // lifetime for any lifetime from 1 s up, and every get served at once from the held token.
  for (const lifetime of ["1 second", "3 seconds", "10 seconds", "1 minute", "35 minutes"] as const) {
    it.scoped(`a ${lifetime} token: one renewal per lifetime, and no get waits`, () =>
      Effect.gen(function*() {
        const life = millis(Duration.decode(lifetime))
        // each refresh takes 2 % of the lifetime: 20 ms for a 1 s token, 42 s for a 35-minute one
        const latency = Duration.millis(life * 0.02)
        const script = yield* Testing.scriptedStrategy({ lifetime, latency })
        const source = yield* TokenSource.make(script.strategy)
        const first = yield* Effect.fork(source.get)
        yield* TestClock.adjust(latency)
        yield* Fiber.join(first)
        const lifetimes = 10
        const steps = 20
        let waited = 0
        for (let step = 0; step < lifetimes * steps; step++) {
          yield* TestClock.adjust(Duration.millis(life / steps))
          const served = yield* source.get.pipe(Effect.timeoutOption(0))
          if (Option.isNone(served)) waited++
        }
        const calls = yield* script.calls
        assert.strictEqual(waited, 0, "gets that waited on a renewal")
        assert.strictEqual(calls.acquire, 1)
        // renewed at 90 to 95 % of each lifetime (92.5 % below 20 s; +2 % latency): 10.3 to 10.9
        // renewals in 10 lifetimes
        assert.isAtLeast(calls.refresh, 10)
        assert.isAtMost(calls.refresh, 11)
      }))
  }
})
