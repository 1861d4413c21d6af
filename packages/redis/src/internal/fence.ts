/**
 * What a Redis lock holder tells the Redis store it writes through: inside `RedisLock`'s
 * `withLock`, the fiber carries a {@link Fence} per lock it holds, and the store's writes of that
 * key are fenced by it (see `storeRedis.ts`).
 *
 * @internal
 */
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"

/** @internal */
export interface Fence {
  /** The Redis server the lock lives on (`host:port/db`): a store on another server cannot be fenced atomically. */
  readonly server: string
  /** The store key the lock guards (the `TokenLock` key). */
  readonly key: string
  readonly lockKey: string
  readonly owner: string
  /** What the holder read of each store key under the lock (`null`: nothing stored): the fencing token of its write. */
  readonly read: Map<string, string | null>
  /** Set when the keep-alive found the lock gone. */
  lost: boolean
}

/** @internal */
export const currentFences: FiberRef.FiberRef<ReadonlyArray<Fence>> = globalValue(
  Symbol.for("@effect-auth/redis/currentFences"),
  () => FiberRef.unsafeMake<ReadonlyArray<Fence>>([])
)

/** `host:port/db` of a `redis://` URL, to tell whether a lock and a store share a server. @internal */
export const serverOf = (url: string): string => {
  try {
    const parsed = new URL(url)
    const db = parsed.pathname.replace(/^\//, "") || "0"
    return `${parsed.hostname}:${parsed.port || "6379"}/${db}`
  } catch {
    return url
  }
}

/** The fence the current fiber holds for `key` on `server`, if any. @internal */
export const find = (fences: ReadonlyArray<Fence>, server: string, key: string): Fence | undefined => {
  for (let i = fences.length - 1; i >= 0; i--) {
    if (fences[i].server === server && fences[i].key === key) return fences[i]
  }
  return undefined
}
