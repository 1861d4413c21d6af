/**
 * Property tests of every input the core decodes: token endpoint answers, redirect URLs and their
 * state checks, pasted redirects, and stored token entries. Arbitrary input gives a value or a typed
 * error, never a defect, and no error message quotes a secret that was in the input.
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FC from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as AuthError from "../src/AuthError.js"
import * as LoginAgent from "../src/LoginAgent.js"
import * as OAuth2 from "../src/OAuth2.js"
import * as Sites from "./support/sites.js"
import * as Token from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"

/**
 * The failure of `exit`, asserting it is exactly one typed `AuthError` (no defect, no interruption);
 * `undefined` on success.
 */
const typedFailure = <A, E>(exit: Exit.Exit<A, E>): AuthError.AuthError | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  assert.isFalse(Cause.isDie(exit.cause), `a defect: ${Cause.pretty(exit.cause)}`)
  assert.strictEqual(exit.cause._tag, "Fail", `not a single typed failure: ${Cause.pretty(exit.cause)}`)
  const error = Option.getOrThrow(Cause.failureOption(exit.cause))
  assert.isTrue(AuthError.isAuthError(error), "the failure is an AuthError")
  return error as AuthError.AuthError
}

/** Secrets carry this marker, so a leak is found whatever the random part is. */
const SECRET = "SeCrEt"
const secret = FC.string({ minLength: 0, maxLength: 40 }).map((s) => `${SECRET}${s}`)

/** Any JSON value, with secrets and awkward numbers mixed in. */
const anyValue = FC.oneof(
  secret,
  FC.string(),
  FC.integer(),
  FC.double(),
  FC.constantFrom(0, -1, 1e308, 1e15, 8.64e12, Number.MAX_SAFE_INTEGER, "3600", "0", "-5", "1e3", "99999999999"),
  FC.boolean(),
  FC.constant(null),
  FC.jsonValue()
)

const jwt = FC.record({ iss: anyValue, aud: FC.oneof(anyValue, FC.array(anyValue)), nonce: anyValue }, {
  requiredKeys: []
}).map((payload) => `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.sig`)

const tokenBody = FC.oneof(
  FC.string(),
  FC.json(),
  FC.record({
    access_token: FC.oneof(secret, anyValue),
    token_type: FC.oneof(FC.constantFrom("Bearer", "bearer", "BEARER", "mac", "AnaplanAuthToken", ""), anyValue),
    expires_in: anyValue,
    refresh_token: FC.oneof(secret, anyValue),
    scope: FC.oneof(FC.constantFrom("openid profile", "  a  b ", ""), anyValue),
    id_token: FC.oneof(jwt, secret, anyValue)
  }, { requiredKeys: [] }).map((body) => JSON.stringify(body)),
  FC.record({
    error: FC.oneof(
      FC.constantFrom("invalid_grant", "invalid_client", "access_denied", "expired_token", "server_error", "slow_down"),
      FC.string()
    ),
    error_description: FC.oneof(secret, anyValue)
  }, { requiredKeys: ["error"] }).map((body) => JSON.stringify(body))
)

const responseOf = (body: string, status: number, contentType: string) =>
  HttpClientResponse.fromWeb(
    HttpClientRequest.post("http://127.0.0.1/token"),
    new Response(body, { status, headers: contentType === "" ? {} : { "content-type": contentType } })
  )

const memoryStore = Effect.map(KeyValueStore.KeyValueStore, (kv) => ({ kv, store: TokenStore.make(kv, "memory") })).pipe(
  Effect.provide(KeyValueStore.layerMemory)
)

