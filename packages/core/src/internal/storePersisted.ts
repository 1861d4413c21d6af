/** @internal */
import type * as KeyValueStore from "@effect/platform/KeyValueStore"
import type * as PlatformError from "@effect/platform/Error"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { type AuthError, CredentialStoreError } from "../AuthError.js"
import type { AuthStrategy } from "../AuthStrategy.js"
import * as RefreshPolicy from "../RefreshPolicy.js"
import { Token } from "../Token.js"
import type { TokenLock } from "../TokenLock.js"
import type { PersistedOptions, TokenStore } from "../TokenStore.js"

const TokenJson = Schema.parseJson(Token)
const decode = Schema.decode(TokenJson)
const encode = Schema.encode(TokenJson)

/** @internal */
export const fromPlatformError = (describe: string, key: string | undefined) =>
(error: PlatformError.PlatformError): CredentialStoreError => {
  const cause: unknown = error.cause
  if (cause instanceof CredentialStoreError) {
    return new CredentialStoreError({
      store: cause.store,
      key,
      detail: cause.detail,
      site: cause.site,
      hint: cause.hint,
      reason: cause.reason
    })
  }
  const detail = error._tag === "SystemError"
    ? `${error.method} failed (${error.reason})${error.description === undefined ? "" : `: ${error.description}`}`
    : `${error.method} failed: ${error.description ?? "bad argument"}`
  const unavailable = error._tag === "SystemError" && error.reason === "TimedOut"
  return new CredentialStoreError({ store: describe, key, detail, reason: unavailable ? "Unavailable" : undefined })
}

/** @internal */
export const maxEntryBytes = 1024 * 1024

const corrupt = (describe: string, key: string, detail: string) =>
  new CredentialStoreError({
    store: describe,
    key,
    detail,
    reason: "Corrupt",
    hint: "Log out to remove it (for the CLI: `effect-auth logout`), then log in again."
  })

/** @internal */
export const makeStore = (store: KeyValueStore.KeyValueStore, describe: string): TokenStore.Service => ({
  describe,
  load: (key) =>
    store.get(key).pipe(
      Effect.mapError(fromPlatformError(describe, key)),
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeedNone,
        onSome: (text) =>
          text.length > maxEntryBytes
            ? Effect.fail(corrupt(describe, key, `The stored token is larger than ${maxEntryBytes} bytes; it was left in place`))
            : decode(text).pipe(
              Effect.map(Option.some),
              // The parse error is not shown: it would quote the stored secrets.
              Effect.mapError(() =>
                corrupt(describe, key, "The stored token is corrupt or truncated and cannot be read; it was left in place")
              )
            )
      })),
      Effect.withSpan("TokenStore.load", { attributes: { "auth.store": describe, "auth.key": key } })
    ),
  save: (key, token) =>
    encode(token).pipe(
      Effect.mapError(() => new CredentialStoreError({ store: describe, key, detail: "The token cannot be encoded" })),
      Effect.flatMap((text) => Effect.mapError(store.set(key, text), fromPlatformError(describe, key))),
      Effect.withSpan("TokenStore.save", { attributes: { "auth.store": describe, "auth.key": key } })
    ),
  remove: (key) =>
    store.remove(key).pipe(
      Effect.mapError(fromPlatformError(describe, key)),
      Effect.withSpan("TokenStore.remove", { attributes: { "auth.store": describe, "auth.key": key } })
    )
})

const sameToken = (a: Token, b: Token): boolean =>
  a === b || Redacted.value(a.accessToken) === Redacted.value(b.accessToken)

/**
 * Whether another process renewed `token` since it was handed out: a new value, or the same value
 * with a later expiry (a renewal that extends the token in use, as Anaplan's `/token/refresh` does).
 */
const renewedSince = (latest: Token, token: Token): boolean =>
  !sameToken(latest, token) || latest.expiresAtMillis > token.expiresAtMillis

/**
 * `strategy` made persistent on `store` under `lock` (the public module takes both from the
 * context, so this module imports no value from it).
 *
 * @internal
 */
