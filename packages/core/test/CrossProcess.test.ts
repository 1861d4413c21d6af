/**
 * The acceptance of persistence: processes sharing one token through a Redis or file store, against
 * one Anaplan emulator with a short token lifetime. One login for the fleet, one refresh per
 * refresh period, no refresh token spent twice, and a holder killed with SIGKILL mid-refresh never
 * costs the others their login.
 */
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { WorkerOptions, WorkerSummary } from "./fixtures/fleetWorker.js"
import * as Processes from "./support/processes.js"
import * as Programs from "./support/programs.js"
import * as RedisServer from "../../redis/test/support/redisServer.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-fleet-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const lifetimeMillis = 4_000
const marginMillis = 1_500
const jitterMillis = 300
const policy = { marginMillis, jitterMillis, expirySkewMillis: 300 }

type Storage = Pick<WorkerOptions, "storage" | "redisUrl" | "prefix" | "directory" | "lockTtlMillis">

const sum = (summaries: ReadonlyArray<WorkerSummary>, field: "gets" | "validations" | "staleRecovered" | "failures" | "logins" | "refreshes" | "refreshRejected") =>
  summaries.reduce((n, s) => n + s[field], 0)

/**
 * 8 workers calling `get` continuously for ~3 token lifetimes against one emulator. `renewal` is
 * how the emulator's `/token/refresh` answers: `extend` as Anaplan does (the same token, a later
 * expiry), `rotate` with a new token that retires the old one (as rotating OAuth refresh tokens do).
 */
const fleet = (name: string, storage: Storage, renewal: "extend" | "rotate") =>
  Effect.gen(function*() {
    const emulator = yield* AnaplanAuthServer.make({
      tokenLifetime: `${lifetimeMillis} millis`,
      rotateOnRefresh: renewal === "rotate"
    })
    const script = yield* Processes.bundle("fleetWorker.ts")
    const runMillis = 3 * lifetimeMillis
    const workers = 8
    const started = Date.now()
    const finished = yield* Effect.all(
      Array.from({ length: workers }, () =>
        Processes.run(script, [JSON.stringify({
          mode: "fleet",
          authUrl: emulator.url,
          runMillis,
          validateEveryMillis: 150,
          ...policy,
          ...storage
        } satisfies WorkerOptions)], runMillis + 20_000)),
      { concurrency: "unbounded" }
    )
    const elapsed = Date.now() - started
    const summaries = finished.map((f) => Processes.result<WorkerSummary>(f))
    const counters = yield* emulator.counters
    // A token is refreshed `margin` (+ up to `jitter`) before it expires: one refresh per period.
    const period = lifetimeMillis - marginMillis - jitterMillis
    const allowedRefreshes = Math.floor(elapsed / period) + 1
    // eslint-disable-next-line no-console
    console.log(
      `${name}: ${workers} processes x ${runMillis} ms (token lifetime ${lifetimeMillis} ms) in ${elapsed} ms: ` +
        `authenticate ${counters.authenticate}, refresh ${counters.refresh} (allowed ${allowedRefreshes}), ` +
        `validate ${counters.validate}; gets ${sum(summaries, "gets")}, validations ${sum(summaries, "validations")}, ` +
        `stale tokens recovered by invalidate ${sum(summaries, "staleRecovered")}, failures ${sum(summaries, "failures")}, ` +
        `refresh tokens spent twice ${sum(summaries, "refreshRejected")}`
    )
    for (const summary of summaries) assert.deepStrictEqual(summary.errors, [])
    assert.strictEqual(counters.authenticate, 1)
    assert.strictEqual(sum(summaries, "logins"), 1)
    assert.strictEqual(counters.refresh, sum(summaries, "refreshes"))
    assert.isAtLeast(counters.refresh, 3)
    assert.isAtMost(counters.refresh, allowedRefreshes)
    assert.strictEqual(sum(summaries, "refreshRejected"), 0)
    assert.strictEqual(sum(summaries, "failures"), 0)
    for (const summary of summaries) assert.isAbove(summary.validations, 10)
  })

/**
 * `trials` times: a process starts refreshing the shared token and is killed with SIGKILL at a
 * random moment; the next process must end up with a token the emulator accepts, with no
 * interactive login.
 *
 * Odd trials: the emulator never answers the victim's refresh (`Fault.hang`), so the stored token
 * is still good: the next process takes the dead holder's lock over and refreshes it (no login).
 * Even trials: the emulator answers after 600 ms (`Fault.delay`) and completes the refresh even if
 * the client is gone, as a real server may; killed before the answer arrived, the victim takes the
 * rotated token with it, the stored one is dead, and the next process logs in again
 * (non-interactively: this strategy has the password); killed after, it had stored the new token.
 */
