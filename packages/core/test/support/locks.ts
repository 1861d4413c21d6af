/**
 * What the lock tests of every backend share: building a lock, counting the holders inside a
 * critical section, and a holder process killed with SIGKILL (`fixtures/lockHolder.ts`).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TokenLock from "../../src/TokenLock.js"
import * as Processes from "./processes.js"

export const build = <E>(lock: Layer.Layer<TokenLock.TokenLock, E>) =>
  Effect.map(Layer.build(lock), (context) => Context.get(context, TokenLock.TokenLock))

export const realSleep = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

/**
 * 40 critical sections on one key through `locks` (separate connections / instances, as separate
 * processes would have), each one sleeping a little: the largest number ever inside at once.
 */
export const maxInside = (locks: ReadonlyArray<TokenLock.TokenLock.Service>) =>
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
export const killHolder = (args: ReadonlyArray<string>) =>
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

/** `holder` holds "site" for `holdMillis`; `waiter`, bounded by its own timeout, gives up: its error and wait. */
export const waitGivesUp = (holder: TokenLock.TokenLock.Service, waiter: TokenLock.TokenLock.Service, holdMillis: number) =>
  Effect.gen(function*() {
    const holding = yield* Effect.fork(holder.withLock("site", realSleep(holdMillis)))
    yield* realSleep(50)
    const started = Date.now()
    const error = yield* Effect.flip(waiter.withLock("site", Effect.void))
    const waited = Date.now() - started
    yield* Fiber.interrupt(holding)
    return { error, waited }
  })
