/**
 * Cross-process single flight: before a process logs in or refreshes a shared token it takes the
 * lock for the token's key, so one process talks to the service while the others wait and then
 * read the new token from the store.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { CredentialStoreError } from "./AuthError.js"
import * as LockFile from "./internal/lockFile.js"
import * as StoreFile from "./internal/storeFile.js"

/**
 * A lock per key. A lock whose holder died expires, and another process takes over.
 *
 * @since 0.1.0
 * @category tags
 */
export class TokenLock extends Context.Tag("@effect-auth/core/TokenLock")<TokenLock, TokenLock.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace TokenLock {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** Where the locks live, for messages. */
    readonly describe: string
    /**
     * Runs `effect` holding the lock for `key`. Waiting is bounded: past the timeout it fails with
     * a `CredentialStoreError`.
     */
    readonly withLock: <A, E, R>(
      key: string,
      effect: Effect.Effect<A, E, R>
    ) => Effect.Effect<A, E | CredentialStoreError, R>
  }
}

/**
 * A lock within this process only (one semaphore per key): enough for a single process, and for
 * the memory store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<TokenLock.Service> = Effect.sync(() => {
  const locks = new Map<string, Effect.Semaphore>()
  const semaphore = (key: string) => {
    let found = locks.get(key)
    if (found === undefined) {
      found = Effect.unsafeMakeSemaphore(1)
      locks.set(key, found)
    }
    return found
  }
  return {
    describe: "memory",
    withLock: (key, effect) => semaphore(key).withPermits(1)(effect)
  }
})

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<TokenLock> = Layer.effect(TokenLock, makeMemory)

/**
 * Options for {@link layerFile}.
 *
 * @since 0.1.0
 * @category models
 */
export interface FileOptions {
  /** Where the lock files go; default the secure file store's directory. */
  readonly directory?: string | undefined
  /** A lock held longer than this is broken (a dead holder on this host is detected at once). Default 60 s. */
  readonly staleAfter?: Duration.DurationInput | undefined
  /** How long to wait for the lock. Default 60 s. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Polling interval (randomised up to twice this). Default 20 ms. */
  readonly poll?: Duration.DurationInput | undefined
}

const fileName = (key: string) => `${key.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}.lock`

/**
 * Lock files, one per key (`<directory>/<key>.lock`, created with `wx`, holding pid, host and
 * time). A lock whose holder process died on this host, or that is older than `staleAfter`, is
 * broken; waiting polls until `timeout`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFile = (options: FileOptions = {}): Effect.Effect<TokenLock.Service, CredentialStoreError> =>
  Effect.gen(function*() {
    const directory = Path.resolve(options.directory ?? StoreFile.defaultDirectory())
    const describe = `lock files in ${directory}`
    yield* Effect.tryPromise({
      try: () => Fs.mkdir(directory, { recursive: true, mode: 0o700 }),
      catch: (error) =>
        new CredentialStoreError({
          store: describe,
          detail: `Cannot create the lock directory: ${error instanceof Error ? error.message : String(error)}`
        })
    })
    const lockOptions: LockFile.LockFileOptions = {
      staleAfter: Duration.decode(options.staleAfter ?? Duration.seconds(60)),
      timeout: Duration.decode(options.timeout ?? Duration.seconds(60)),
      poll: Duration.decode(options.poll ?? Duration.millis(20))
    }
    return {
      describe,
      withLock: <A, E, R>(key: string, effect: Effect.Effect<A, E, R>) =>
        LockFile.withLock(Path.join(directory, fileName(key)), lockOptions, effect).pipe(
          Effect.catchIf(
            (error): error is LockFile.LockTimeout | LockFile.LockIOError =>
              error instanceof LockFile.LockTimeout || error instanceof LockFile.LockIOError,
            (error) =>
              Effect.fail(
                new CredentialStoreError({
                  store: describe,
                  key,
                  detail: error.message
                })
              )
          )
        )
    }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (options: FileOptions = {}): Layer.Layer<TokenLock, CredentialStoreError> =>
  Layer.effect(TokenLock, makeFile(options))
