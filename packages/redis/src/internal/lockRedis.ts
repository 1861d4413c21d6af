/** @internal */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type { Redis } from "ioredis"
import { CredentialStoreError } from "@effect-auth/core/AuthError"
import * as Os from "node:os"
import * as Fence from "./fence.js"

/** Deletes the lock only if it still holds our owner id. */
const releaseScript = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`

/**
 * If the lock still holds our owner id, makes it live at least `ARGV[2]` ms more (never shortens
 * it: a holder spending a refresh token holds it longer than the keep-alive's ttl) and answers 1;
 * else 0: the lock expired, and another process may hold it.
 */
const holdScript = `if redis.call("get", KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call("pttl", KEYS[1]) < tonumber(ARGV[2]) then redis.call("pexpire", KEYS[1], ARGV[2]) end
return 1`

/** @internal */
export interface Options {
  readonly url: string
  readonly prefix: string
  readonly ttl: Duration.Duration
  readonly spendTtl?: Duration.Duration | undefined
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

/** `<host>:<pid>:<random>`: a waiter on the same host can tell that the holder died. */
const parseOwner = (owner: string): { readonly host: string; readonly pid: number } | undefined => {
  const match = /^(.*):(\d+):[^:]+$/.exec(owner)
  return match === null ? undefined : { host: match[1], pid: Number(match[2]) }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return !(typeof error === "object" && error !== null && "code" in error && error.code === "ESRCH")
  }
}

/** @internal */
export interface RedisLock {
  readonly withLock: <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CredentialStoreError, R>
  readonly guard: (key: string) => Effect.Effect<boolean, CredentialStoreError>
}

/**
 * `SET NX PX` with an owner id (host, pid, random) to take the lock, polling until the timeout; a
 * lock whose holder process died on this host is taken over at once, any other expires after its
 * ttl. While the effect runs the lock is extended every third of its ttl, and a failed extension
 * marks the lock lost. Before a refresh token is spent, {@link RedisLock.guard} checks in Redis,
 * atomically, that the lock is still ours and holds it for `spendTtl`. A compare-and-delete script
 * releases it. The fiber carries a {@link Fence.Fence} that fences the Redis store's writes.
 *
 * @internal
 */
export const make = (client: Redis, options: Options): RedisLock => {
  const ttl = Math.max(1, Duration.toMillis(options.ttl))
  const spendTtl = options.spendTtl === undefined ? ttl : Math.max(ttl, Duration.toMillis(options.spendTtl))
  const poll = Math.max(1, Duration.toMillis(options.poll))
  const server = Fence.serverOf(options.url)
  const lockKeyOf = (key: string) => `${options.prefix}lock:${key}`
  const failure = (key: string, detail: string) =>
    new CredentialStoreError({
      store: options.describe,
      key,
      detail,
      reason: "Unavailable",
      hint: "Check that Redis is reachable; a lock whose holder died expires by itself."
    })
  const release = (lockKey: string, owner: string) =>
    Effect.promise(() => client.eval(releaseScript, 1, lockKey, owner).then(() => undefined, () => undefined))

  /** Frees a lock whose holder process is gone from this host (compare-and-delete: only that holder's lock). */
  const breakDead = (lockKey: string) =>
    Effect.promise(async () => {
      const holder = await client.get(lockKey).catch(() => null)
      const parsed = holder === null ? undefined : parseOwner(holder)
      if (parsed !== undefined && parsed.host === Os.hostname() && parsed.pid !== process.pid && !alive(parsed.pid)) {
        await client.eval(releaseScript, 1, lockKey, holder!).catch(() => undefined)
      }
    })

  const acquire = (key: string, lockKey: string) =>
    Effect.gen(function*() {
      const owner = `${Os.hostname()}:${process.pid}:${(yield* Random.nextInt).toString(36)}${Date.now().toString(36)}`
      const deadline = Date.now() + Duration.toMillis(options.timeout)
      for (let attempt = 1;; attempt++) {
        const taken = yield* Effect.uninterruptible(Effect.tryPromise({
          try: () => client.set(lockKey, owner, "PX", ttl, "NX"),
          catch: (error) => failure(key, `Cannot take the lock ${lockKey}: ${messageOf(error)}`)
        }))
        if (taken === "OK") return owner
        if (Date.now() >= deadline) {
          return yield* Effect.fail(
            failure(
              key,
              `Timed out after ${Duration.format(options.timeout)} waiting for the lock ${lockKey}, held by another process`
            )
          )
        }
        if (attempt % 8 === 0) yield* breakDead(lockKey)
        yield* Effect.sleep(Duration.millis(yield* Random.nextIntBetween(poll, poll * 2 + 1)))
      }
    })

  const hold = (fence: Fence.Fence, millis: number) =>
    Effect.tryPromise({
      try: () => client.eval(holdScript, 1, fence.lockKey, fence.owner, millis),
      catch: (error) => failure(fence.key, `Cannot check the lock ${fence.lockKey}: ${messageOf(error)}`)
    }).pipe(Effect.map((held) => held === 1))

  const keepAlive = (fence: Fence.Fence) =>
    hold(fence, ttl).pipe(
      // A failed command is retried at the next beat; only an answer "not yours" loses the lock.
      Effect.orElseSucceed(() => true),
      Effect.flatMap((held) =>
        held ? Effect.void : Effect.sync(() => {
          fence.lost = true
        })
      ),
      Effect.repeat({
        schedule: Schedule.spaced(Duration.millis(Math.max(1, Math.floor(ttl / 3)))),
        until: () => fence.lost
      }),
      Effect.delay(Duration.millis(Math.max(1, Math.floor(ttl / 3))))
    )

  const withLock = <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | CredentialStoreError, R> => {
    const lockKey = lockKeyOf(key)
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(restore(acquire(key, lockKey)), (owner) => {
        const fence: Fence.Fence = { server, key, lockKey, owner, read: new Map(), lost: false }
        return Effect.flatMap(Effect.forkDaemon(Effect.interruptible(keepAlive(fence))), (renewal) =>
          restore(Effect.locallyWith(effect, Fence.currentFences, (fences) => [...fences, fence])).pipe(
            Effect.ensuring(Effect.zipRight(Fiber.interrupt(renewal), release(lockKey, owner)))
          ))
      })
    )
  }

  const guard = (key: string): Effect.Effect<boolean, CredentialStoreError> =>
    Effect.flatMap(FiberRef.get(Fence.currentFences), (fences) => {
      const fence = Fence.find(fences, server, key)
      if (fence === undefined || fence.lockKey !== lockKeyOf(key)) return Effect.succeed(true)
      if (fence.lost) return Effect.succeed(false)
      return Effect.tap(hold(fence, spendTtl), (held) =>
        Effect.sync(() => {
          if (!held) fence.lost = true
        }))
    })

  return { withLock, guard }
}
