import * as AnaplanAuth from "@effect-auth/anaplan/AnaplanAuth"
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { makeHandler, type Result } from "../src/Handler.js"
import * as RedisServer from "./redisServer.js"

const live = Layer.merge(NodeContext.layer, NodeHttpClient.layerUndici)

/** A handler instance configured by `env`, disposed with the test's scope. */
const instance = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => makeHandler({ configProvider: ConfigProvider.fromMap(new Map(Object.entries(env))) })),
    (made) => Effect.promise(made.dispose)
  )

const invoke = (made: { readonly handler: (event?: unknown) => Promise<Result> }) =>
  Effect.promise(() => made.handler({ source: "test" }))

const credentials = { ANAPLAN_EMAIL: "demo@example.com", ANAPLAN_PASSWORD: "demo-password" }

describe("examples/serverless", () => {
  it.scopedLive("a warm instance logs in once for many invocations, concurrent ones included", () =>
    Effect.gen(function*() {
      const server = yield* AnaplanAuthServer.make()
      const made = yield* instance({ ...credentials, ANAPLAN_AUTH_URL: server.url })
      const results = [
        yield* invoke(made),
        ...(yield* Effect.all(Array.from({ length: 8 }, () => invoke(made)), { concurrency: "unbounded" })),
        yield* invoke(made)
      ]
      for (const result of results) {
        assert.strictEqual(result.status, "SUCCESS")
        assert.strictEqual(result.statusMessage, "Token retrieved")
        assert.strictEqual(result.tokenValue, results[0].tokenValue)
      }
      assert.strictEqual((yield* server.counters).authenticate, 1)
      const validation = yield* AnaplanAuth.validate(Redacted.make(results[0].tokenValue!), { authUrl: server.url })
      assert.strictEqual(validation.email, "demo@example.com")
    }).pipe(Effect.provide(live)))

  it.scopedLive("with the file store a cold start reuses the stored token; the password comes from a secret file", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const server = yield* AnaplanAuthServer.make()
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "serverless-" })
      yield* fs.writeFileString(`${dir}/password`, "demo-password\n")
      const env = {
        ANAPLAN_EMAIL: "demo@example.com",
        ANAPLAN_PASSWORD_FILE: `${dir}/password`,
        ANAPLAN_AUTH_URL: server.url,
        ANAPLAN_TOKEN_STORE: "file",
        ANAPLAN_STORE_DIR: `${dir}/store`
      }
      const tokens: Array<string | undefined> = []
      for (let cold = 0; cold < 3; cold++) {
        yield* Effect.scoped(Effect.gen(function*() {
          const made = yield* instance(env)
          for (let i = 0; i < 2; i++) {
            const result = yield* invoke(made)
            assert.strictEqual(result.status, "SUCCESS", result.statusMessage)
            tokens.push(result.tokenValue)
          }
        }))
      }
      assert.strictEqual(new Set(tokens).size, 1)
      const counters = yield* server.counters
      assert.strictEqual(counters.authenticate, 1, "each cold start logged in instead of reading the stored token")
      assert.strictEqual(counters.logout, 0, "an instance going away must not log the shared token out")
    }).pipe(Effect.provide(live)))

  it.scopedLive("failures are results with a status and a message that says what to do, never a secret", () =>
    Effect.gen(function*() {
      const server = yield* AnaplanAuthServer.make()
      const wrong = yield* invoke(yield* instance({ ...credentials, ANAPLAN_PASSWORD: "hunter2-wrong", ANAPLAN_AUTH_URL: server.url }))
      assert.strictEqual(wrong.status, "FAILURE_BAD_CREDENTIAL")
      assert.isUndefined(wrong.tokenValue)
      assert.include(wrong.statusMessage, "password")
      assert.notInclude(wrong.statusMessage, "hunter2-wrong")

      const missing = yield* invoke(yield* instance({ ANAPLAN_EMAIL: "demo@example.com", ANAPLAN_AUTH_URL: server.url }))
      assert.strictEqual(missing.status, "FAILURE_CONFIGURATION")
      assert.include(missing.statusMessage, "ANAPLAN_PASSWORD_FILE")

      const unreadable = yield* invoke(yield* instance({
        ANAPLAN_EMAIL: "demo@example.com",
        ANAPLAN_PASSWORD_FILE: "/nonexistent/anaplan-password",
        ANAPLAN_AUTH_URL: server.url
      }))
      assert.strictEqual(unreadable.status, "FAILURE_CONFIGURATION")
      assert.include(unreadable.statusMessage, "/nonexistent/anaplan-password")

      assert.strictEqual((yield* server.counters).authenticate, 1)
    }).pipe(Effect.provide(live)))

  it.scopedLive.skipIf(!RedisServer.shouldRun)("with the Redis store a fleet of cold instances invoked at once logs in once", () =>
    Effect.gen(function*() {
      const server = yield* AnaplanAuthServer.make()
      const redisUrl = yield* RedisServer.start
      const env = { ...credentials, ANAPLAN_AUTH_URL: server.url, ANAPLAN_TOKEN_STORE: "redis", ANAPLAN_REDIS_URL: redisUrl }
      const fleet = yield* Effect.all(Array.from({ length: 4 }, () => instance(env)))
      const results = yield* Effect.all(
        fleet.flatMap((made) => [invoke(made), invoke(made)]),
        { concurrency: "unbounded" }
      )
      for (const result of results) assert.strictEqual(result.status, "SUCCESS", result.statusMessage)
      assert.strictEqual(new Set(results.map((result) => result.tokenValue)).size, 1)
      assert.strictEqual((yield* server.counters).authenticate, 1)
    }).pipe(Effect.provide(live)))
})