describe("token endpoint answers (OAuth2.processTokenResponse)", () => {
  it.effect.prop(
    "any body, status and content type: a Token or a typed AuthError, never a defect, never a quoted secret",
    [
      tokenBody,
      FC.constantFrom(200, 200, 200, 201, 400, 401, 403, 404, 429, 500, 502, 503),
      FC.constantFrom("application/json", "application/json; charset=utf-8", "text/html", ""),
      FC.boolean()
    ],
    ([body, status, contentType, checkIdToken]) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(
          OAuth2.processTokenResponse(responseOf(body, status, contentType), {
            site: "prop",
            idToken: checkIdToken ? { clientId: "client", issuer: "https://op.example" } : undefined,
            previousRefreshToken: Redacted.make(`${SECRET}-previous`)
          })
        )
        const error = typedFailure(exit)
        if (error !== undefined) {
          assert.notInclude(error.message, SECRET)
          return
        }
        if (Exit.isFailure(exit)) return
        // A token handed out must be usable: an expiry that is a real instant, storable as it is.
        const token = exit.value
        assert.isTrue(status === 200, "only a 200 yields a token")
        assert.isTrue(Redacted.value(token.accessToken).length > 0)
        assert.notInclude(String(token), SECRET)
        const { store } = yield* memoryStore
        const saved = yield* Effect.exit(store.save("k", token))
        assert.isTrue(Exit.isSuccess(saved), "a decoded token can be stored")
        const loaded = yield* store.load("k")
        // the stores keep milliseconds; a fractional expires_in loses less than one
        const kept = Option.getOrThrow(loaded).expiresAtMillis
        assert.isTrue(kept === token.expiresAtMillis || Math.abs(kept - token.expiresAtMillis) < 1)
      }),
    { fastCheck: { numRuns: 400 } }
  )

  it.effect.prop(
    "any expires_in: a Token whose expiry is a real, storable instant, or MalformedResponse",
    [FC.oneof(anyValue, FC.double({ min: 0 }), FC.integer({ min: 0 }), FC.stringMatching(/^\d{1,10}$/))],
    ([expiresIn]) =>
      Effect.gen(function*() {
        const body = JSON.stringify({ access_token: "at", token_type: "Bearer", expires_in: expiresIn })
        const exit = yield* Effect.exit(OAuth2.processTokenResponse(responseOf(body, 200, "application/json")))
        const error = typedFailure(exit)
        if (error !== undefined) return assert.strictEqual(error._tag, "MalformedResponse")
        if (Exit.isFailure(exit)) return
        const token = exit.value
        assert.isTrue(Number.isFinite(token.expiresAtMillis) || Option.isNone(token.expiresAt))
        const { store } = yield* memoryStore
        assert.isTrue(Exit.isSuccess(yield* Effect.exit(store.save("k", token))), "a decoded token can be stored")
      }),
    { fastCheck: { numRuns: 300 } }
  )

  it.effect.prop(
    "a well-formed answer decodes exactly: value, expiry counted from the clock, scopes, kept refresh token",
    [
      FC.string({ minLength: 1, maxLength: 200 }),
      FC.integer({ min: 0, max: 10 * 365 * 24 * 3600 }),
      FC.option(FC.string({ minLength: 1 }), { nil: undefined }),
      FC.array(FC.stringMatching(/^[a-z:_.]{1,12}$/), { maxLength: 5 })
    ],
    ([accessToken, expiresIn, refreshToken, scopes]) =>
      Effect.gen(function*() {
        const body = JSON.stringify({
          access_token: accessToken,
          token_type: "bearer",
          expires_in: expiresIn,
          scope: scopes.join(" "),
          ...(refreshToken === undefined ? {} : { refresh_token: refreshToken })
        })
        const now = yield* Clock.currentTimeMillis
        const token = yield* OAuth2.processTokenResponse(responseOf(body, 200, "application/json"), {
          previousRefreshToken: Redacted.make("previous")
        })
        assert.strictEqual(Redacted.value(token.accessToken), accessToken)
        assert.strictEqual(token.tokenType, "Bearer")
        assert.strictEqual(token.expiresAtMillis, now + expiresIn * 1000)
        assert.deepStrictEqual(token.scopes, scopes)
        assert.strictEqual(Option.getOrThrow(token.refreshToken).pipe(Redacted.value), refreshToken ?? "previous")
      })
  )
})

