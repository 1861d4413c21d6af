/**
 * A peer: google-auth-library's `OAuth2Client.getAccessToken()` on a cached credential (its hot
 * path: a promise per call, no I/O) against our `TokenSource.get` on a fresh token, both with a
 * promise per call (`Effect.runPromise`) and inside a fiber. Figures are ratios against the peer,
 * measured in the same run. Also the fleet figure: upstream calls per refresh period when several
 * processes share one token.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { OAuth2Client } from "google-auth-library"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import * as AnaplanAuthServer from "../packages/anaplan/src/AnaplanAuthServer.js"
import * as Processes from "../packages/core/test/support/processes.js"
import * as Testing from "../packages/core/src/Testing.js"
import * as TokenAccessor from "../packages/core/src/TokenAccessor.js"
import * as TokenSource from "../packages/core/src/TokenSource.js"
import { median, type Result } from "./report.js"

/** Nanoseconds per call of `n` sequential awaited calls. */
const perPromise = async (call: () => Promise<unknown>, n: number): Promise<number> => {
  const start = performance.now()
  for (let i = 0; i < n; i++) await call()
  return ((performance.now() - start) * 1e6) / n
}

/** Nanoseconds per run of `n` sequential runs of `effect` inside one fiber. */
const perOp = <A, E>(effect: Effect.Effect<A, E>, n: number) =>
  Effect.gen(function*() {
    const start = performance.now()
    for (let i = 0; i < n; i++) yield* effect
    return ((performance.now() - start) * 1e6) / n
  })

export const getAccessTokenPeer: Effect.Effect<ReadonlyArray<Result>, unknown> = Effect.gen(function*() {
  const google = new OAuth2Client({ clientId: "bench-client", clientSecret: "bench-secret" })
  google.setCredentials({
    access_token: "ya29.bench-token",
    token_type: "Bearer",
    expiry_date: Date.now() + 3_600_000
  })
  const cached = yield* Effect.promise(() => google.getAccessToken())
  if (cached.token !== "ya29.bench-token") return yield* Effect.dieMessage("google-auth-library did not serve its cached token")

  const scope = yield* Scope.make()
  const script = yield* Testing.scriptedStrategy({ lifetime: Duration.hours(1) })
  const source = yield* TokenSource.make(script.strategy).pipe(Scope.extend(scope))
  yield* source.get
  const ours = source.get

  const accessor = TokenAccessor.make(source)
  yield* Effect.promise(() => accessor.getToken())

  const n = 50_000
  const peer: Array<number> = []
  const promised: Array<number> = []
  const accessed: Array<number> = []
  const inFiber: Array<number> = []
  // warm-up
  yield* Effect.promise(() => perPromise(() => google.getAccessToken(), n))
  yield* Effect.promise(() => perPromise(() => Effect.runPromise(ours), n))
  yield* Effect.promise(() => perPromise(() => accessor.getToken(), n))
  for (let trial = 0; trial < 11; trial++) {
    peer.push(yield* Effect.promise(() => perPromise(() => google.getAccessToken(), n)))
    promised.push(yield* Effect.promise(() => perPromise(() => Effect.runPromise(ours), n)))
    accessed.push(yield* Effect.promise(() => perPromise(() => accessor.getToken(), n)))
  }
  // the in-fiber loop allocates next to nothing: measured apart, so the others' garbage is not its GC
  yield* perOp(ours, n * 4)
  for (let trial = 0; trial < 11; trial++) inFiber.push(yield* perOp(ours, n * 4))
  yield* Scope.close(scope, Exit.void)
  const g = median(peer)
  const p = median(promised)
  const f = median(inFiber)
  const t = median(accessed)
  const calls = (yield* script.calls).acquire
  return [
    {
      name: "TokenAccessor.getToken() (a Promise, for code outside Effect) vs google-auth-library getAccessToken()",
      figure: `${(t / g).toFixed(2)}x`,
      detail: `median ${t.toFixed(0)} ns vs ${g.toFixed(0)} ns per awaited call, ${n} calls x 11 paired trials, cached token`,
      goal: "<= 1x (issue 17)",
      met: t / g <= 1
    },
    {
      name: "TokenSource.get via Effect.runPromise (a promise per call) vs google-auth-library getAccessToken()",
      figure: `${(p / g).toFixed(2)}x`,
      detail: `median ${p.toFixed(0)} ns vs ${g.toFixed(0)} ns per call, ${n} calls x 11 trials, cached token, ${calls} upstream call`,
      goal: "<= 10 us per call",
      met: p <= 10_000
    },
    {
      name: "TokenSource.get in a fiber vs google-auth-library getAccessToken()",
      figure: `${(f / g).toFixed(3)}x`,
      detail: `median ${f.toFixed(0)} ns vs ${g.toFixed(0)} ns per call, each call a yield* in an Effect.gen loop`,
      // Issue 17 holds code outside Effect to google-auth-library (TokenAccessor's row) and a fiber to
      // Ref.get (the core suite's row); this one is for comparison only.
      goal: "reported (the <= 1x goal is TokenAccessor's)",
      met: true
    }
  ] satisfies Array<Result>
})

