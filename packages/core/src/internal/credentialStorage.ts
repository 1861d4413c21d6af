/** @internal */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import * as Path from "node:path"
import { type CredentialStoreError, InvalidConfiguration } from "../AuthError.js"
import * as TokenLock from "../TokenLock.js"
import * as TokenStore from "../TokenStore.js"
import * as KeyringBinding from "./keyringBinding.js"
import * as StorageDecision from "./storageDecision.js"
import * as StoreAuto from "./storeAuto.js"
import * as StoreFile from "./storeFile.js"
import * as StoreKeyring from "./storeKeyring.js"
import type { Decision, Options, RedisDriver, Selection } from "../CredentialStorage.js"

const directoryOf = (options: Options): string => Path.resolve(options.directory ?? StoreFile.defaultDirectory())

const fileDescribe = (options: Options): string =>
  StoreFile.describe(Path.join(directoryOf(options), "credentials.json"))

const serviceOf = (options: Options): string => options.keyringService ?? StoreKeyring.defaultService

const targetOf = (options: Options): StorageDecision.Target => ({
  file: StorageDecision.fileOf(directoryOf(options)),
  service: serviceOf(options)
})

/** What `auto` decided for these options: this process's or the state directory's decision, else a probe now. */
const decide = (options: Options): Effect.Effect<Decision> =>
  StorageDecision.decide(
    targetOf(options),
    StoreKeyring.check({ service: serviceOf(options), timeout: options.keyringTimeout }),
    fileDescribe(options)
  )

const redisPackage = "@effect-auth/redis"

/** The default `RedisLoader`: a specifier the bundler leaves alone, resolved from this package. @internal */
export const importRedis = (): Promise<unknown> => import(/* @vite-ignore */ /* webpackIgnore: true */ redisPackage)

const isDriver = (u: unknown): u is RedisDriver =>
  Predicate.hasProperty(u, "describe") && Predicate.isFunction(u.describe) &&
  Predicate.hasProperty(u, "layer") && Predicate.isFunction(u.layer)

const isNotFound = (error: unknown): boolean =>
  Predicate.hasProperty(error, "code") && (error.code === "ERR_MODULE_NOT_FOUND" || error.code === "MODULE_NOT_FOUND") &&
  error instanceof Error && error.message.includes(redisPackage)

/** Loads `@effect-auth/redis`; a missing package is an `InvalidConfiguration` naming what to install. */
const redisDriver = (load: () => Promise<unknown>): Effect.Effect<RedisDriver, InvalidConfiguration> =>
  Effect.tryPromise({ try: load, catch: (error) => error }).pipe(
    Effect.flatMap((module) => {
      const driver = Predicate.hasProperty(module, "RedisStorage") && Predicate.hasProperty(module.RedisStorage, "driver")
        ? module.RedisStorage.driver
        : undefined
      return isDriver(driver)
        ? Effect.succeed(driver)
        : Effect.fail(new Error(`${redisPackage} has no RedisStorage.driver: is its version the one of @effect-auth/core?`))
    }),
    Effect.mapError((error) =>
      new InvalidConfiguration({
        detail: isNotFound(error)
          ? `Storage "redis" needs the package ${redisPackage}, which is not installed`
          : `Storage "redis" cannot load ${redisPackage}: ${error instanceof Error ? error.message : String(error)}`,
        hint: `Install it next to @effect-auth/core (npm install ${redisPackage}), or choose another storage.`
      })
    )
  )

const redisUrl = (options: Options): Effect.Effect<string, InvalidConfiguration> => {
  const url = options.redisUrl
  if (url === undefined || url === "") {
    return Effect.fail(
      new InvalidConfiguration({
        detail: "Storage \"redis\" needs the address of the Redis server",
        hint: "Set redis_url in the site's configuration or EFFECT_AUTH_REDIS_URL (redis://host:6379 or rediss:// for TLS)."
      })
    )
  }
  return Effect.succeed(url)
}