const redirectInput = FC.oneof(
  FC.string(),
  FC.webUrl({ withQueryParameters: true, withFragments: true }),
  FC.record({
    code: FC.oneof(FC.string(), secret),
    state: FC.oneof(FC.constant("the-state"), FC.string()),
    error: FC.oneof(FC.constantFrom("access_denied", "invalid_scope"), FC.string()),
    iss: FC.oneof(FC.constant("https://op.example"), FC.string())
  }, { requiredKeys: [] }).chain((params) =>
    FC.constantFrom(
      `http://127.0.0.1:1234/callback?${new URLSearchParams(params)}`,
      `https://app.example/cb#${new URLSearchParams(params)}`,
      `?${new URLSearchParams(params)}`,
      `${new URLSearchParams(params)}`,
      ` ${new URLSearchParams(params)} `
    )
  )
)

describe("redirect URLs and state checks", () => {
  it.prop(
    "redirectParams + validateAuthorizationResponse: a code only with our state and issuer, else a typed error",
    [redirectInput],
    ([input]) => {
      const params = OAuth2.redirectParams(input)
      if (params === undefined) return
      const result = OAuth2.validateAuthorizationResponse(params, {
        state: "the-state",
        issuer: "https://op.example"
      })
      Either.match(result, {
        onLeft: (error) => {
          assert.isTrue(AuthError.isAuthError(error))
          assert.notInclude(error.message, SECRET)
        },
        onRight: (response) => {
          assert.strictEqual(params.get("state"), "the-state")
          assert.isTrue(params.get("iss") === null || params.get("iss") === "https://op.example")
          assert.isNull(params.get("error"))
          assert.isTrue(response.code.length > 0)
          assert.strictEqual(response.code, params.get("code"))
        }
      })
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "a redirect with any other state is refused, whatever else it carries",
    [FC.string(), FC.string({ minLength: 1 }), FC.string(), FC.constantFrom("query", "fragment", "bare")],
    ([state, code, ours, form]) => {
      FC.pre(state !== ours)
      const query = new URLSearchParams({ code, state })
      const input = form === "query"
        ? `http://127.0.0.1:9/callback?${query}`
        : form === "fragment"
        ? `https://app.example/cb#${query}`
        : `${query}`
      const params = OAuth2.redirectParams(input)
      assert.isDefined(params)
      const result = OAuth2.validateAuthorizationResponse(params!, { state: ours })
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "InvalidCredentials")
    }
  )

  it.prop(
    "LoginAgent.parsePasted: any pasted line is a code or a typed error; a URL never bypasses the state check",
    [FC.oneof(redirectInput, FC.string({ maxLength: 3000 }), FC.fullUnicodeString())],
    ([line]) => {
      const result = LoginAgent.parsePasted(line, "the-state", { site: "prop" })
      Either.match(result, {
        onLeft: (error) => {
          assert.isTrue(AuthError.isAuthError(error))
          assert.notInclude(error.message, SECRET)
        },
        onRight: (response) => {
          assert.isTrue(response.code.length > 0)
          const params = OAuth2.redirectParams(line.trim())
          // Either a bare code (no parameters at all) or a redirect whose state is ours.
          if (params !== undefined) assert.strictEqual(params.get("state"), "the-state")
          else assert.strictEqual(response.code, line.trim())
        }
      })
    },
    { fastCheck: { numRuns: 500 } }
  )
})

const encodedToken = FC.record({
  accessToken: FC.string({ minLength: 1 }),
  tokenType: FC.constantFrom("Bearer", "AnaplanAuthToken"),
  issuedAt: FC.integer({ min: 0, max: 4_000_000_000_000 }),
  lifetime: FC.option(FC.integer({ min: 0, max: 10 ** 10 }), { nil: undefined }),
  refreshToken: FC.option(FC.string(), { nil: undefined }),
  scopes: FC.array(FC.string(), { maxLength: 4 })
}).map((o) =>
  Token.make({
    accessToken: o.accessToken,
    tokenType: o.tokenType,
    issuedAt: o.issuedAt,
    expiresAt: o.lifetime === undefined ? undefined : o.issuedAt + o.lifetime,
    refreshToken: o.refreshToken,
    scopes: o.scopes
  })
)

