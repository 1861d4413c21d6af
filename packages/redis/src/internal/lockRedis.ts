/** @internal */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type { Redis } from "ioredis"
import { CredentialStoreError } from "@effect-auth/core/AuthError"

/** Deletes the lock only if it still holds our owner id. */
const releaseScript = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`

/** Extends the lock only if it still holds our owner id. */
const extendScript =
  `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`

/** @internal */
export interface Options {
  readonly prefix: string
  readonly ttl: Duration.Duration
  readonly timeout: Duration.Duration
  readonly poll: Duration.Duration
  readonly describe: string
}

/** @internal */
export const defaults = {
  ttl: Duration.seconds(30),
  timeout: Duration.seconds(60),
  poll: Duration.millis(20)
} as const

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

/**
 * `SET NX PX` with a random owner id to take the lock, polling until the timeout; while the effect
 * runs the lock is extended every third of its ttl (so a slow but live holder keeps it, and a dead
 * one loses it after at most one ttl); a compare-and-delete script releases it.
 *
 * @internal
 */
export const withLock = (client: Redis, options: Options) =>
<A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | CredentialStoreError, R> => {
  const lockKey = `${options.prefix}lock:${key}`
  const ttl = Math.max(1, Duration.toMillis(options.ttl))
  const poll = Math.max(1, Duration.toMillis(options.poll))
  const failure = (detail: string) =>
    new CredentialStoreError({
      store: options.describe,
      key,
      detail,
      hint: "Check that Redis is reachable; a lock whose holder died expires by itself."
    })
  const acquire = Effect.gen(function*() {
    const owner = `${process.pid}-${(yield* Random.nextInt).toString(36)}-${Date.now().toString(36)}`
    const deadline = Date.now() + Duration.toMillis(options.timeout)
    while (true) {
      const taken = yield* Effect.uninterruptible(Effect.tryPromise({
        try: () => client.set(lockKey, owner, "PX", ttl, "NX"),
        catch: (error) => failure(`Cannot take the lock ${lockKey}: ${messageOf(error)}`)
      }))
      if (taken === "OK") return owner
      if (Date.now() >= deadline) {
        return yield* Effect.fail(
          failure(
            `Timed out after ${Duration.format(options.timeout)} waiting for the lock ${lockKey}, held by another process`
          )
        )
      }
      yield* Effect.sleep(Duration.millis(yield* Random.nextIntBetween(poll, poll * 2 + 1)))
    }
  })
  const release = (owner: string) =>
    Effect.promise(() => client.eval(releaseScript, 1, lockKey, owner).then(() => undefined, () => undefined))
  const keepAlive = (owner: string) =>
    Effect.promise(() => client.eval(extendScript, 1, lockKey, owner, ttl).then(() => undefined, () => undefined)).pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1, Math.floor(ttl / 3))))),
      Effect.delay(Duration.millis(Math.max(1, Math.floor(ttl / 3))))
    )
  return Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(restore(acquire), (owner) =>
      Effect.flatMap(Effect.forkDaemon(Effect.interruptible(keepAlive(owner))), (renewal) =>
        restore(effect).pipe(Effect.ensuring(Effect.zipRight(Fiber.interrupt(renewal), release(owner))))))
  )
}
