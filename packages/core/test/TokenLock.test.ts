import { assert, describe, it, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as TokenLock from "../src/TokenLock.js"
import * as Processes from "./support/processes.js"
import * as Programs from "./support/programs.js"
import * as RedisServer from "./support/redisServer.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-lock-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const build = <E>(lock: Layer.Layer<TokenLock.TokenLock, E>) =>
  Effect.map(Layer.build(lock), (context) => Context.get(context, TokenLock.TokenLock))

const realSleep = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

/**
 * 40 critical sections on one key through `locks` (separate connections / instances, as separate
 * processes would have), each one sleeping a little: the largest number ever inside at once.
 */
const maxInside = (locks: ReadonlyArray<TokenLock.TokenLock.Service>) =>
  Effect.gen(function*() {
    let inside = 0
    let max = 0
    yield* Effect.forEach(
      Array.from({ length: 40 }, (_, i) => locks[i % locks.length]),
      (lock) =>
        lock.withLock(
          "shared",
          Effect.gen(function*() {
            inside++
            max = Math.max(max, inside)
            yield* realSleep(3)
            inside--
          })
        ),
      { concurrency: "unbounded", discard: true }
    )
    return max
  })

/** Starts a process holding the lock, waits until it holds it, kills it with SIGKILL; returns the kill time. */
const killHolder = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const script = yield* Processes.bundle("lockHolder.ts")
    const holder = yield* Processes.start(script, args)
    yield* holder.line(/^locked$/).pipe(
      Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the holder never took the lock") }),
      Effect.orDie
    )
    holder.child.kill("SIGKILL")
    yield* holder.exit
    return Date.now()
  })

describe("TokenLock", () => {
  it.live("memory: one holder at a time per key", () =>
    Effect.gen(function*() {
      const lock = yield* TokenLock.makeMemory
      assert.strictEqual(yield* maxInside([lock]), 1)
    }))

  describe("file", () => {
    it.live("mutual exclusion between separate lock instances, and other keys are not blocked", () =>
      Effect.scoped(Effect.gen(function*() {
        const directory = yield* tempDir
        const locks = [yield* build(TokenLock.layerFile({ directory })), yield* build(TokenLock.layerFile({ directory }))]
        assert.strictEqual(yield* maxInside(locks), 1)
        // a holder of "a" does not stop "b"
        const started = Date.now()
        const holding = yield* Effect.fork(locks[0].withLock("a", realSleep(500)))
        yield* realSleep(50)
        yield* locks[1].withLock("b", Effect.void)
        assert.isBelow(Date.now() - started, 400)
        yield* Fiber.join(holding)
        assert.deepStrictEqual(Fs.readdirSync(directory), [])
      })))

    it.live("waiting is bounded: a CredentialStoreError naming the lock and its holder", () =>
      Effect.scoped(Effect.gen(function*() {
        const directory = yield* tempDir
        const holder = yield* build(TokenLock.layerFile({ directory }))
        const waiter = yield* build(TokenLock.layerFile({ directory, timeout: "300 millis" }))
        const holding = yield* Effect.fork(holder.withLock("site", realSleep(1_500)))
        yield* realSleep(50)
        const started = Date.now()
        const error = yield* Effect.flip(waiter.withLock("site", Effect.void))
        const waited = Date.now() - started
        assert.strictEqual(error._tag, "CredentialStoreError")
        assert.strictEqual(error.key, "site")
        assert.include(error.message, "Timed out waiting for the lock")
        assert.include(error.message, `held by pid ${process.pid}`)
        assert.isAtLeast(waited, 290)
        assert.isBelow(waited, 1_000)
        yield* Fiber.interrupt(holding)
      })))

    it.live("a lock whose holder process was killed is taken over at once", () =>
      Effect.scoped(Effect.gen(function*() {
        const directory = yield* tempDir
        const killedAt = yield* killHolder(["file", directory, "site"])
        const lock = yield* build(TokenLock.layerFile({ directory, timeout: "10 seconds" }))
        yield* lock.withLock("site", Effect.void)
        const takeover = Date.now() - killedAt
        // eslint-disable-next-line no-console
        console.log(`file lock: taken over ${takeover} ms after its holder was killed`)
        assert.isBelow(takeover, 1_000)
      })), 20_000)

    it.live("a lock from another host older than staleAfter is broken", () =>
      Effect.scoped(Effect.gen(function*() {
        const directory = yield* tempDir
        const path = Path.join(directory, "site.lock")
        Fs.writeFileSync(path, JSON.stringify({ pid: 1, host: "elsewhere", owner: "x", at: Date.now() }), { mode: 0o600 })
        const lock = yield* build(TokenLock.layerFile({ directory, staleAfter: "700 millis", timeout: "5 seconds" }))
        const started = Date.now()
        yield* lock.withLock("site", Effect.void)
        const waited = Date.now() - started
        assert.isAtLeast(waited, 600)
        assert.isBelow(waited, 2_000)
      })))

    it.live("a lock from the future (the clock stepped back) held by another live pid is broken, not kept until the clock catches up", () =>
      Effect.scoped(Effect.gen(function*() {
        const directory = yield* tempDir
        // a live process that is not the lock's holder: its pid was reused
        const other = yield* Effect.acquireRelease(
          Effect.sync(() => ChildProcess.spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" })),
          (child) => Effect.sync(() => child.kill("SIGKILL"))
        )
        const pid = other.pid!
        const write = (key: string, ahead: number) => {
          const path = Path.join(directory, `${key}.lock`)
          const at = Date.now() + ahead
          Fs.writeFileSync(path, JSON.stringify({ pid, host: Os.hostname(), owner: "stepped-back", at }), { mode: 0o600 })
          Fs.utimesSync(path, at / 1000, at / 1000)
        }
        const lock = yield* build(TokenLock.layerFile({ directory, staleAfter: "1 second", timeout: "5 seconds" }))
        // an hour ahead: stale at once (today it would stay live for an hour)
        write("hour", 3_600_000)
        yield* lock.withLock("hour", Effect.void)
        // a little ahead: stale within twice staleAfter
        write("little", 800)
        yield* lock.withLock("little", Effect.void)
        // an empty lock file from the future (its holder died before writing it) is bounded too
        const empty = Path.join(directory, "empty.lock")
        Fs.writeFileSync(empty, "", { mode: 0o600 })
        Fs.utimesSync(empty, Date.now() / 1000 + 3_600, Date.now() / 1000 + 3_600)
        yield* lock.withLock("empty", Effect.void)
        assert.deepStrictEqual(Fs.readdirSync(directory), [])
      })), 20_000)
  })

  describe.skipIf(!Programs.shouldRun(RedisServer.program))("redis", () => {
    layer(RedisServer.layer, { excludeTestServices: true })((it) => {
      const redisLock = (options: Partial<TokenLock.RedisOptions> = {}) =>
        Effect.flatMap(RedisServer.RedisServer, (redis) => build(TokenLock.layerRedis({ url: redis.url, ...options })))

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
          const holding = yield* Effect.fork(holder.withLock("site", realSleep(2_000)))
          yield* realSleep(50)
          const started = Date.now()
          const error = yield* Effect.flip(waiter.withLock("site", Effect.void))
          const waited = Date.now() - started
          assert.strictEqual(error._tag, "CredentialStoreError")
          assert.strictEqual(error.key, "site")
          assert.include(error.message, "Timed out")
          assert.include(error.message, "wait:lock:site")
          assert.isAtLeast(waited, 290)
          assert.isBelow(waited, 1_000)
          yield* Fiber.interrupt(holding)
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