const TokenJson = Schema.parseJson(Token.Token)

describe("stored token entries (TokenStore.load)", () => {
  it.effect.prop(
    "any stored text, including cut and spliced real entries: a Token or a CredentialStoreError naming store and key",
    [
      FC.oneof(
        FC.string(),
        FC.json(),
        FC.record({
          accessToken: FC.oneof(secret, anyValue),
          tokenType: anyValue,
          expiresAt: FC.oneof(FC.constant(null), FC.date({ noInvalidDate: true }).map((d) => d.toISOString()), anyValue),
          refreshToken: FC.oneof(secret, anyValue),
          scopes: FC.oneof(FC.array(FC.string()), anyValue),
          idToken: anyValue,
          issuedAt: FC.oneof(FC.date({ noInvalidDate: true }).map((d) => d.toISOString()), anyValue)
        }, { requiredKeys: [] }).map((entry) => JSON.stringify(entry)),
        FC.tuple(encodedToken, FC.nat(), FC.string()).map(([token, cut, splice]) => {
          const text = Schema.encodeSync(TokenJson)(token)
          const at = cut % (text.length + 1)
          return text.slice(0, at) + splice + text.slice(at + splice.length)
        })
      )
    ],
    ([text]) =>
      Effect.gen(function*() {
        const { kv, store } = yield* memoryStore
        yield* kv.set("site/user", text)
        const exit = yield* Effect.exit(store.load("site/user"))
        const error = typedFailure(exit)
        if (error !== undefined) {
          assert.strictEqual(error._tag, "CredentialStoreError")
          if (error._tag === "CredentialStoreError") {
            assert.strictEqual(error.store, "memory")
            assert.strictEqual(error.key, "site/user")
          }
          assert.notInclude(error.message, SECRET)
          // the unreadable entry is left in place for inspection
          assert.deepStrictEqual(yield* kv.get("site/user"), Option.some(text))
        } else if (Exit.isSuccess(exit)) {
          assert.isTrue(Option.isSome(exit.value))
        }
      }),
    { fastCheck: { numRuns: 400 } }
  )

  it.effect.prop(
    "every token saved loads back equal: secrets, type, expiry, refresh token, scopes",
    [encodedToken],
    ([token]) =>
      Effect.gen(function*() {
        const { store } = yield* memoryStore
        yield* store.save("k", token)
        const loaded = Option.getOrThrow(yield* store.load("k"))
        assert.strictEqual(Redacted.value(loaded.accessToken), Redacted.value(token.accessToken))
        assert.strictEqual(loaded.tokenType, token.tokenType)
        assert.strictEqual(loaded.expiresAtMillis, token.expiresAtMillis)
        assert.deepStrictEqual(
          Option.map(loaded.refreshToken, Redacted.value),
          Option.map(token.refreshToken, Redacted.value)
        )
        assert.deepStrictEqual(loaded.scopes, token.scopes)
      })
  )
})

/** A TOML value that is not secret: strings, numbers, booleans, arrays, junk. */
const tomlValue = FC.oneof(
  FC.oneof(FC.string(), FC.constantFrom("anaplan", "oauth2", "basic", "certificate", "file", "memory", "https://x"))
    .map((text) => JSON.stringify(text)),
  FC.integer().map(String),
  FC.constantFrom("true", "false", "1979-05-27T07:32:00Z", "inf", "nan", "[]", "{}", "\"\"\"multi\nline\"\"\"", "'lit'"),
  FC.array(FC.string(), { maxLength: 3 }).map((list) => `[${list.map((x) => JSON.stringify(x)).join(", ")}]`),
  FC.string({ maxLength: 12 })
)

/** A secret field with a secret value, well formed or not (the value may be of a wrong type). */
const secretEntry = FC.tuple(
  FC.constantFrom(...Sites.secretFieldNames),
  FC.oneof(
    secret.map((text) => JSON.stringify(text)),
    FC.array(secret, { minLength: 1, maxLength: 2 }).map((list) => `[${list.map((x) => JSON.stringify(x)).join(", ")}]`),
    secret.map((text) => `{ value = ${JSON.stringify(text)} }`),
    secret.map((text) => `'${text.replace(/['\n\r]/g, "")}'`)
  )
).map(([key, value]) => `${key} = ${value}`)

