import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as AuthError from "../src/AuthError.js"
import * as Token from "../src/Token.js"

const token = Token.make({
  accessToken: "at-secret",
  tokenType: "AnaplanAuthToken",
  issuedAt: 1_000,
  expiresIn: Duration.minutes(35),
  refreshToken: "rt-secret",
  scopes: ["openid"]
})

describe("Token", () => {
  it("never shows its secrets when printed or serialised", () => {
    for (const text of [String(token), JSON.stringify(token), token.toString()]) {
      assert.notInclude(text, "at-secret")
      assert.notInclude(text, "rt-secret")
    }
  })

  it("builds the Authorization header from the type and the value", () => {
    assert.strictEqual(Redacted.value(token.authorizationHeader), "AnaplanAuthToken at-secret")
  })

  it("knows when it is fresh, with a margin", () => {
    const expiry = 1_000 + 35 * 60_000
    assert.strictEqual(token.expiresAtMillis, expiry)
    assert.isTrue(token.isFresh(expiry - 1))
    assert.isFalse(token.isFresh(expiry))
    assert.isFalse(token.isFresh(expiry - 1_000, Duration.seconds(1)))
    assert.isTrue(Token.make({ accessToken: "x", issuedAt: 0 }).isFresh(Number.MAX_SAFE_INTEGER))
    assert.deepStrictEqual(Option.map(token.lifetime, Duration.toMinutes), Option.some(35))
  })

  it.effect("round-trips through its encoded form, as the stores write it", () =>
    Effect.gen(function*() {
      const encoded = yield* Schema.encode(Schema.parseJson(Token.Token))(token)
      assert.include(encoded, "at-secret") // stores hold the real value; they are 0600 / keyring / redis
      const decoded = yield* Schema.decode(Schema.parseJson(Token.Token))(encoded)
      assert.strictEqual(Redacted.value(decoded.accessToken), "at-secret")
      assert.strictEqual(decoded.expiresAtMillis, token.expiresAtMillis)
      assert.strictEqual(Option.map(decoded.refreshToken, Redacted.value).pipe(Option.getOrNull), "rt-secret")
      assert.deepStrictEqual(decoded.scopes, ["openid"])
    }))
})

describe("AuthError", () => {
  it("messages say what happened and what to do next", () => {
    const error = new AuthError.InvalidCredentials({ site: "prod", detail: "The password was rejected" })
    assert.strictEqual(error.message, "[prod] The password was rejected. Check the credentials and log in again.")
    const store = new AuthError.CredentialStoreError({ store: "file /x", key: "prod", detail: "The entry is corrupt" })
    assert.include(store.message, "file /x, key \"prod\"")
    assert.include(new AuthError.TokenExpired({ detail: "Expired" }).message, "effect-auth login")
    assert.isTrue(AuthError.isAuthError(error))
    assert.isFalse(AuthError.isAuthError(new Error("x")))
    assert.isTrue(AuthError.isTransient(new AuthError.AuthServiceUnavailable({ detail: "down" })))
    assert.isFalse(AuthError.isTransient(error))
  })
})