/**
 * Cross-process sharing, through the persistence helper's fleet fixture
 * (packages/core/test/fixtures/fleetWorker.ts): 8 processes share one token through the secure
 * file store and its lock files, calling `get` continuously against one emulator whose tokens
 * live 4 s. The figure is the upstream calls (logins + refreshes) per refresh period across the
 * whole fleet: 1 is perfect sharing, 8 would be every process for itself.
 */
export const crossProcessUpstreamCalls: Effect.Effect<ReadonlyArray<Result>, unknown> = Effect.gen(function*() {
  const lifetimeMillis = 4_000
  const marginMillis = 1_500
  const jitterMillis = 300
  const workers = 8
  const runMillis = 3 * lifetimeMillis
  const directory = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "effect-auth-bench-fleet-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  const emulator = yield* AnaplanAuthServer.make({ tokenLifetime: `${lifetimeMillis} millis` })
  const script = yield* Processes.bundle("fleetWorker.ts")
  const args = [JSON.stringify({
    mode: "fleet",
    storage: "file",
    directory,
    authUrl: emulator.url,
    runMillis,
    validateEveryMillis: 150,
    marginMillis,
    jitterMillis,
    expirySkewMillis: 300
  })]
  const finished = yield* Effect.all(
    Array.from({ length: workers }, () => Processes.run(script, args, runMillis + 30_000)),
    { concurrency: "unbounded" }
  )
  const summaries = finished.map((f) =>
    Processes.result<{ readonly gets: number; readonly failures: number; readonly millis: number }>(f)
  )
  // the longest worker's own run, not counting process start-up
  const elapsed = Math.max(...summaries.map((s) => s.millis))
  const counters = yield* emulator.counters
  const upstream = counters.authenticate + counters.refresh
  // each token is renewed `margin` (+ up to `jitter`) before its expiry: one renewal per period
  const periods = Math.floor(elapsed / (lifetimeMillis - marginMillis - jitterMillis)) + 1
  const perPeriod = upstream / periods
  const gets = summaries.reduce((n, s) => n + s.gets, 0)
  const failures = summaries.reduce((n, s) => n + s.failures, 0)
  return [
    {
      name: "cross-process upstream calls per refresh period (8 processes, secure file store)",
      figure: `${perPeriod.toFixed(2)}`,
      detail: `${counters.authenticate} login + ${counters.refresh} refreshes in ${(elapsed / 1000).toFixed(1)} s ` +
        `(${periods} periods of a ${lifetimeMillis} ms token) for ${gets} gets, ${failures} failed validations; ` +
        `${workers} without sharing`,
      goal: "<= 1",
      met: perPeriod <= 1 && failures === 0
    }
  ] satisfies Array<Result>
}).pipe(Effect.scoped)
