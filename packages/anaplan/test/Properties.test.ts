/**
 * Property tests of the Anaplan inputs: the login/refresh answer decoder (arbitrary bodies give a
 * Token or MalformedResponse, never a defect, never an echoed token) and the emulator's
 * `Authorization` parsing (arbitrary headers and bodies are answered 400/401, never 500).
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as TokenStore from "@effect-auth/core/TokenStore"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FC from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { request as httpRequest } from "node:http"
import * as AnaplanAuth from "../src/AnaplanAuth.js"
import * as AnaplanAuthServer from "../src/AnaplanAuthServer.js"

const SECRET = "SeCrEt"
const secret = FC.string({ maxLength: 30 }).map((s) => `${SECRET}${s}`)

const anyValue = FC.oneof(
  secret,
  FC.string(),
  FC.integer(),
  FC.double(),
  FC.constantFrom(0, -1, 1, 1e308, 8.64e15, 8.64e15 + 1, 1e20, Number.MAX_SAFE_INTEGER, 1_700_000_000_000, "1700000000000"),
  FC.boolean(),
  FC.constant(null),
  FC.jsonValue()
)

const answer = FC.oneof(
  FC.jsonValue(),
  FC.record({
    status: FC.oneof(FC.constantFrom("SUCCESS", "FAILURE_BAD_CREDENTIAL"), anyValue),
    statusMessage: anyValue,
    tokenInfo: FC.oneof(
      anyValue,
      FC.record({
        expiresAt: anyValue,
        tokenId: anyValue,
        tokenValue: FC.oneof(secret, anyValue, FC.constantFrom("", "   ")),
        refreshTokenId: anyValue
      }, { requiredKeys: [] })
    )
  }, { requiredKeys: [] })
)

const expiresAt = FC.oneof(
  anyValue,
  FC.double(),
  FC.double({ min: 8e15, max: 9e15 }),
  FC.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
)

describe("AnaplanAuth.decodeTokenResponse", () => {
  it.effect.prop(
    "any expiresAt next to a good tokenValue: a Token with a real, storable expiry, or MalformedResponse",
    [expiresAt],
    ([at]) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(AnaplanAuth.decodeTokenResponse({ tokenInfo: { tokenValue: "t", expiresAt: at } }))
        if (Exit.isFailure(exit)) {
          assert.isFalse(Cause.isDie(exit.cause), `a defect: ${Cause.pretty(exit.cause)}`)
          assert.strictEqual(Option.getOrThrow(Cause.failureOption(exit.cause))._tag, "MalformedResponse")
          return
        }
        // epoch milliseconds are whole: a fraction is dropped, nothing more
        assert.isBelow(Math.abs(exit.value.expiresAtMillis - (at as number)), 1)
        const store = TokenStore.make(yield* KeyValueStore.KeyValueStore, "memory")
        assert.isTrue(Exit.isSuccess(yield* Effect.exit(store.save("anaplan", exit.value))))
      }).pipe(Effect.provide(KeyValueStore.layerMemory)),
    { fastCheck: { numRuns: 300 } }
  )

  it.effect.prop(
    "any JSON: a storable AnaplanAuthToken or MalformedResponse, never a defect, never an echoed value",
    [answer],
    ([body]) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(AnaplanAuth.decodeTokenResponse(body, { site: "prop" }))
        if (Exit.isFailure(exit)) {
          assert.isFalse(Cause.isDie(exit.cause), `a defect: ${Cause.pretty(exit.cause)}`)
          const error = Option.getOrThrow(Cause.failureOption(exit.cause))
          assert.strictEqual(error._tag, "MalformedResponse")
          assert.notInclude(error.message, SECRET)
          return
        }
        const token = exit.value
        assert.strictEqual(token.tokenType, "AnaplanAuthToken")
        assert.isTrue(Redacted.value(token.accessToken).trim().length > 0)
        assert.isTrue(Number.isFinite(token.expiresAtMillis), "the expiry is a real instant")
        const store = TokenStore.make(yield* KeyValueStore.KeyValueStore, "memory")
        const saved = yield* Effect.exit(store.save("anaplan", token))
        assert.isTrue(Exit.isSuccess(saved), `a decoded token can be stored: ${Exit.isFailure(saved) ? Cause.pretty(saved.cause) : ""}`)
        const loaded = Option.getOrThrow(yield* store.load("anaplan"))
        assert.strictEqual(loaded.expiresAtMillis, token.expiresAtMillis)
      }).pipe(Effect.provide(KeyValueStore.layerMemory)),
    { fastCheck: { numRuns: 400 } }
  )
})

/** Characters a header value may carry on the wire (RFC 9110 section 5.5): no CR, LF or NUL. */
const headerText = FC.string({ unit: FC.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) })
const latin1Text = FC.string({
  unit: FC.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c))
})
const base64 = (text: string) => Buffer.from(text, "latin1").toString("base64")