/** The driver and the checked URL of storage `redis`. */
const redis = (
  options: Options,
  load: () => Promise<unknown>
): Effect.Effect<{ readonly driver: RedisDriver; readonly url: string }, InvalidConfiguration> =>
  Effect.flatMap(redisUrl(options), (url) =>
    Effect.flatMap(redisDriver(load), (driver) =>
      /^rediss?:\/\/./.test(url)
        ? Effect.succeed({ driver, url })
        : Effect.fail(
          new InvalidConfiguration({
            detail: `The Redis URL ${driver.describe(url).replace(/^redis /, "")} is not a redis:// or rediss:// URL`,
            hint: "Set redis_url / EFFECT_AUTH_REDIS_URL to redis://host:6379 (or rediss:// for TLS)."
          })
        )))

/** @internal */
export const select = (
  options: Options,
  load: () => Promise<unknown>
): Effect.Effect<Selection, InvalidConfiguration> => {
  switch (options.kind) {
    case "memory":
      return Effect.succeed({ kind: "memory", describe: "memory" })
    case "file":
      return Effect.succeed({ kind: "file", describe: fileDescribe(options) })
    case "keyring":
      return KeyringBinding.resolve() === undefined
        ? Effect.fail(
          new InvalidConfiguration({
            detail: `Storage "keyring" needs the package ${KeyringBinding.packageName}, which is not installed`,
            hint: KeyringBinding.installHint
          })
        )
        : Effect.succeed({ kind: "keyring", describe: StoreKeyring.describe(options.keyringService ?? StoreKeyring.defaultService) })
    case "redis":
      return Effect.map(redis(options, load), ({ driver, url }) => ({ kind: "redis", describe: driver.describe(url) }))
    case "auto":
      return Effect.map(decide(options), (decision): Selection =>
        decision.kind === "keyring"
          ? { kind: "keyring", describe: StoreKeyring.describe(serviceOf(options)), decision }
          : { kind: "file", describe: fileDescribe(options), decision })
  }
}

const fileLock = (options: Options) => TokenLock.layerFile({ directory: directoryOf(options) })

const fileStore = (options: Options) =>
  Effect.map(StoreFile.make({ directory: directoryOf(options) }), (file) => TokenStore.make(file.store, file.describe))

const keyringStore = (options: Options) =>
  Effect.map(
    StoreKeyring.make({ service: options.keyringService, timeout: options.keyringTimeout }),
    (store) => TokenStore.make(store, StoreKeyring.describe(serviceOf(options)))
  )

/** Storage `auto`: the decided store, the file behind the keyring (`storeAuto.ts`). */
const autoStore = (options: Options) =>
  Effect.gen(function*() {
    yield* decide(options)
    const file = yield* fileStore(options)
    const keyring = yield* keyringStore(options)
    return StoreAuto.make({ target: targetOf(options), keyring, file })
  })

const layerFor = (
  selection: Selection,
  options: Options,
  load: () => Promise<unknown>
): Layer.Layer<TokenStore.TokenStore | TokenLock.TokenLock, CredentialStoreError | InvalidConfiguration> => {
  switch (selection.kind) {
    case "memory":
      return Layer.merge(TokenStore.layerMemory, TokenLock.layerMemory)
    case "file":
      return Layer.merge(Layer.effect(TokenStore.TokenStore, fileStore(options)), fileLock(options))
    case "keyring":
      return Layer.merge(Layer.scoped(TokenStore.TokenStore, keyringStore(options)), fileLock(options))
    case "redis":
      return Layer.unwrapEffect(Effect.map(redis(options, load), ({ driver, url }) =>
        // One connection serves the store and the locks.
        driver.layer({ url, prefix: options.redisPrefix ?? "effect-auth:", describe: selection.describe })))
  }
}

/** @internal */
export const layer = (
  options: Options,
  load: () => Promise<unknown>
): Layer.Layer<TokenStore.TokenStore | TokenLock.TokenLock, CredentialStoreError | InvalidConfiguration> =>
  options.kind === "auto"
    ? Layer.merge(Layer.scoped(TokenStore.TokenStore, autoStore(options)), fileLock(options))
    : Layer.unwrapEffect(Effect.map(select(options, load), (selection) => layerFor(selection, options, load)))
