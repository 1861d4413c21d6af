import * as RedisLock from "@effect-auth/redis/RedisLock"
import * as RedisStore from "@effect-auth/redis/RedisStore"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as AuthError from "../src/AuthError.js"
import * as AuthStrategy from "../src/AuthStrategy.js"
import * as SecureFileStore from "../src/SecureFileStore.js"
import * as RefreshPolicy from "../src/RefreshPolicy.js"
import * as Testing from "../src/Testing.js"
import type * as Token from "../src/Token.js"
import * as TokenLock from "../src/TokenLock.js"
import * as TokenSource from "../src/TokenSource.js"
import * as TokenStore from "../src/TokenStore.js"
import * as Programs from "./support/programs.js"
import * as RedisServer from "../../redis/test/support/redisServer.js"

const value = (token: Token.Token) => Redacted.value(token.accessToken)
const refreshValue = (token: Token.Token) => Option.getOrNull(Option.map(token.refreshToken, Redacted.value))

// a 20 % margin share, which these timings were written for (the default is 5 %)
const policy = RefreshPolicy.make({ jitter: Duration.zero, marginRatio: 0.2 })
const key = TokenStore.key("emulator", "demo@example.com")

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-tokens-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

interface Backend {
  readonly raw: KeyValueStore.KeyValueStore
  readonly store: TokenStore.TokenStore.Service
  readonly context: Context.Context<TokenStore.TokenStore | TokenLock.TokenLock>
}

/** Each backend with the raw `KeyValueStore` under its `TokenStore`, to plant corrupt entries. */
const backends: ReadonlyArray<{ readonly name: string; readonly make: Effect.Effect<Backend, never, Scope.Scope> }> = [
  {
    name: "memory",
    make: Effect.gen(function*() {
      const raw = Context.get(yield* Layer.build(KeyValueStore.layerMemory), KeyValueStore.KeyValueStore)
      const store = TokenStore.make(raw, "memory")
      const lock = yield* TokenLock.makeMemory
      return { raw, store, context: Context.make(TokenStore.TokenStore, store).pipe(Context.add(TokenLock.TokenLock, lock)) }
    })
  },
  {
    name: "file",
    make: Effect.gen(function*() {
      const directory = yield* tempDir
      const file = yield* Effect.orDie(SecureFileStore.make({ directory }))
      const store = TokenStore.make(file.store, file.describe)
      const lock = yield* Effect.orDie(TokenLock.makeFile({ directory }))
      return {
        raw: file.store,
        store,
        context: Context.make(TokenStore.TokenStore, store).pipe(Context.add(TokenLock.TokenLock, lock))
      }
    })
  },
  // A real redis-server per test (started on a free port, stopped with the test's scope).
  ...(Programs.shouldRun(RedisServer.program)
    ? [{
      name: "redis",
      make: Effect.gen(function*() {
        const redis = yield* RedisServer.start
        const prefix = "persisted:"
        const raw = yield* Effect.orDie(Effect.map(
          Layer.build(RedisStore.layer({ url: redis.url, prefix })),
          (built) => Context.get(built, KeyValueStore.KeyValueStore)
        ))
        const store = TokenStore.make(raw, RedisStore.describe(redis.url))
        const lock = Context.get(
          yield* Effect.orDie(Layer.build(RedisLock.layer({ url: redis.url, prefix }))),
          TokenLock.TokenLock
        )
        return { raw, store, context: Context.make(TokenStore.TokenStore, store).pipe(Context.add(TokenLock.TokenLock, lock)) }
      })
    }]
    : [])
]

/** A `TokenSource` from `strategy` made persistent, over `context`'s store and lock. */
const source = (
  strategy: AuthStrategy.AuthStrategy,
  context: Context.Context<TokenStore.TokenStore | TokenLock.TokenLock>,
  mode?: TokenStore.CacheMode
) =>
  Effect.flatMap(
    Layer.build(TokenStore.layerPersisted(strategy, { key, mode, policy }).pipe(Layer.provide(Layer.succeedContext(context)))),
    (built) => Effect.succeed(Context.get(built, TokenSource.TokenSource))
  )

