import { assert, describe, it, layer } from "@effect/vitest"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as RedisStore from "../src/RedisStore.js"
import * as Token from "@effect-auth/core/Token"
import * as TokenStore from "@effect-auth/core/TokenStore"
import * as Programs from "../../core/test/support/programs.js"
import * as RedisServer from "./support/redisServer.js"

const kv = (options: RedisStore.Options) =>
  Effect.map(Layer.build(RedisStore.layer(options)), (context) => Context.get(context, KeyValueStore.KeyValueStore))

const token = Token.make({
  accessToken: "redis-access-secret",
  refreshToken: "redis-refresh-secret",
  issuedAt: 1_700_000_000_000,
  expiresIn: "35 minutes"
})

describe("RedisStore", () => {
  it("describes the server without its credentials", () => {
    assert.strictEqual(RedisStore.describe("redis://user:hunter2@cache.local:6380/2"), "redis redis://cache.local:6380/2")
    assert.notInclude(RedisStore.describe("rediss://:hunter2@cache.local"), "hunter2")
  })

  it.live("an unreachable server fails the layer with a CredentialStoreError, within the timeout", () =>
    Effect.scoped(Effect.gen(function*() {
      const port = yield* RedisServer.freePort
      const started = Date.now()
      const error = yield* Effect.flip(kv({ url: `redis://127.0.0.1:${port}`, timeout: "1 second" }))
      assert.strictEqual(error._tag, "CredentialStoreError")
      assert.include(error.message, `redis://127.0.0.1:${port}`)
      assert.include(error.message, "Cannot connect to Redis")
      assert.isBelow(Date.now() - started, 3_000)
    })))

  describe.skipIf(!Programs.shouldRun(RedisServer.program))("against a real redis-server", () => {
    layer(RedisServer.layer, { excludeTestServices: true })((it) => {
      it.scoped("get, set, has, remove under the prefix", () =>
        Effect.gen(function*() {
          const redis = yield* RedisServer.RedisServer
          const store = yield* kv({ url: redis.url, prefix: "t1:" })
          assert.isTrue(Option.isNone(yield* store.get("site")))
          yield* store.set("site", "value")
          assert.deepStrictEqual(yield* store.get("site"), Option.some("value"))
          assert.isTrue(yield* store.has("site"))
          assert.strictEqual(yield* redis.command("GET", "t1:site"), "$5\r\nvalue\r\n")
          yield* store.remove("site")
          assert.isFalse(yield* store.has("site"))
          assert.strictEqual(yield* redis.command("EXISTS", "t1:site"), ":0\r\n")
        }))

      it.scoped("size and clear see only the store's own prefix", () =>
        Effect.gen(function*() {
          const redis = yield* RedisServer.RedisServer
          const a = yield* kv({ url: redis.url, prefix: "team-a:" })
          const b = yield* kv({ url: redis.url, prefix: "team-b:" })
          yield* a.set("one", "1")
          yield* a.set("two", "2")
          yield* b.set("one", "other")
          // a prefix with glob characters is matched literally
          const glob = yield* kv({ url: redis.url, prefix: "team-*:" })
          assert.strictEqual(yield* glob.size, 0)
          assert.strictEqual(yield* a.size, 2)
          assert.strictEqual(yield* b.size, 1)
          yield* a.clear
          assert.strictEqual(yield* a.size, 0)
          assert.deepStrictEqual(yield* b.get("one"), Option.some("other"))
        }))

      it.scoped("a TokenStore on Redis round-trips tokens and reports a corrupt entry without deleting it", () =>
        Effect.gen(function*() {
          const redis = yield* RedisServer.RedisServer
          const tokens = Context.get(
            yield* Layer.build(RedisStore.layerTokenStore({ url: redis.url, prefix: "t3:" })),
            TokenStore.TokenStore
          )
          assert.strictEqual(tokens.describe, `redis ${redis.url}`)
          yield* tokens.save("emulator/demo", token)
          const loaded = Option.getOrThrow(yield* tokens.load("emulator/demo"))
          assert.strictEqual(Redacted.value(loaded.accessToken), "redis-access-secret")
          assert.strictEqual(loaded.expiresAtMillis, token.expiresAtMillis)
          yield* redis.command("SET", "t3:emulator/demo", "{\"accessToken\":\"redis-acc")
          const error = yield* Effect.flip(tokens.load("emulator/demo"))
          assert.strictEqual(error._tag, "CredentialStoreError")
          assert.include(error.message, `redis ${redis.url}`)
          assert.include(error.message, "\"emulator/demo\"")
          assert.notInclude(error.message, "redis-acc")
          assert.strictEqual(yield* redis.command("EXISTS", "t3:emulator/demo"), ":1\r\n")
          yield* tokens.remove("emulator/demo")
          assert.strictEqual(yield* redis.command("EXISTS", "t3:emulator/demo"), ":0\r\n")
        }))
    })
  })
})
