/** @internal */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"

/** @internal */
export interface LockFileOptions {
  /** A lock older than this is broken even if its holder may be alive. */
  readonly staleAfter: Duration.Duration
  /** Give up waiting after this long. */
  readonly timeout: Duration.Duration
  /** Poll between this and twice this. */
  readonly poll: Duration.Duration
}

interface Holder {
  readonly pid: number
  readonly host: string
  readonly owner: string
  readonly at: number
}

/**
 * Waiting for the lock took longer than the timeout.
 *
 * @internal
 */
export class LockTimeout extends Schema.TaggedError<LockTimeout>("@effect-auth/core/LockTimeout")("LockTimeout", {
  path: Schema.String,
  holder: Schema.String
}) {
  override get message(): string {
    return `Timed out waiting for the lock ${this.path} (${this.holder})`
  }
}

/**
 * The lock file could not be created, read or removed.
 *
 * @internal
 */
export class LockIOError extends Schema.TaggedError<LockIOError>("@effect-auth/core/LockIOError")("LockIOError", {
  path: Schema.String,
  cause: Schema.Defect
}) {
  override get message(): string {
    return `Cannot take the lock ${this.path}: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

const code = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

const parseHolder = (text: string): Holder | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    if (
      typeof value === "object" && value !== null && "pid" in value && typeof value.pid === "number" &&
      "host" in value && typeof value.host === "string" && "owner" in value && typeof value.owner === "string" &&
      "at" in value && typeof value.at === "number"
    ) {
      return { pid: value.pid, host: value.host, owner: value.owner, at: value.at }
    }
    return undefined
  } catch {
    return undefined
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return code(error) !== "ESRCH"
  }
}

const readText = async (path: string): Promise<string | undefined> => {
  try {
    return await Fs.readFile(path, "utf8")
  } catch (error) {
    if (code(error) === "ENOENT") return undefined
    throw error
  }
}

/** How far in the future a lock may be dated (clocks of one host agree; this covers a small step back). */
const skewMillis = 1_000

/**
 * Whether a lock dated `at` is older than `staleAfterMillis`. A lock dated in the future (the clock
 * was stepped back since it was taken) counts by how far ahead it is: one more than `staleAfter`
 * ahead is stale at once, and any other is stale within twice `staleAfter`, not only once the
 * clock has caught up.
 */
const expired = (at: number, now: number, staleAfterMillis: number): boolean =>
  at - now > skewMillis ? at - now > staleAfterMillis : now - at > staleAfterMillis

/**
 * Whether the lock at `path` (with contents `text`, modified at `mtimeMs`) may be broken: its holder
 * is a dead process on this host, or it is older than `staleAfter`. A lock file that cannot be
 * parsed (its holder died between create and write) counts from its mtime.
 */
const isStale = (text: string, mtimeMs: number, now: number, staleAfterMillis: number): boolean => {
  const holder = parseHolder(text)
  if (holder === undefined) return expired(mtimeMs, now, Math.min(staleAfterMillis, 2_000))
  if (holder.host === Os.hostname() && holder.pid !== process.pid && !alive(holder.pid)) return true
  return expired(holder.at, now, staleAfterMillis)
}

/**
 * Breaks a stale lock. Breaking happens under a second, short-lived lock (`<path>.break`) and
 * re-checks the contents, so two processes that both saw the same stale lock cannot remove a fresh
 * lock taken in between.
 */
const breakStale = async (path: string, seen: string, staleAfterMillis: number): Promise<void> => {
  const breaker = `${path}.break`
  let handle: Fs.FileHandle
  try {
    handle = await Fs.open(breaker, "wx", 0o600)
  } catch (error) {
    if (code(error) !== "EEXIST") throw error
    // A breaker that died mid-break leaves this behind; it is only ever held for a few milliseconds.
    const stat = await Fs.stat(breaker).catch(() => undefined)
    if (stat !== undefined && expired(stat.mtimeMs, Date.now(), 5_000)) await Fs.rm(breaker, { force: true })
    return
  }
  try {
    await handle.close()
    const text = await readText(path)
    if (text === seen) {
      const stat = await Fs.stat(path).catch(() => undefined)
      if (stat !== undefined && isStale(text, stat.mtimeMs, Date.now(), staleAfterMillis)) {
        await Fs.rm(path, { force: true })
      }
    }
  } finally {
    await Fs.rm(breaker, { force: true })
  }
}

/** One attempt: `Some(owner)` when the lock was taken; a stale lock is broken and tried again at once. */
const attempt = (path: string, owner: string, staleAfterMillis: number, tries = 3): Promise<Option.Option<string>> =>
  (async () => {
    let handle: Fs.FileHandle
    try {
      handle = await Fs.open(path, "wx", 0o600)
    } catch (error) {
      if (code(error) !== "EEXIST") throw error
      // Cheap check first: a lock touched in the last quarter second is live for sure.
      const young = await Fs.stat(path).then((stat) => {
        const age = Date.now() - stat.mtimeMs
        return age >= -skewMillis && age < 250
      }, () => false)
      if (young) return Option.none()
      const text = await readText(path)
      if (text === undefined) return tries > 0 ? attempt(path, owner, staleAfterMillis, tries - 1) : Option.none()
      const stat = await Fs.stat(path).catch(() => undefined)
      if (stat !== undefined && isStale(text, stat.mtimeMs, Date.now(), staleAfterMillis)) {
        await breakStale(path, text, staleAfterMillis)
        if (tries > 0) return attempt(path, owner, staleAfterMillis, tries - 1)
      }
      return Option.none()
    }
    try {
      try {
        const holder: Holder = { pid: process.pid, host: Os.hostname(), owner, at: Date.now() }
        await handle.writeFile(JSON.stringify(holder))
      } finally {
        await handle.close()
      }
    } catch (error) {
      // A full disk: the empty lock file would cost the next caller a wait; it is ours, remove it.
      await Fs.rm(path, { force: true })
      throw error
    }
    return Option.some(owner)
  })()

const describeHolder = (path: string): Promise<string> =>
  readText(path).then(
    (text) => {
      const holder = text === undefined ? undefined : parseHolder(text)
      return holder === undefined
        ? "unknown holder"
        : `held by pid ${holder.pid} on ${holder.host} since ${new Date(holder.at).toISOString()}`
    },
    () => "unknown holder"
  )

/**
 * Takes the exclusive lock file `path` (created with `wx`, holding pid, host and time), polling
 * until `timeout`; returns the owner id to pass to {@link release}.
 *
 * @internal
 */
export const acquire = (path: string, options: LockFileOptions): Effect.Effect<string, LockTimeout | LockIOError> =>
  Effect.gen(function*() {
    const owner = `${process.pid}-${(yield* Random.nextInt).toString(36)}-${Date.now().toString(36)}`
    const staleAfterMillis = Duration.toMillis(options.staleAfter)
    const pollMillis = Math.max(1, Duration.toMillis(options.poll))
    const deadline = Date.now() + Duration.toMillis(options.timeout)
    let attempts = 0
    while (true) {
      const taken = yield* Effect.uninterruptible(
        Effect.tryPromise({
          try: () => attempt(path, owner, staleAfterMillis),
          catch: (cause) => new LockIOError({ path, cause })
        })
      )
      if (Option.isSome(taken)) return taken.value
      if (Date.now() >= deadline) {
        const holder = yield* Effect.promise(() => describeHolder(path))
        return yield* Effect.fail(new LockTimeout({ path, holder }))
      }
      // Back off (up to 32 polls' worth, at most 50 ms) with jitter: many waiters polling at the
      // base rate would take the CPU the holder needs to finish.
      attempts++
      const ceiling = Math.min(pollMillis * 32, Math.max(pollMillis * 2, 50), pollMillis * 2 ** Math.min(attempts, 10))
      const wait = yield* Random.nextIntBetween(pollMillis, Math.max(pollMillis, ceiling) + 1)
      yield* Effect.sleep(Duration.millis(wait))
    }
  })

/**
 * Removes the lock file if it still names `owner` (a lock broken as stale and taken by someone
 * else is left alone).
 *
 * @internal
 */
export const release = (path: string, owner: string): Effect.Effect<void> =>
  Effect.promise(async () => {
    try {
      const text = await readText(path)
      const holder = text === undefined ? undefined : parseHolder(text)
      if (holder !== undefined && holder.owner === owner) await Fs.rm(path, { force: true })
    } catch {
      // Nothing to do: a lock we cannot remove expires.
    }
  })

/**
 * Runs `effect` holding the lock file `path`.
 *
 * @internal
 */
export const withLock = <A, E, R>(
  path: string,
  options: LockFileOptions,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | LockTimeout | LockIOError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(restore(acquire(path, options)), (owner) =>
      restore(effect).pipe(Effect.ensuring(release(path, owner))))
  )