for (const backend of backends) {
  describe(`TokenStore.persisted (${backend.name})`, () => {
    const setup = backend.make

    it.scoped("a fresh stored token is served with no call to the strategy", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        yield* store.save(key, Testing.makeToken({ value: "stored", lifetime: "1 hour", refreshToken: "stored-refresh" }))
        const script = yield* Testing.scriptedStrategy()
        const tokens = yield* source(script.strategy, context)
        assert.strictEqual(value(yield* tokens.get), "stored")
        assert.strictEqual(value(yield* tokens.get), "stored")
        assert.deepStrictEqual(yield* script.calls, { acquire: 0, refresh: 0, revoke: 0 })
      }))

    it.scoped("a stale stored token is refreshed, not re-acquired, and the rotated one is stored", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        // an hour-long token that expires in 5 s: inside the 10 s expiry skew, so due for refresh
        yield* store.save(
          key,
          Testing.makeToken({ value: "stale", issuedAt: -3_595_000, lifetime: "1 hour", refreshToken: "stale-refresh" })
        )
        const script = yield* Testing.scriptedStrategy()
        const tokens = yield* source(script.strategy, context)
        const got = yield* tokens.get
        assert.strictEqual(value(got), "token-1")
        assert.deepStrictEqual(yield* script.calls, { acquire: 0, refresh: 1, revoke: 0 })
        const stored = Option.getOrThrow(yield* store.load(key))
        assert.strictEqual(value(stored), "token-1")
        assert.strictEqual(refreshValue(stored), "refresh-1")
      }))

    it.scoped("a stale stored token without a refresh capability leads to a login", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        yield* store.save(key, Testing.makeToken({ value: "stale", issuedAt: -3_595_000, lifetime: "1 hour" }))
        const script = yield* Testing.scriptedStrategy({ refresh: false })
        const tokens = yield* source(script.strategy, context)
        assert.strictEqual(value(yield* tokens.get), "token-1")
        assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 0, revoke: 0 })
      }))

    it.scoped("nothing stored: one login, stored, and served to the next process with no call", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        const first = yield* Testing.scriptedStrategy()
        assert.strictEqual(value(yield* (yield* source(first.strategy, context)).get), "token-1")
        assert.strictEqual(value(Option.getOrThrow(yield* store.load(key))), "token-1")
        const second = yield* Testing.scriptedStrategy()
        assert.strictEqual(value(yield* (yield* source(second.strategy, context)).get), "token-1")
        assert.deepStrictEqual(yield* second.calls, { acquire: 0, refresh: 0, revoke: 0 })
      }))

    it.scoped("WriteOnly logs in afresh even with a fresh stored token, then saves", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        yield* store.save(key, Testing.makeToken({ value: "stored", lifetime: "1 hour" }))
        const script = yield* Testing.scriptedStrategy()
        const tokens = yield* source(script.strategy, context, "WriteOnly")
        assert.strictEqual(value(yield* tokens.get), "token-1")
        assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 0, revoke: 0 })
        assert.strictEqual(value(Option.getOrThrow(yield* store.load(key))), "token-1")
      }))

    it.scoped("Disabled neither reads nor writes the store", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        yield* store.save(key, Testing.makeToken({ value: "stored", lifetime: "1 hour" }))
        yield* store.save("other", Testing.makeToken({ value: "other", lifetime: "1 hour" }))
        const script = yield* Testing.scriptedStrategy()
        const tokens = yield* source(script.strategy, context, "Disabled")
        assert.strictEqual(value(yield* tokens.get), "token-1")
        assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 0, revoke: 0 })
        assert.strictEqual(value(Option.getOrThrow(yield* store.load(key))), "stored")
      }))

    it.scoped("every new token is in the store before any caller gets it, refreshed ones included", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        const script = yield* Testing.scriptedStrategy({ lifetime: "10 minutes" })
        const seen: Array<string> = []
        // The store is read from inside the strategy: at that moment the token being issued is not
        // stored yet; after `get` returns it must be.
        const observed = AuthStrategy.make({
          name: "observed",
          acquire: script.strategy.acquire,
          refresh: (token) =>
            Effect.flatMap(Option.getOrThrow(script.strategy.refresh)(token), (next) =>
              Effect.as(
                Effect.tap(store.load(key), (stored) =>
                  Effect.sync(() => seen.push(Option.match(stored, { onNone: () => "none", onSome: value })))),
                next
              ))
        })
        const tokens = yield* source(observed, context)
        const first = yield* tokens.get
        assert.strictEqual(value(Option.getOrThrow(yield* store.load(key))), value(first))
        const refreshed = yield* tokens.refresh
        assert.deepStrictEqual(seen, ["token-1"])
        assert.strictEqual(value(refreshed), "token-2")
        const stored = Option.getOrThrow(yield* store.load(key))
        assert.strictEqual(value(stored), "token-2")
        assert.strictEqual(refreshValue(stored), "refresh-2")
      }))

    it.scoped("an undecodable entry fails an interactive strategy naming store and key, is left in place, and logout removes it", () =>
      Effect.gen(function*() {
        const { context, raw, store } = yield* setup
        yield* store.save(key, Testing.makeToken({ value: "secret-value", lifetime: "1 hour" }))
        // Truncate the stored JSON through the raw KeyValueStore the TokenStore sits on.
        const text = Option.getOrThrow(yield* raw.get(key))
        yield* raw.set(key, text.slice(0, Math.floor(text.length / 2)))
        // a strategy that needs a person: the person decides
        const script = yield* Testing.scriptedStrategy({ interactive: true })
        const tokens = yield* source(script.strategy, context)
        const error = yield* Effect.flip(tokens.get)
        assert.strictEqual(error._tag, "CredentialStoreError")
        assert.strictEqual(error._tag === "CredentialStoreError" && error.reason, "Corrupt")
        assert.include(error.message, store.describe)
        assert.include(error.message, `"${key}"`)
        assert.notInclude(error.message, "secret-value")
        // not silently replaced by a new login, and still there for inspection
        assert.deepStrictEqual(yield* script.calls, { acquire: 0, refresh: 0, revoke: 0 })
        assert.isTrue(yield* raw.has(key))
        yield* store.remove(key)
        assert.isFalse(yield* raw.has(key))
        assert.strictEqual(value(yield* tokens.get), "token-1")
      }))

    it.scoped("an unreadable entry does not block a strategy that logs in without a person: one warning, a login, overwritten", () =>
      Effect.gen(function*() {
        const { context, raw, store } = yield* setup
        for (const canRefresh of [true, false]) {
          for (const garbage of ["{\"accessToken\":", "not json at all", "x".repeat(1024 * 1024 + 1)]) {
            yield* raw.set(key, garbage)
            const script = yield* Testing.scriptedStrategy(canRefresh ? {} : { refresh: false })
            const warnings: Array<string> = []
            const logger = Logger.make(({ logLevel, message }) => {
              if (logLevel._tag === "Warning") warnings.push(String(message))
            })
            const tokens = yield* source(script.strategy, context).pipe(
              Effect.provide(Logger.replace(Logger.defaultLogger, logger))
            )
            const got = yield* tokens.get.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
            assert.strictEqual(value(got), "token-1")
            assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 0, revoke: 0 })
            assert.strictEqual(value(Option.getOrThrow(yield* store.load(key))), "token-1")
            assert.strictEqual(warnings.length, 1, warnings.join("; "))
            assert.include(warnings[0], "cannot be read")
            assert.notInclude(warnings[0], "accessToken")
          }
        }
      }))

    it.scoped("revoke revokes upstream and removes the entry", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        const script = yield* Testing.scriptedStrategy()
        const strategy = yield* TokenStore.persisted(script.strategy, { key, policy }).pipe(Effect.provide(context))
        const token = yield* strategy.acquire
        assert.isTrue(Option.isSome(yield* store.load(key)))
        yield* Option.getOrThrow(strategy.revoke)(token)
        assert.deepStrictEqual((yield* script.revoked).map(value), ["token-1"])
        assert.isTrue(Option.isNone(yield* store.load(key)))
      }))

    it.scoped("refresh serves a newer token another process stored instead of spending a refresh token again", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        const script = yield* Testing.scriptedStrategy()
        const strategy = yield* TokenStore.persisted(script.strategy, { key, policy }).pipe(Effect.provide(context))
        const mine = yield* strategy.acquire
        const theirs = Testing.makeToken({ value: "theirs", lifetime: "1 hour", refreshToken: "their-refresh" })
        yield* store.save(key, theirs)
        const refreshed = yield* Option.getOrThrow(strategy.refresh)(mine)
        assert.strictEqual(value(refreshed), "theirs")
        assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 0, revoke: 0 })
        // the stored token is the one held: it is refreshed
        const again = yield* Option.getOrThrow(strategy.refresh)(refreshed)
        assert.strictEqual(value(again), "token-2")
        assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 1, revoke: 0 })
      }))

    it.scoped("refresh serves a token another process extended (same value, later expiry) without refreshing it again", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        const script = yield* Testing.scriptedStrategy()
        const strategy = yield* TokenStore.persisted(script.strategy, { key, policy }).pipe(Effect.provide(context))
        const mine = yield* strategy.acquire
        // Anaplan's /token/refresh: the same token, a later expiry
        const extended = Testing.makeToken({ value: value(mine), issuedAt: 60_000, lifetime: "1 hour" })
        yield* store.save(key, extended)
        const refreshed = yield* Option.getOrThrow(strategy.refresh)(mine)
        assert.strictEqual(refreshed.expiresAtMillis, extended.expiresAtMillis)
        assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 0, revoke: 0 })
      }))

    it.scoped("a refresh rejected because another process renewed the token meanwhile takes that token, with no login", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        const script = yield* Testing.scriptedStrategy()
        const theirs = Testing.makeToken({ value: "theirs", lifetime: "1 hour", refreshToken: "their-refresh" })
        // the other process's fenced write lands while this one's refresh is in flight, and the
        // service refuses the refresh token both spent
        const racing = AuthStrategy.make({
          name: "racing",
          acquire: script.strategy.acquire,
          refresh: () =>
            Effect.zipRight(
              Effect.orDie(store.save(key, theirs)),
              Effect.fail(new AuthError.InvalidCredentials({ detail: "refresh token already used" }))
            )
        })
        const strategy = yield* TokenStore.persisted(racing, { key, policy }).pipe(Effect.provide(context))
        const mine = yield* strategy.acquire
        const next = yield* Option.getOrThrow(strategy.refresh)(mine)
        assert.strictEqual(value(next), "theirs")
        assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 0, revoke: 0 }, "no second login")
      }))

    it.scoped("a stored token the service rejects on refresh leads to a new login (non-interactive) under the lock", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        const script = yield* Testing.scriptedStrategy({
          refresh: [new AuthError.InvalidCredentials({ detail: "refresh token already used" })]
        })
        const strategy = yield* TokenStore.persisted(script.strategy, { key, policy }).pipe(Effect.provide(context))
        const first = yield* strategy.acquire
        const next = yield* Option.getOrThrow(strategy.refresh)(first)
        assert.strictEqual(value(next), "token-2")
        assert.deepStrictEqual(yield* script.calls, { acquire: 2, refresh: 1, revoke: 0 })
        assert.strictEqual(value(Option.getOrThrow(yield* store.load(key))), "token-2")
        // an interactive strategy does not open a browser from a refresh: the rejection is reported
        const interactive = yield* Testing.scriptedStrategy({
          interactive: true,
          refresh: [new AuthError.InvalidCredentials({ detail: "refresh token already used" })]
        })
        const persistedInteractive = yield* TokenStore.persisted(interactive.strategy, { key: "other", policy }).pipe(
          Effect.provide(context)
        )
        const held = yield* persistedInteractive.acquire
        const error = yield* Effect.flip(Option.getOrThrow(persistedInteractive.refresh)(held))
        assert.strictEqual(error._tag, "InvalidCredentials")
        assert.deepStrictEqual(yield* interactive.calls, { acquire: 1, refresh: 1, revoke: 0 })
      }))

    it.scoped("a stored token rejected with a 401 is not served again: refreshed, or a new login without refresh", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        for (const canRefresh of [true, false]) {
          yield* store.save(key, Testing.makeToken({ value: "revoked-upstream", lifetime: "1 hour", refreshToken: "r" }))
          const script = yield* Testing.scriptedStrategy(canRefresh ? {} : { refresh: false })
          const tokens = yield* source(script.strategy, context)
          const rejected = yield* tokens.get
          assert.strictEqual(value(rejected), "revoked-upstream")
          // what AuthHttpClient does on a 401
          yield* tokens.invalidate(rejected)
          const next = yield* tokens.get
          assert.strictEqual(value(next), "token-1")
          assert.deepStrictEqual(
            yield* script.calls,
            canRefresh ? { acquire: 0, refresh: 1, revoke: 0 } : { acquire: 1, refresh: 0, revoke: 0 }
          )
          assert.strictEqual(value(Option.getOrThrow(yield* store.load(key))), "token-1")
        }
      }))

    it.scoped("background refresh ahead of expiry goes through the store", () =>
      Effect.gen(function*() {
        const { context, store } = yield* setup
        const script = yield* Testing.scriptedStrategy({ lifetime: "10 minutes" })
        const tokens = yield* source(script.strategy, context)
        assert.strictEqual(value(yield* tokens.get), "token-1")
        // 10 min lifetime: margin min(5 min, 20 %) = 2 min, so the refresh is due at 8 min
        yield* TestClock.adjust(Duration.minutes(8))
        // the refresh runs in the background, with real file I/O: wait (in real time) for it
        // (until the store holds the new token and the source has taken it: the save comes first)
        const renewed = Effect.all([store.load(key), tokens.current]).pipe(
          Effect.map((both) => both.every((token) => Option.exists(token, (t) => value(t) === "token-2")))
        )
        for (let i = 0; i < 500 && !(yield* renewed); i++) {
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
        }
        assert.deepStrictEqual(yield* script.calls, { acquire: 1, refresh: 1, revoke: 0 })
        assert.strictEqual(value(Option.getOrThrow(yield* store.load(key))), "token-2")
        assert.strictEqual(value(yield* tokens.get), "token-2")
      }))
  })
}

describe("TokenStore", () => {
  it.scoped("a save that fails fails the call: no token is handed out that was not stored", () =>
    Effect.gen(function*() {
      const broken: TokenStore.TokenStore.Service = {
        describe: "broken store",
        load: () => Effect.succeedNone,
        save: (k) => Effect.fail(new AuthError.CredentialStoreError({ store: "broken store", key: k, detail: "disk full" })),
        remove: () => Effect.void
      }
      const lock = yield* TokenLock.makeMemory
      const script = yield* Testing.scriptedStrategy()
      const context = Context.make(TokenStore.TokenStore, broken).pipe(Context.add(TokenLock.TokenLock, lock))
      const tokens = yield* source(script.strategy, context)
      const error = yield* Effect.flip(tokens.get)
      assert.strictEqual(error._tag, "CredentialStoreError")
      assert.include(error.message, "disk full")
      assert.isTrue(Option.isNone(yield* tokens.current))
    }))

  it("key joins site and principal", () => {
    assert.strictEqual(TokenStore.key("site"), "site")
    assert.strictEqual(TokenStore.key("site", ""), "site")
    assert.strictEqual(TokenStore.key("site", "me@example.com"), "site/me@example.com")
  })
})