const tomlKey = FC.oneof(
  FC.constantFrom(...Sites.fieldNames.filter((field) => !Sites.isSecretField(field))),
  FC.constantFrom("default_site", "sites", "provider", "method", "storage"),
  FC.stringMatching(/^[a-z_]{1,12}$/),
  FC.string({ maxLength: 8 })
)

const tomlDocument = FC.array(
  FC.oneof(
    FC.tuple(tomlKey, tomlValue).map(([key, value]) => `${key} = ${value}`),
    secretEntry,
    FC.oneof(FC.stringMatching(/^[a-z0-9-]{1,8}$/), FC.string({ maxLength: 8 })).map((name) => `[sites.${name}]`),
    FC.constantFrom("[sites]", "[[sites]]", "[other]", "# comment", "", "default_site = \"a\""),
    FC.string({ maxLength: 20 })
  ),
  { maxLength: 14 }
).map((lines) => lines.join("\n"))

const environment = FC.tuple(
  FC.dictionary(
    FC.oneof(
      FC.constantFrom(...Sites.fieldNames.filter((f) => !Sites.isSecretField(f)).map(Sites.envVar), "EFFECT_AUTH_SITE"),
      FC.string({ maxLength: 6 })
    ),
    FC.oneof(FC.string({ maxLength: 20 }), FC.constantFrom("anaplan", "basic", "file", "a", "demo@example.com")),
    { maxKeys: 5 }
  ),
  FC.dictionary(FC.constantFrom(...Sites.secretFieldNames.map(Sites.envVar)), secret, { maxKeys: 3 })
).map(([plain, secrets]) => ({ ...plain, ...secrets }))

describe("the TOML configuration (Sites.parse, Sites.resolve, Sites.parseDotEnv)", () => {
  it.effect.prop(
    "any file text and environment: sites or InvalidConfiguration, never a defect, never a quoted secret",
    [tomlDocument, environment, FC.option(FC.constantFrom("a", "b", "default", "x"), { nil: undefined })],
    ([text, env, site]) =>
      Effect.gen(function*() {
        const parsed = yield* Effect.exit(Sites.parse(text, "/tmp/config.toml"))
        const error = typedFailure(parsed)
        if (error !== undefined) {
          assert.strictEqual(error._tag, "InvalidConfiguration")
          assert.notInclude(error.message, SECRET)
          assert.include(error.message, "/tmp/config.toml")
          return
        }
        if (Exit.isFailure(parsed)) return
        for (const warning of parsed.value.warnings) assert.notInclude(warning, SECRET)
        for (const s of parsed.value.sites) assert.notInclude(String(s), SECRET)
        const resolved = yield* Effect.exit(Sites.resolve(parsed.value, { site, env, dotenv: {} }))
        const failure = typedFailure(resolved)
        if (failure !== undefined) {
          assert.strictEqual(failure._tag, "InvalidConfiguration")
          assert.notInclude(failure.message, SECRET)
        } else if (Exit.isSuccess(resolved)) {
          assert.notInclude(String(resolved.value), SECRET)
          assert.notInclude(JSON.stringify(Sites.fields(resolved.value)), SECRET)
        }
      }),
    { fastCheck: { numRuns: 400 } }
  )

  it.prop(
    "any .env text parses to string variables without throwing",
    [FC.oneof(FC.string(), FC.array(FC.oneof(FC.string(), FC.constantFrom("A=1", "export B='x'", "C=\"a\\nb\"", "D=`q`", "#c", "E=\"open")), { maxLength: 8 }).map((l) => l.join("\n")))],
    ([text]) => {
      const variables = Sites.parseDotEnv(text)
      for (const [key, value] of Object.entries(variables)) {
        assert.isString(key)
        assert.isString(value)
      }
    },
    { fastCheck: { numRuns: 400 } }
  )
})