const killTrials = (name: string, storage: Storage, trials: number) =>
  Effect.gen(function*() {
    const emulator = yield* AnaplanAuthServer.make({ tokenLifetime: "10 minutes", rotateOnRefresh: true })
    const script = yield* Processes.bundle("fleetWorker.ts")
    const args = [JSON.stringify({ mode: "refresh", authUrl: emulator.url, ...policy, ...storage } satisfies WorkerOptions)]
    // the first login, stored for everyone
    const first = Processes.result<WorkerSummary>(yield* Processes.run(script, args, 20_000))
    assert.strictEqual(first.failures, 0)
    const outcomes = { takenOver: 0, reLoggedIn: 0, victimHadSaved: 0 }
    const takeovers: Array<number> = []
    for (let trial = 0; trial < trials; trial++) {
      const hang = trial % 2 === 0
      yield* emulator.injectFault(hang ? AnaplanAuthServer.Fault.hang() : AnaplanAuthServer.Fault.delay("600 millis"))
      const victim = yield* Processes.start(script, args)
      yield* victim.line(/^refresh-request$/).pipe(
        Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => new Error(`${name}: the victim never refreshed`) }),
        Effect.orDie
      )
      const wait = 20 + Math.floor(Math.random() * (hang ? 800 : 1_000))
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, wait)))
      victim.child.kill("SIGKILL")
      const killedAt = Date.now()
      yield* victim.exit
      const next = yield* Processes.run(script, args, 20_000)
      const summary = Processes.result<WorkerSummary>(next)
      takeovers.push(Date.now() - killedAt)
      const context = `${name} trial ${trial} (${hang ? "hang" : "delay"}, killed after ${wait} ms): ${JSON.stringify(summary)} ${next.stderr}`
      assert.strictEqual(summary.failures, 0, context)
      assert.strictEqual(summary.validations, 1, context)
      assert.strictEqual(summary.staleRecovered, 0, context)
      if (hang) {
        assert.strictEqual(summary.logins, 0, context)
        assert.strictEqual(summary.refreshRejected, 0, context)
        outcomes.takenOver++
      } else if (summary.logins === 1) {
        // the stored token had been refreshed away by the dead victim: rejected once, then a login
        assert.strictEqual(summary.refreshRejected, 1, context)
        outcomes.reLoggedIn++
      } else {
        assert.strictEqual(summary.logins, 0, context)
        assert.strictEqual(summary.refreshRejected, 0, context)
        outcomes.victimHadSaved++
      }
    }
    const counters = yield* emulator.counters
    // eslint-disable-next-line no-console
    console.log(
      `${name}: ${trials} kill -9 trials: ${outcomes.takenOver} lock taken over and refreshed, ` +
        `${outcomes.reLoggedIn} non-interactive re-login (the dead victim's refresh had completed upstream), ` +
        `${outcomes.victimHadSaved} victim had saved first; authenticate ${counters.authenticate}, ` +
        `refresh requests ${counters.refresh}; next process done ${Math.min(...takeovers)}-${Math.max(...takeovers)} ms after the kill`
    )
    assert.strictEqual(counters.authenticate, 1 + outcomes.reLoggedIn)
  })

/**
 * `trials` times, `workers` processes force a refresh of the shared token at the same moment
 * (one takes the Redis lock, the others wait for it), and Redis is paused (`CLIENT PAUSE ... ALL`)
 * for `pauseMillis`, longer than the lock's ttl:
 *
 * - even trials: when the holder sends its refresh request (delayed 300 ms by the emulator), so
 *   the pause covers the spend and the write of the new token;
 * - odd trials: at the moment they start (plus up to 30 ms), so the pause may catch a holder
 *   between taking the lock and spending: it finds the lock lost and reads the store again.
 *
 * No refresh token may be spent twice (the emulator rejects a spent one: `refreshRejected`), and
 * every process must end up with a token the emulator accepts.
 */
