/**
 * The presets follow their providers' own clients (shared/PROVIDERS.md): Anaconda as anaconda-auth
 * configures it, Foundry's refresh-token rules in what a refused refresh says.
 */
import { assert, describe, it } from "@effect/vitest"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { InvalidCredentials } from "../src/AuthError.js"
import * as AuthStrategy from "../src/AuthStrategy.js"
import * as OAuth2 from "../src/OAuth2.js"
import * as Anaconda from "../src/presets/Anaconda.js"
import * as Foundry from "../src/presets/Foundry.js"
import * as Provider from "../src/Provider.js"
import * as Token from "../src/Token.js"
import * as Sites from "./support/sites.js"

describe("Anaconda", () => {
  it("is anaconda-auth's public client, discovering at the site's domain, with its loopback redirect and pages", () => {
    const options = Anaconda.make()
    assert.deepStrictEqual(options.client, OAuth2.none("b4ad7f1d-c784-46b5-a9fe-106e50441f5a"))
    assert.strictEqual(options.issuer, "https://anaconda.com")
    assert.deepStrictEqual(options.scopes, ["openid", "email", "profile", "offline_access"])
    assert.deepStrictEqual(options.redirect, {
      _tag: "Loopback",
      port: 8000,
      path: "/auth/oidc",
      pages: {
        success: "https://anaconda.com/app/local-login-success",
        error: "https://anaconda.com/app/local-login-error"
      }
    })
    const own = Anaconda.make({ domain: "anaconda.example.org", authDomain: "id.example.org" })
    assert.strictEqual(own.issuer, "https://id.example.org")
    assert.deepStrictEqual(own.redirect, {
      _tag: "Loopback",
      port: 8000,
      path: "/auth/oidc",
      pages: {
        success: "https://anaconda.example.org/app/local-login-success",
        error: "https://anaconda.example.org/app/local-login-error"
      }
    })
  })

  it.effect("a site's api_key is the token, with no login and nothing stored; extra_headers must be JSON", () =>
    Effect.gen(function*() {
      const config = yield* Sites.parse(
        `[sites.ana]\nprovider = "anaconda"\ndomain = "anaconda.example.org"\nuse_device_flow = true\n` +
          `extra_headers = '{"X-Team": "data"}'\n`,
        "c.toml"
      )
      const site = yield* Sites.resolve(config, { env: { EFFECT_AUTH_API_KEY: "the-api-key" } })
      assert.strictEqual(Sites.text(site, "use_device_flow"), "true")
      const plan = Sites.plan(Sites.providers, site)
      assert.isTrue(Option.isNone(plan.storage))
      const strategy = yield* plan.strategy.pipe(
        Effect.provide(Layer.merge(Provider.layerNoInteraction, FetchHttpClient.layer))
      )
      const token = yield* strategy.acquire
      assert.strictEqual(Redacted.value(token.accessToken), "the-api-key")
      const bad = yield* Effect.exit(Sites.parse(`[sites.ana]\nprovider = "anaconda"\nextra_headers = "X-Team: data"\n`, "c.toml"))
      assert.isTrue(Exit.isFailure(bad))
      if (Exit.isFailure(bad) && bad.cause._tag === "Fail") {
        assert.include(bad.cause.error.message, "sites.ana.extra_headers: expected a JSON object of header names")
      }
    }))
})

describe("Foundry", () => {
  it.effect("a refused refresh names the 30-day idle expiry and the one-minute reuse grace, and says to log in", () =>
    Effect.gen(function*() {
      const refused = AuthStrategy.make({
        name: "foundry-oauth",
        site: "stack",
        acquire: Effect.die("no login here"),
        refresh: () => Effect.fail(new InvalidCredentials({ site: "stack", detail: "The token endpoint answered invalid_grant" }))
      })
      const token = Token.make({ accessToken: "a", refreshToken: "r", issuedAt: 0, expiresIn: "1 hour" })
      const strategy = Foundry.explainRefusedRefresh(refused)
      const error = yield* Effect.flip(Option.getOrThrow(strategy.refresh)(token))
      assert.strictEqual(error._tag, "TokenExpired")
      assert.include(error.message, "invalid_grant")
      assert.include(error.message, "30 days unused")
      assert.include(error.message, "more than a minute after the first")
      assert.include(error.message, "effect-auth login --at stack")
    }))
})
