import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createServer } from "node:http"
import * as AuthHttpClient from "../src/AuthHttpClient.js"
import * as RefreshPolicy from "../src/RefreshPolicy.js"
import * as Testing from "../src/Testing.js"
import * as TokenSource from "../src/TokenSource.js"

/**
 * A real API server on 127.0.0.1: records every Authorization header and answers with the status
 * `decide` picks for it.
 */
const apiServer = (decide: (authorization: string | undefined) => number) =>
  apiServerEffect((authorization) => Effect.succeed(decide(authorization)))

/** {@link apiServer} with an effectful `decide` (to renew the token while a request is under way). */
const apiServerEffect = (decide: (authorization: string | undefined) => Effect.Effect<number>) =>
  Effect.gen(function*() {
    const seen: Array<string | undefined> = []
    const context = yield* Layer.build(NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" }))
    yield* HttpServer.serveEffect()(
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const authorization = request.headers["authorization"]
        seen.push(authorization)
        return Effect.map(decide(authorization), (status) => HttpServerResponse.text(`status ${status}`, { status }))
      })
    ).pipe(Effect.provide(context))
    const url = yield* HttpServer.addressFormattedWith(Effect.succeed).pipe(Effect.provide(context))
    return { url, seen }
  })

const policy = RefreshPolicy.make({ jitter: 0 })

const setup = (decide: (authorization: string | undefined) => number, tokenType = "Bearer") =>
  Effect.gen(function*() {
    const server = yield* apiServer(decide)
    const script = yield* Testing.scriptedStrategy({ refresh: false, tokenType })
    const source = yield* TokenSource.make(script.strategy, { policy })
    const client = AuthHttpClient.make(source)(yield* HttpClient.HttpClient)
    return { server, script, client }
  })

describe("AuthHttpClient", () => {
  it.scoped("signs requests with `<tokenType> <token>`", () =>
    Effect.gen(function*() {
      const { client, server } = yield* setup(() => 200, "AnaplanAuthToken")
      const response = yield* client.get(`${server.url}/models`)
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(server.seen, ["AnaplanAuthToken token-1"])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("on 401 invalidates the token and retries once with a fresh one", () =>
    Effect.gen(function*() {
      const { client, script, server } = yield* setup((auth) => (auth === "Bearer token-1" ? 401 : 200))
      const response = yield* client.get(`${server.url}/models`)
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(server.seen, ["Bearer token-1", "Bearer token-2"])
      assert.strictEqual((yield* script.calls).acquire, 2)
      // the new token is kept for later requests
      yield* client.get(`${server.url}/models`)
      assert.deepStrictEqual(server.seen.slice(2), ["Bearer token-2"])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a second 401 fails with InvalidCredentials, without a third attempt", () =>
    Effect.gen(function*() {
      const { client, server } = yield* setup(() => 401)
      const error = yield* Effect.flip(client.get(`${server.url}/models`))
      assert.strictEqual(error._tag, "InvalidCredentials")
      assert.include(error.message, "/models")
      assert.notInclude(error.message, "token-")
      assert.strictEqual(server.seen.length, 2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("passes every other status through untouched, without retrying", () =>
    Effect.gen(function*() {
      for (const status of [200, 204, 400, 403, 404, 429, 500, 503]) {
        const { client, server } = yield* setup(() => status)
        const response = yield* client.get(`${server.url}/x`)
        assert.strictEqual(response.status, status)
        assert.strictEqual(server.seen.length, 1)
      }
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("concurrent requests share one token and one login", () =>
    Effect.gen(function*() {
      const { client, script, server } = yield* setup(() => 200)
      yield* Effect.all(Array.from({ length: 50 }, () => client.get(`${server.url}/x`)), { concurrency: "unbounded" })
      assert.strictEqual((yield* script.calls).acquire, 1)
      assert.strictEqual(new Set(server.seen).size, 1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a burst of 401s for one token causes one new login", () =>
    Effect.gen(function*() {
      const { client, script, server } = yield* setup((auth) => (auth === "Bearer token-1" ? 401 : 200))
      const responses = yield* Effect.all(Array.from({ length: 20 }, () => client.get(`${server.url}/x`)), {
        concurrency: "unbounded"
      })
      assert.isTrue(responses.every((r) => r.status === 200))
      assert.strictEqual((yield* script.calls).acquire, 2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  // Refresh races (issue 17): the token a request was signed with is superseded while the request
  // is under way, and the server refuses it.
  const racing = (refuse: (authorization: string | undefined) => boolean) =>
    Effect.gen(function*() {
      const script = yield* Testing.scriptedStrategy()
      const source = yield* TokenSource.make(script.strategy, { policy })
      // each refused request renews the token before the 401 reaches the client
      const server = yield* apiServerEffect((auth) =>
        refuse(auth) ? Effect.as(Effect.orDie(source.refresh), 401) : Effect.succeed(200)
      )
      const client = AuthHttpClient.make(source)(yield* HttpClient.HttpClient)
      return { server, script, client }
    })

  it.scoped("a 401 for a token superseded during the request is retried with the current token", () =>
    Effect.gen(function*() {
      // token-1 and token-2 are each superseded while their request is under way
      const { client, script, server } = yield* racing((auth) => auth === "Bearer token-1" || auth === "Bearer token-2")
      const response = yield* client.get(`${server.url}/models`)
      assert.strictEqual(response.status, 200)
      assert.deepStrictEqual(server.seen, ["Bearer token-1", "Bearer token-2", "Bearer token-3"])
      assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 2, revoke: 0 })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("retries after 401s are bounded, each distinct token tried once", () =>
    Effect.gen(function*() {
      const { client, server } = yield* racing(() => true)
      const error = yield* Effect.flip(client.get(`${server.url}/models`))
      assert.strictEqual(error._tag, "InvalidCredentials")
      assert.strictEqual(server.seen.length, AuthHttpClient.maxAttempts)
      assert.strictEqual(new Set(server.seen).size, AuthHttpClient.maxAttempts)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("concurrent requests racing a renewal all succeed with one login", () =>
    Effect.gen(function*() {
      // every request signed with token-1 is refused, and renews the token (once: single flight)
      const script = yield* Testing.scriptedStrategy()
      const source = yield* TokenSource.make(script.strategy, { policy })
      const server = yield* apiServerEffect((auth) =>
        auth === "Bearer token-1"
          ? Effect.as(Effect.flatMap(source.current, (held) =>
            Option.exists(held, (t) => Redacted.value(t.accessToken) === "token-1")
              ? Effect.orDie(source.refresh)
              : Effect.void), 401)
          : Effect.succeed(200)
      )
      const client = AuthHttpClient.make(source)(yield* HttpClient.HttpClient)
      yield* source.get
      const responses = yield* Effect.all(Array.from({ length: 50 }, () => client.get(`${server.url}/x`)), {
        concurrency: "unbounded"
      })
      assert.isTrue(responses.every((r) => r.status === 200))
      assert.strictEqual((yield* script.calls).acquire, 1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