const pauseTrials = (redis: RedisServer.Running, trials: number, workers: number, pauseMillis: number) =>
  Effect.gen(function*() {
    const emulator = yield* AnaplanAuthServer.make({ tokenLifetime: "10 minutes", rotateOnRefresh: true })
    const script = yield* Processes.bundle("fleetWorker.ts")
    const base = {
      mode: "refresh",
      authUrl: emulator.url,
      ...policy,
      storage: "redis",
      redisUrl: redis.url,
      prefix: "pause:",
      lockTtlMillis: 500,
      spendTtlMillis: 5_000
    } satisfies WorkerOptions
    const first = Processes.result<WorkerSummary>(yield* Processes.run(script, [JSON.stringify(base)], 20_000))
    assert.strictEqual(first.failures, 0)
    const totals = { refreshes: 0, rejected: 0, failures: 0, lockLost: 0, logins: 0, pausedMidSpend: 0 }
    for (let trial = 0; trial < trials; trial++) {
      const midSpend = trial % 2 === 0
      if (midSpend) yield* emulator.injectFault(AnaplanAuthServer.Fault.delay("300 millis"))
      const startAt = Date.now() + 1_200
      const running = yield* Effect.all(
        Array.from({ length: workers }, () => Processes.start(script, [JSON.stringify({ ...base, startAt })])),
        { concurrency: "unbounded" }
      )
      if (midSpend) {
        yield* Effect.raceAll(running.map((worker) => worker.line(/^refresh-request$/)))
        totals.pausedMidSpend++
      } else {
        yield* Effect.sleep(`${Math.max(0, startAt - Date.now()) + Math.floor(Math.random() * 30)} millis`)
      }
      const paused = yield* redis.command("CLIENT", "PAUSE", String(pauseMillis), "ALL")
      assert.include(paused, "OK")
      const finished = yield* Effect.all(running.map((worker) => worker.exit), { concurrency: "unbounded" })
      for (const done of finished) {
        const summary = Processes.result<WorkerSummary>(done)
        const context = `trial ${trial} (${midSpend ? "mid-spend" : "at start"}): ${JSON.stringify(summary)} ${done.stderr}`
        assert.strictEqual(summary.failures, 0, context)
        assert.strictEqual(summary.validations, 1, context)
        assert.strictEqual(summary.refreshRejected, 0, context)
        totals.refreshes += summary.refreshes
        totals.rejected += summary.refreshRejected
        totals.lockLost += summary.lockLost
        totals.logins += summary.logins
      }
    }
    const counters = yield* emulator.counters
    // eslint-disable-next-line no-console
    console.log(
      `redis paused ${pauseMillis} ms (lock ttl 500 ms, spendTtl 5 s) in ${trials} trials x ${workers} processes ` +
        `(${totals.pausedMidSpend} mid-spend): refresh requests ${counters.refresh}, refresh tokens spent twice ` +
        `${totals.rejected}, locks found lost and the store read again ${totals.lockLost}, logins ${totals.logins}, ` +
        `processes without a working token ${totals.failures}`
    )
    assert.strictEqual(totals.rejected, 0)
    assert.strictEqual(totals.logins, 0)
    assert.strictEqual(counters.authenticate, 1)
  })

describe.skipIf(!Programs.shouldRun(RedisServer.program))("CrossProcess", () => {
  it.live("8 processes on Redis (rotating refresh) and 8 on a file store (Anaplan's extending refresh), ~3 token lifetimes: one login, one refresh per period", () =>
    Effect.scoped(Effect.gen(function*() {
      const redis = yield* RedisServer.start
      const directory = yield* tempDir
      yield* Effect.all([
        fleet("redis fleet", { storage: "redis", redisUrl: redis.url, prefix: "fleet:" }, "rotate"),
        fleet("file fleet", { storage: "file", directory }, "extend")
      ], { concurrency: "unbounded" })
    })), 60_000)

  it.live("20 kill -9 trials mid-refresh (10 Redis, 10 file): the next process is still logged in", () =>
    Effect.scoped(Effect.gen(function*() {
      const redis = yield* RedisServer.start
      const directory = yield* tempDir
      yield* Effect.all([
        killTrials("redis", { storage: "redis", redisUrl: redis.url, prefix: "kill:", lockTtlMillis: 500 }, 10),
        killTrials("file", { storage: "file", directory }, 10)
      ], { concurrency: "unbounded" })
    })), 60_000)

  it.live("Redis paused longer than the lock's ttl mid-refresh, 20 trials x 3 processes: no refresh token spent twice, all logged in", () =>
    Effect.scoped(Effect.gen(function*() {
      const redis = yield* RedisServer.start
      yield* pauseTrials(redis, 20, 3, 1_500)
    })), 400_000)
})