export const persisted = (
  strategy: AuthStrategy,
  options: PersistedOptions,
  store: TokenStore.Service,
  lock: TokenLock.Service
): AuthStrategy => {
    const mode = options.mode ?? "ReadWrite"
    if (mode === "Disabled") return strategy
    const key = options.key
    const policy = options.policy ?? RefreshPolicy.defaults
    const annotate = Effect.annotateLogs({ strategy: strategy.name, key, store: store.describe })

    /** Fresh enough to hand out: not yet due for refresh under the policy. */
    const usable = (token: Token) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        token.isFresh(now, Duration.sum(RefreshPolicy.marginFor(policy, token), RefreshPolicy.skewFor(policy, token))))

    const saved = (token: Token) => Effect.as(store.save(key, token), token)

    /**
     * The stored token. An entry that cannot be read (garbage, truncated) does not block a strategy
     * that logs in without a person: it counts as nothing stored, with a warning when `warn` (the
     * read under the lock, whose login then overwrites it); an interactive strategy fails with it,
     * so a person decides.
     */
    const load = (warn: boolean): Effect.Effect<Option.Option<Token>, CredentialStoreError> =>
      strategy.interactive ? store.load(key) : store.load(key).pipe(
        Effect.catchIf(
          (error) => error.reason === "Corrupt",
          (error) =>
            warn
              ? Effect.as(
                Effect.logWarning("the stored token cannot be read; logging in again to replace it").pipe(
                  Effect.annotateLogs("error", error.detail),
                  annotate
                ),
                Option.none()
              )
              : Effect.succeedNone
        )
      )
    const isLockLost = (error: AuthError) => error._tag === "CredentialStoreError" && error.reason === "LockLost"
    /**
     * Runs `effect` holding the lock. When the lock turns out lost (it expired while its backend
     * stalled: found before spending a refresh token, or by a fenced write), the whole step runs
     * again under a new lock: it reads the store again, where another process may have stored a
     * newer token.
     */
    const locked = <A>(effect: Effect.Effect<A, AuthError>) =>
      lock.withLock(key, effect).pipe(
        Effect.tapError((error) =>
          isLockLost(error)
            ? Effect.logWarning("the lock was lost; taking it again and reading the store").pipe(annotate)
            : Effect.void
        ),
        Effect.retry({ times: 3, while: isLockLost })
      )

    /** Spends a refresh token only while the lock is still held (`TokenLock.guard`). */
    const guarded = (spend: Effect.Effect<Token, AuthError>): Effect.Effect<Token, AuthError> =>
      lock.guard === undefined ? spend : Effect.flatMap(lock.guard(key), (held) =>
        held ? spend : Effect.fail(
          new CredentialStoreError({
            store: lock.describe,
            key,
            detail: "The lock expired before the refresh token was spent (its backend stalled longer than its ttl)",
            reason: "LockLost"
          })
        ))

    const acquireAndSave = Effect.flatMap(strategy.acquire, saved)

    const refreshStored = (stored: Token): Effect.Effect<Token, AuthError> =>
      Option.match(strategy.refresh, {
        onNone: () => acquireAndSave,
        onSome: (refresh) =>
          guarded(refresh(stored)).pipe(
            Effect.flatMap(saved),
            Effect.catchIf(
              (error) => error._tag === "InvalidCredentials" || error._tag === "TokenExpired",
              (error) =>
                Effect.zipRight(
                  Effect.logDebug("the stored token could not be refreshed; logging in").pipe(
                    Effect.annotateLogs("error", error.message),
                    annotate
                  ),
                  acquireAndSave
                )
            )
          )
      })

    /** Serves `stored` if usable, else renews it (or logs in when nothing is stored). */
    const fromStored = (stored: Option.Option<Token>): Effect.Effect<Token, AuthError> =>
      Option.match(stored, {
        onNone: () => acquireAndSave,
        onSome: (token) =>
          Effect.flatMap(usable(token), (fresh) => fresh ? Effect.succeed(token) : refreshStored(token))
      })

    const acquire: Effect.Effect<Token, AuthError> = mode === "WriteOnly"
      ? locked(acquireAndSave)
      : Effect.flatMap(load(false), (stored) =>
        Effect.flatMap(
          Option.match(stored, { onNone: () => Effect.succeed(false), onSome: usable }),
          (fresh) =>
            fresh && Option.isSome(stored)
              ? Effect.succeed(stored.value)
              : locked(Effect.flatMap(load(true), fromStored))
        ))

    /** `stored` when another process renewed `token` since (a fresh token, new or extended), else none. */
    const renewedElsewhere = (stored: Option.Option<Token>, token: Token): Effect.Effect<Option.Option<Token>> =>
      Option.match(Option.filter(stored, (latest) => renewedSince(latest, token)), {
        onNone: () => Effect.succeedNone,
        onSome: (latest) => Effect.map(usable(latest), (fresh) => fresh ? Option.some(latest) : Option.none())
      })

    /**
     * Refreshes the stored token. If the service rejects it, a token another process stored
     * meanwhile is taken; else (a holder killed after the service rotated it but before the store
     * was written) a non-interactive strategy logs in again here,
     * under the lock: the engine's own fallback would call `acquire`, which serves the stored,
     * rejected token again. An interactive strategy fails, and the engine reports `TokenExpired`.
     */
    const refreshLatest = (
      refresh: (token: Token) => Effect.Effect<Token, AuthError>,
      latest: Token
    ): Effect.Effect<Token, AuthError> =>
      guarded(refresh(latest)).pipe(
        Effect.flatMap(saved),
        Effect.catchIf(
          (error) => error._tag === "InvalidCredentials" || error._tag === "TokenExpired",
          (error) =>
            // A process whose lock expired while its store stalled may have renewed the token
            // meanwhile (its write is fenced, not lost): take that before logging in.
            Effect.orElseSucceed(load(false), () => Option.none<Token>()).pipe(
              Effect.flatMap((stored) => renewedElsewhere(stored, latest)),
              Effect.flatMap(Option.match({
                onSome: Effect.succeed,
                onNone: () =>
                  strategy.interactive ? Effect.fail(error) : Effect.zipRight(
                    Effect.logWarning("the stored token was rejected by the service; logging in again").pipe(
                      Effect.annotateLogs("error", error.message),
                      annotate
                    ),
                    acquireAndSave
                  )
              }))
            )
        )
      )

    /**
     * Renews `token` under the lock: a newer fresh token another process stored is taken as is;
     * otherwise `renew` runs on the stored token (or on `token` when nothing is stored).
     */
    const renewWith = (renew: (latest: Token) => Effect.Effect<Token, AuthError>) => (token: Token) =>
      locked(Effect.flatMap(load(true), (stored) =>
        Option.isNone(stored) ? renew(token) : Effect.flatMap(renewedElsewhere(stored, token), Option.match({
          onSome: (latest) => Effect.as(Effect.logDebug("another process already renewed the token").pipe(annotate), latest),
          onNone: () => renew(stored.value)
        }))))

    // A strategy that cannot refresh still gets a `refresh` here when it can log in without a
    // person: the engine calls it with the token a 401 rejected (and ahead of expiry), and only it
    // can tell the stored token is that rejected one; `acquire` would serve it again. Interactive
    // strategies without refresh get none, so the engine never logs in from the background.
    const refresh: Option.Option<(token: Token) => Effect.Effect<Token, AuthError>> = Option.match(strategy.refresh, {
      onSome: (refresh) =>
        Option.some(
          mode === "WriteOnly"
            ? (token: Token) => locked(Effect.flatMap(guarded(refresh(token)), saved))
            : renewWith((latest) => refreshLatest(refresh, latest))
        ),
      onNone: () =>
        strategy.interactive
          ? Option.none()
          : Option.some(mode === "WriteOnly" ? () => locked(acquireAndSave) : renewWith(() => acquireAndSave))
    })

    const revoke = (token: Token): Effect.Effect<void, AuthError> =>
      Effect.flatMap(
        Effect.exit(Option.match(strategy.revoke, { onNone: () => Effect.void, onSome: (revoke) => revoke(token) })),
        (exit) => Effect.zipRight(store.remove(key), Exit.isSuccess(exit) ? Effect.void : exit)
      )

    return {
      name: strategy.name,
      site: strategy.site,
      acquire,
      interactive: strategy.interactive,
      refresh,
      revoke: Option.some(revoke)
    }
}
