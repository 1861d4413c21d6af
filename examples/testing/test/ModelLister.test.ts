import * as AnaplanAuth from "@effect-auth/anaplan/AnaplanAuth"
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as AuthError from "@effect-auth/core/AuthError"
import * as Testing from "@effect-auth/core/testing"
import * as TokenSource from "@effect-auth/core/TokenSource"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as ModelLister from "../src/ModelLister.js"

const models = [
  { id: "75A40874E6B64FA3AE0743278996850F", name: "Sales Forecast", activeState: "UNLOCKED", currentWorkspaceId: "8a8b8c8d8e8f", currentWorkspaceName: "Finance" },
  { id: "06CCB5D03A9E4E49A6C1C1A5B2F7F6B1", name: "Budget 2019", activeState: "ARCHIVED", currentWorkspaceId: "8a8b8c8d8e8f" },
  { id: "A1B2C3D4E5F60718293A4B5C6D7E8F90", name: "Headcount", activeState: "PRODUCTION", currentWorkspaceId: "8a8b8c8d8e8f" }
]

interface Seen {
  readonly url: string
  readonly authorization: string | undefined
}

/**
 * A stand-in for the `/2/0/models` endpoint of Anaplan's API: records each request and answers the
 * model list when `accepts(authorization header)`, else `401`. Other requests go to `next`.
 */
