/**
 * @since 0.1.0
 */
export * as RedisLock from "./RedisLock.js"
/**
 * @since 0.1.0
 */
export * as RedisStorage from "./RedisStorage.js"
/**
 * @since 0.1.0
 */
export * as RedisStore from "./RedisStore.js"
