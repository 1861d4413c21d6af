import { assert, describe, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Programs from "../../core/test/support/programs.js"
import { build, killHolder, maxInside, realSleep, waitGivesUp } from "../../core/test/support/locks.js"
import * as RedisLock from "../src/RedisLock.js"
import * as RedisServer from "./support/redisServer.js"

describe("RedisLock", () => {
  describe.skipIf(!Programs.shouldRun(RedisServer.program))("against a real redis-server", () => {
    layer(RedisServer.layer, { excludeTestServices: true })((it) => {
      const redisLock = (options: Partial<RedisLock.Options> = {}) =>
        Effect.flatMap(RedisServer.RedisServer, (redis) => build(RedisLock.layer({ url: redis.url, ...options })))

      it.scoped("mutual exclusion between separate connections", () =>
        Effect.gen(function*() {
          const locks = [yield* redisLock({ prefix: "mx:" }), yield* redisLock({ prefix: "mx:" })]
          assert.strictEqual(yield* maxInside(locks), 1)
          const redis = yield* RedisServer.RedisServer
          assert.strictEqual(yield* redis.command("EXISTS", "mx:lock:shared"), ":0\r\n")
        }))

      it.scoped("only the owner releases: a lock taken over by another owner is left alone", () =>
        Effect.gen(function*() {
          const redis = yield* RedisServer.RedisServer
          const lock = yield* redisLock({ prefix: "own:" })
          yield* lock.withLock(
            "site",
            // as if our lock had expired and another process had taken it
            Effect.asVoid(redis.command("SET", "own:lock:site", "someone-else"))
          )
          assert.strictEqual(yield* redis.command("GET", "own:lock:site"), "$12\r\nsomeone-else\r\n")
        }))

      it.scoped("a live holder keeps its lock past the ttl (it extends it)", () =>
        Effect.gen(function*() {
          const holder = yield* redisLock({ prefix: "live:", ttl: "300 millis" })
          const waiter = yield* redisLock({ prefix: "live:", ttl: "300 millis", timeout: "5 seconds" })
          const released = { at: 0 }
          const holding = yield* Effect.fork(
            holder.withLock("site", Effect.zipRight(realSleep(1_200), Effect.sync(() => (released.at = Date.now()))))
          )
          yield* realSleep(50)
          yield* waiter.withLock("site", Effect.void)
          const enteredAt = Date.now()
          yield* Fiber.join(holding)
          assert.isAbove(released.at, 0)
          assert.isAtLeast(enteredAt, released.at)
        }))

      it.scoped("a lock whose holder process was killed expires after its ttl and is taken over", () =>
        Effect.gen(function*() {
          const redis = yield* RedisServer.RedisServer
          const killedAt = yield* killHolder(["redis", redis.url, "site", "1000"])
          const lock = yield* redisLock({ timeout: "10 seconds" })
          yield* lock.withLock("site", Effect.void)
          const takeover = Date.now() - killedAt
          // eslint-disable-next-line no-console
          console.log(`redis lock (ttl 1000 ms): taken over ${takeover} ms after its holder was killed`)
          assert.isBelow(takeover, 1_600)
        }), 20_000)

      it.scoped("waiting is bounded: a CredentialStoreError naming the store and key", () =>
        Effect.gen(function*() {
          const holder = yield* redisLock({ prefix: "wait:" })
          const waiter = yield* redisLock({ prefix: "wait:", timeout: "300 millis" })
          const { error, waited } = yield* waitGivesUp(holder, waiter, 2_000)
          assert.strictEqual(error._tag, "CredentialStoreError")
          assert.strictEqual(error.key, "site")
          assert.include(error.message, "Timed out")
          assert.include(error.message, "wait:lock:site")
          assert.isAtLeast(waited, 290)
          assert.isBelow(waited, 1_000)
        }))

      it.scoped("an interrupted holder releases its lock", () =>
        Effect.gen(function*() {
          const redis = yield* RedisServer.RedisServer
          const lock = yield* redisLock({ prefix: "int:" })
          const holding = yield* Effect.fork(lock.withLock("site", Effect.never))
          yield* realSleep(100)
          assert.strictEqual(yield* redis.command("EXISTS", "int:lock:site"), ":1\r\n")
          yield* Fiber.interrupt(holding)
          assert.strictEqual(yield* redis.command("EXISTS", "int:lock:site"), ":0\r\n")
        }))
    })
  })
})