const fakeModelsApi = (
  accepts: (authorization: string | undefined) => Effect.Effect<boolean>,
  next?: HttpClient.HttpClient
) => {
  const seen: Array<Seen> = []
  const answer = (request: HttpClientRequest.HttpClientRequest, url: URL) =>
    Effect.gen(function*() {
      seen.push({ url: url.href, authorization: request.headers["authorization"] })
      const ok = yield* accepts(request.headers["authorization"])
      return HttpClientResponse.fromWeb(
        request,
        ok
          ? Response.json({ meta: { schema: "https://api.anaplan.com/2/0/objects/model" }, status: { code: 200, message: "Success" }, models })
          : Response.json({ status: { code: 401, message: "Unauthorized" } }, { status: 401 })
      )
    })
  const client = HttpClient.make((request, url) =>
    url.pathname.endsWith("/2/0/models") || next === undefined ? answer(request, url) : next.execute(request)
  )
  return { seen, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

describe("examples/testing: ModelLister with the TokenSource test layers", () => {
  it.effect("layerFixed: the request carries the token, the answer is decoded", () =>
    Effect.gen(function*() {
      const api = fakeModelsApi(() => Effect.succeed(true))
      const names = yield* Effect.flatMap(ModelLister.ModelLister, (lister) => lister.activeModelNames).pipe(
        Effect.provide(ModelLister.layerClient().pipe(
          Layer.provide(Testing.layerFixed(Testing.makeToken({ value: "fixed-token", tokenType: "AnaplanAuthToken" }))),
          Layer.provide(api.layer)
        ))
      )
      assert.deepStrictEqual(names, ["Headcount", "Sales Forecast"])
      assert.deepStrictEqual(api.seen, [{ url: "https://api.anaplan.com/2/0/models", authorization: "AnaplanAuthToken fixed-token" }])
    }))

  it.effect("layerFail: a login that is needed surfaces as the typed LoginRequired, and no request is sent", () =>
    Effect.gen(function*() {
      const api = fakeModelsApi(() => Effect.succeed(true))
      const error = yield* Effect.flatMap(ModelLister.ModelLister, (lister) => lister.listModels).pipe(
        Effect.provide(ModelLister.layerClient().pipe(
          Layer.provide(Testing.layerFail(new AuthError.LoginRequired({ site: "anaplan", detail: "No stored token", hint: "Run `effect-auth login`." }))),
          Layer.provide(api.layer)
        )),
        Effect.flip
      )
      assert.strictEqual(error._tag, "LoginRequired")
      assert.include(error.message, "effect-auth login")
      assert.strictEqual(api.seen.length, 0)
    }))

  it.effect("scriptedStrategy: a 401 for a revoked token is recovered with one renewal and one retry", () =>
    Effect.gen(function*() {
      const scripted = yield* Testing.scriptedStrategy({ tokenType: "AnaplanAuthToken" })
      // The API no longer accepts the first token (revoked upstream), accepts any later one.
      const api = fakeModelsApi((authorization) => Effect.succeed(authorization !== "AnaplanAuthToken token-1"))
      const listed = yield* Effect.flatMap(ModelLister.ModelLister, (lister) => lister.listModels).pipe(
        Effect.provide(ModelLister.layerClient().pipe(
          Layer.provide(TokenSource.layer(scripted.strategy)),
          Layer.provide(api.layer)
        ))
      )
      assert.strictEqual(listed.length, 3)
      assert.deepStrictEqual(api.seen.map((request) => request.authorization), [
        "AnaplanAuthToken token-1",
        "AnaplanAuthToken token-2"
      ])
      const calls = yield* scripted.calls
      assert.strictEqual(calls.acquire + calls.refresh, 2, "one login, then one renewal after the 401")
    }))

  it.effect("scriptedStrategy: when renewal is refused the service fails with InvalidCredentials, not a generic error", () =>
    Effect.gen(function*() {
      const refused = new AuthError.InvalidCredentials({ site: "anaplan", detail: "The password has expired" })
      const scripted = yield* Testing.scriptedStrategy({ acquire: ["ok", refused], refresh: [refused] })
      const api = fakeModelsApi(() => Effect.succeed(false))
      const error = yield* Effect.flatMap(ModelLister.ModelLister, (lister) => lister.listModels).pipe(
        Effect.provide(ModelLister.layerClient().pipe(
          Layer.provide(TokenSource.layer(scripted.strategy, { revokeOnClose: false })),
          Layer.provide(api.layer)
        )),
        Effect.flip
      )
      assert.strictEqual(error._tag, "InvalidCredentials")
      assert.isAtMost(api.seen.length, 2)
    }))

  it.effect("the API answering something else is a ModelListError", () =>
    Effect.gen(function*() {
      const broken = HttpClient.make((request) =>
        Effect.succeed(HttpClientResponse.fromWeb(request, new Response("<html>maintenance</html>", { status: 503 })))
      )
      const error = yield* Effect.flatMap(ModelLister.ModelLister, (lister) => lister.listModels).pipe(
        Effect.provide(ModelLister.layerClient().pipe(
          Layer.provide(Testing.layerFixed()),
          Layer.provide(Layer.succeed(HttpClient.HttpClient, broken))
        )),
        Effect.flip
      )
      assert.strictEqual(error._tag, "ModelListError")
      assert.include(error.message, "503")
    }))
})

describe("examples/testing: ModelLister against the Anaplan emulator", () => {
  it.live("real basic login; the models endpoint accepts only tokens the emulator validates; recovery after expiry", () =>
    Effect.gen(function*() {
      const server = yield* AnaplanAuthServer.make()
      const real = yield* HttpClient.HttpClient
      // The emulator serves the auth service and users/me; the models endpoint is stubbed, and
      // checks each token with the emulator's /token/validate, as Anaplan's API would.
      const api = fakeModelsApi(
        (authorization) =>
          AnaplanAuth.validate(Redacted.make((authorization ?? "").replace(/^AnaplanAuthToken /, "")), { authUrl: server.url }).pipe(
            Effect.as(true),
            Effect.catchAll(() => Effect.succeed(false)),
            Effect.provideService(HttpClient.HttpClient, real)
          ),
        real
      )
      // Built into the test's scope: the TokenSource must outlive every call made through it.
      const context = yield* Layer.build(
        ModelLister.layerClient({ apiUrl: server.url }).pipe(
          Layer.provideMerge(AnaplanAuth.layerBasic({
            email: AnaplanAuthServer.demoUser.email,
            password: Redacted.make(AnaplanAuthServer.demoUser.password!),
            authUrl: server.url
          })),
          Layer.provide(api.layer)
        )
      )
      const lister = Context.get(context, ModelLister.ModelLister)
      assert.strictEqual((yield* lister.listModels).length, 3)
      assert.strictEqual((yield* server.counters).authenticate, 1)

      yield* server.expireAllTokens
      assert.deepStrictEqual(yield* lister.activeModelNames, ["Headcount", "Sales Forecast"])
      const counters = yield* server.counters
      assert.strictEqual(counters.authenticate, 2, "the rejected token was replaced by a new login")
      assert.strictEqual(api.seen.length, 3, "first call, the rejected call, its retry")
      assert.isTrue(api.seen.every((request) => request.url === `${server.url}/2/0/models`))
      return server
    }).pipe(
      // The layers close (logging the token out) while the HTTP client is still open.
      Effect.scoped,
      Effect.flatMap((server) => server.counters),
      Effect.map((counters) => assert.strictEqual(counters.logout, 1, "closing the layer logs the token out")),
      Effect.provide(NodeHttpClient.layerUndici)
    ))
})
