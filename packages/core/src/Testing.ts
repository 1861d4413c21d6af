/**
 * Test kit for users of effect-auth: `TokenSource` layers with fixed, sequenced or failing tokens,
 * and a scriptable strategy that counts its calls. Import from `@effect-auth/core/testing`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type { AuthError } from "./AuthError.js"
import * as AuthStrategy from "./AuthStrategy.js"
import * as Token from "./Token.js"
import * as TokenSource from "./TokenSource.js"

/**
 * A token for tests: `value` (default `"test-token"`), `Bearer`, issued at epoch 0 and valid for
 * `lifetime` (default: no expiry).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeToken = (options: {
  readonly value?: string
  readonly tokenType?: string
  readonly issuedAt?: number
  readonly lifetime?: Duration.DurationInput
  readonly refreshToken?: string
} = {}): Token.Token =>
  Token.make({
    accessToken: options.value ?? "test-token",
    tokenType: options.tokenType ?? "Bearer",
    issuedAt: options.issuedAt ?? 0,
    expiresIn: options.lifetime,
    refreshToken: options.refreshToken
  })

/**
 * A `TokenSource` that always gives `token` (default {@link makeToken}()).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFixed = (token: Token.Token = makeToken()): Layer.Layer<TokenSource.TokenSource> =>
  TokenSource.layerStatic(token, { name: "test-fixed" })

/**
 * A `TokenSource` that gives the tokens in turn: `get` gives the current one; `invalidate` of the
 * current one, `refresh` and `login` move to the next. After the last it stays on the last.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSequence = (tokens: ReadonlyArray<Token.Token>): Layer.Layer<TokenSource.TokenSource> =>
  Layer.effect(
    TokenSource.TokenSource,
    Effect.map(Ref.make(0), (index) => {
      const current = Effect.map(Ref.get(index), (i) => tokens[Math.min(i, tokens.length - 1)])
      const advance = Effect.zipRight(Ref.update(index, (i) => Math.min(i + 1, tokens.length - 1)), current)
      return {
        name: "test-sequence",
        site: undefined,
        get: current,
        invalidate: (token: Token.Token) =>
          Effect.flatMap(current, (held) =>
            Redacted.value(held.accessToken) === Redacted.value(token.accessToken) ? Effect.asVoid(advance) : Effect.void),
        refresh: advance,
        login: advance,
        current: Effect.map(current, Option.some)
      }
    })
  )

/**
 * A `TokenSource` whose every call fails with `error`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFail = (error: AuthError): Layer.Layer<TokenSource.TokenSource> =>
  Layer.succeed(TokenSource.TokenSource, {
    name: "test-fail",
    site: undefined,
    get: Effect.fail(error),
    invalidate: () => Effect.void,
    refresh: Effect.fail(error),
    login: Effect.fail(error),
    current: Effect.succeed(Option.none())
  })

/**
 * The outcome of one scripted call: `"ok"` issues a new token, an error fails the call.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "ok" | AuthError

/**
 * @since 0.1.0
 * @category models
 */
export interface ScriptOptions {
  /** Lifetime of issued tokens, counted from `Clock` (so `TestClock` works). Default 1 hour. */
  readonly lifetime?: Duration.DurationInput | undefined
  readonly tokenType?: string | undefined
  /** Outcomes of successive `acquire` calls; past the end every call succeeds. */
  readonly acquire?: ReadonlyArray<Outcome> | undefined
  /** Outcomes of successive `refresh` calls, or `false` for a strategy that cannot refresh. */
  readonly refresh?: ReadonlyArray<Outcome> | false | undefined
  /** Whether the strategy can revoke. Default `true`. */
  readonly revoke?: boolean | undefined
  readonly interactive?: boolean | undefined
  /** Each call takes this long (on the `Clock`). Default 0. */
  readonly latency?: Duration.DurationInput | undefined
  readonly name?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ScriptedStrategy {
  readonly strategy: AuthStrategy.AuthStrategy
  /** How many times each capability was called (including failed calls). */
  readonly calls: Effect.Effect<{ readonly acquire: number; readonly refresh: number; readonly revoke: number }>
  /** The tokens revoked, in order. */
  readonly revoked: Effect.Effect<ReadonlyArray<Token.Token>>
}

/**
 * A strategy driven by a script, counting its calls. Issued tokens are `token-1`, `token-2`, ...
 * with refresh tokens `refresh-1`, ...
 *
 * @since 0.1.0
 * @category constructors
 */
export const scriptedStrategy = (options: ScriptOptions = {}): Effect.Effect<ScriptedStrategy> =>
  Effect.gen(function*() {
    const counts = yield* Ref.make({ acquire: 0, refresh: 0, revoke: 0, issued: 0 })
    const revoked = yield* Ref.make<ReadonlyArray<Token.Token>>([])
    const lifetime = options.lifetime ?? Duration.hours(1)
    const latency = options.latency === undefined ? Effect.void : Effect.sleep(options.latency)

    const issue = Effect.gen(function*() {
      const n = yield* Ref.modify(counts, (c) => [c.issued + 1, { ...c, issued: c.issued + 1 }])
      const now = yield* Clock.currentTimeMillis
      return Token.make({
        accessToken: `token-${n}`,
        tokenType: options.tokenType ?? "Bearer",
        issuedAt: now,
        expiresIn: lifetime,
        refreshToken: `refresh-${n}`
      })
    })

    const run = (script: ReadonlyArray<Outcome>, n: number): Effect.Effect<Token.Token, AuthError> => {
      const outcome = n <= script.length ? script[n - 1] : "ok"
      return Effect.zipRight(latency, outcome === "ok" ? issue : Effect.fail(outcome))
    }

    const acquire = Effect.flatMap(
      Ref.modify(counts, (c) => [c.acquire + 1, { ...c, acquire: c.acquire + 1 }]),
      (n) => run(options.acquire ?? [], n)
    )
    const refreshScript = options.refresh
    const strategy = AuthStrategy.make({
      name: options.name ?? "scripted",
      acquire,
      interactive: options.interactive,
      refresh: refreshScript === false ? undefined : () =>
        Effect.flatMap(
          Ref.modify(counts, (c) => [c.refresh + 1, { ...c, refresh: c.refresh + 1 }]),
          (n) => run(refreshScript ?? [], n)
        ),
      revoke: options.revoke === false ? undefined : (token) =>
        Effect.zipRight(
          Ref.update(counts, (c) => ({ ...c, revoke: c.revoke + 1 })),
          Ref.update(revoked, (all) => [...all, token])
        )
    })
    return {
      strategy,
      calls: Effect.map(Ref.get(counts), ({ acquire, refresh, revoke }) => ({ acquire, refresh, revoke })),
      revoked: Ref.get(revoked)
    }
  })
