import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as AuthError from "../src/AuthError.js"
import * as Testing from "../src/Testing.js"
import { TokenSource } from "../src/TokenSource.js"

// What a user's own code looks like: a service that needs a TokenSource.
const callApi = Effect.gen(function*() {
  const source = yield* TokenSource
  const token = yield* source.get
  return Redacted.value(token.authorizationHeader)
})

describe("Testing", () => {
  it.effect("layerFixed always gives its token", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* callApi, "Bearer test-token")
      assert.strictEqual(yield* callApi, "Bearer test-token")
    }).pipe(Effect.provide(Testing.layerFixed())))

  it.effect("layerSequence moves on when the current token is invalidated", () =>
    Effect.gen(function*() {
      const source = yield* TokenSource
      const first = yield* source.get
      yield* source.invalidate(first)
      assert.strictEqual(Redacted.value((yield* source.get).accessToken), "b")
      yield* source.invalidate(first) // stale: ignored
      assert.strictEqual(Redacted.value((yield* source.get).accessToken), "b")
    }).pipe(Effect.provide(Testing.layerSequence([Testing.makeToken({ value: "a" }), Testing.makeToken({ value: "b" })]))))

  it.effect("layerFail fails every call with the chosen error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(callApi)
      assert.strictEqual(error._tag, "LoginRequired")
    }).pipe(Effect.provide(Testing.layerFail(new AuthError.LoginRequired({ detail: "Nothing stored" }))))
  )

  it.effect("scriptedStrategy follows its script and counts calls", () =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy({
        acquire: [new AuthError.InvalidCredentials({ detail: "no" }), "ok"],
        refresh: false
      })
      assert.strictEqual((yield* Effect.flip(script.strategy.acquire))._tag, "InvalidCredentials")
      const token = yield* script.strategy.acquire
      assert.strictEqual(Redacted.value(token.accessToken), "token-1")
      assert.isTrue(script.strategy.refresh._tag === "None")
      assert.deepStrictEqual(yield* script.calls, { acquire: 2, refresh: 0, revoke: 0 })
    }))
})
