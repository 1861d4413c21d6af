import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as TokenLock from "../src/TokenLock.js"
import { build, killHolder, maxInside, realSleep, waitGivesUp } from "./support/locks.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-lock-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

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
        const { error, waited } = yield* waitGivesUp(holder, waiter, 1_500)
        assert.strictEqual(error._tag, "CredentialStoreError")
        assert.strictEqual(error.key, "site")
        assert.include(error.message, "Timed out waiting for the lock")
        assert.include(error.message, `held by pid ${process.pid}`)
        assert.isAtLeast(waited, 290)
        assert.isBelow(waited, 1_000)
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
})