const authorization = FC.oneof(
  headerText,
  latin1Text,
  FC.tuple(FC.constantFrom("Basic", "basic", "BASIC", "CACertificate", "AnaplanAuthToken", "Bearer", "Digest"), headerText)
    .map(([scheme, rest]) => `${scheme} ${rest}`),
  FC.tuple(FC.constantFrom("Basic ", "Basic  ", "basic "), latin1Text).map(([scheme, creds]) => `${scheme}${base64(creds)}`),
  FC.tuple(FC.string(), FC.string()).map(([user, pass]) => `Basic ${Buffer.from(`${user}:${pass}`, "utf8").toString("base64")}`),
  FC.tuple(FC.constantFrom("CACertificate ", "cacertificate "), latin1Text).map(([scheme, pem]) =>
    `${scheme}${base64(`-----BEGIN CERTIFICATE-----\n${pem}\n-----END CERTIFICATE-----\n`)}`
  ),
  FC.constantFrom("Basic", "Basic ", "AnaplanAuthToken", "AnaplanAuthToken ", " ", "Basic ====", "Basic Og==")
)

const body = FC.oneof(
  FC.constant(undefined),
  FC.string(),
  FC.json(),
  FC.record({
    encodedData: FC.oneof(FC.base64String(), anyValue),
    encodedSignedData: FC.oneof(FC.base64String(), anyValue),
    encodedDataFormat: FC.oneof(FC.constantFrom("v1", "v2"), anyValue)
  }, { requiredKeys: [] }).map((value) => JSON.stringify(value))
)

const endpoint = FC.constantFrom(
  ["POST", "/token/authenticate"] as const,
  ["POST", "/token/refresh"] as const,
  ["POST", "/token/logout"] as const,
  ["GET", "/token/validate"] as const,
  ["GET", "/2/0/users/me"] as const
)

/** One request through `node:http`, which sends any latin1 header value (fetch refuses some). */
const send = (
  base: string,
  method: string,
  path: string,
  authorization: string | undefined,
  payload: string | undefined,
  keepAlive = false
) =>
  Effect.async<{ readonly status: number; readonly text: string }>((resume) => {
    const url = new URL(path, base)
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      agent: keepAlive ? undefined : false,
      method,
      path: url.pathname,
      headers: {
        ...(authorization === undefined ? {} : { authorization }),
        ...(payload === undefined ? {} : { "content-type": "application/json" })
      }
    }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (text += chunk))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, text })))
    })
    req.on("error", (error) => resume(Effect.succeed({ status: 0, text: error.message })))
    req.end(payload)
  })

layer(AnaplanAuthServer.layer({ users: [AnaplanAuthServer.demoUser] }))("emulator Authorization parsing", (it) => {
  it.effect.prop(
    "arbitrary Authorization headers and bodies are answered 400 or 401, never 5xx, never a login",
    [endpoint, FC.option(authorization, { nil: undefined }), body],
    ([[method, path], header, payload]) =>
      Effect.gen(function*() {
        const server = yield* AnaplanAuthServer.AnaplanAuthServer
        const response = yield* send(server.url, method, path, header, payload)
        assert.include([400, 401], response.status, `${method} ${path} with ${JSON.stringify(header)}: ${response.status} ${response.text.slice(0, 300)}`)
        assert.notInclude(response.text, "tokenValue")
      }),
    { fastCheck: { numRuns: 300 } }
  )

  it.effect("the real demo credentials still log in after all that (the parser is not just refusing everything)", () =>
    Effect.gen(function*() {
      const server = yield* AnaplanAuthServer.AnaplanAuthServer
      const { email, password } = AnaplanAuthServer.demoUser
      const response = yield* Effect.promise(() =>
        fetch(`${server.url}/token/authenticate`, {
          method: "POST",
          headers: { authorization: `Basic ${Buffer.from(`${email}:${password}`).toString("base64")}` }
        }).then(async (r) => ({ status: r.status, text: await r.text() }))
      )
      assert.strictEqual(response.status, 201)
      assert.include(response.text, "tokenValue")
    }))
})
