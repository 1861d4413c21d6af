/** @internal */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as MutableRef from "effect/MutableRef"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { SingleShotGen, YieldWrap } from "effect/Utils"
import * as AuthError from "../AuthError.js"
import type { AuthStrategy } from "../AuthStrategy.js"
import * as RefreshPolicy from "../RefreshPolicy.js"
import { Token } from "../Token.js"

/** @internal */
export interface Service {
  readonly name: string
  readonly site: string | undefined
  readonly get: Effect.Effect<Token, AuthError.AuthError>
  readonly invalidate: (token: Token) => Effect.Effect<void>
  readonly refresh: Effect.Effect<Token, AuthError.AuthError>
  readonly login: Effect.Effect<Token, AuthError.AuthError>
  readonly current: Effect.Effect<Option.Option<Token>>
  readonly unsafeFresh: () => Token | undefined
}

/** @internal */
export interface MakeOptions {
  readonly policy?: RefreshPolicy.RefreshPolicy | undefined
  readonly revokeOnClose?: boolean | undefined
}

/**
 * The engine's whole state. `ready` is the token wrapped once in `Effect.succeed` (an exit), so
 * that the hot path allocates nothing; `freshUntil` already has the skew taken off.
 */
interface State {
  readonly token: Token | undefined
  readonly ready: Effect.Effect<Token> | undefined
  readonly freshUntil: number
  readonly flight: Deferred.Deferred<Token, AuthError.AuthError> | undefined
  readonly needsLogin: boolean
}

type Mode = "get" | "refresh" | "login"

/** The instant `get` stops serving `token`: its expiry less the skew for its lifetime. */
const freshUntil = (policy: RefreshPolicy.RefreshPolicy, token: Token): number =>
  token.expiresAtMillis - Duration.toMillis(RefreshPolicy.skewFor(policy, token))

const sameToken = (a: Token, b: Token): boolean =>
  a === b || Redacted.value(a.accessToken) === Redacted.value(b.accessToken)

/**
 * A renewal that hands back the token in use with a later expiry (Anaplan's `/token/refresh`) is an
 * extension: the requests already signed with it stay valid, so it keeps what the renewal does not
 * restate (refresh token, ID token, scopes) and nothing is invalidated.
 */
const extend = (previous: Token | undefined, renewed: Token): Token =>
  previous === undefined || previous === renewed || !sameToken(previous, renewed) ? renewed : new Token({
    ...renewed,
    accessToken: previous.accessToken,
    refreshToken: Option.orElse(renewed.refreshToken, () => previous.refreshToken),
    scopes: renewed.scopes.length > 0 ? renewed.scopes : previous.scopes,
    idToken: Option.orElse(renewed.idToken, () => previous.idToken)
  })

/** @internal */
export const make = (
  strategy: AuthStrategy,
  options: MakeOptions = {}
): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const policy = options.policy ?? RefreshPolicy.defaults
    const retry = RefreshPolicy.retrySchedule(policy)
    const clock = yield* Effect.clock
    const scope = yield* Effect.scope
    // Every read and write of `state` happens inside one synchronous step, so it is atomic: this
    // is what `Ref` does, minus one indirection on the hot path.
    const state = MutableRef.make<State>({
      token: undefined,
      ready: undefined,
      freshUntil: -Infinity,
      flight: undefined,
      needsLogin: false
    })
    let closed = false
    let lastExpired: AuthError.AuthError | undefined
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closed = true
        const pending = MutableRef.get(state).flight
        return pending === undefined
          ? Effect.void
          : Deferred.die(pending, new Error(`TokenSource "${strategy.name}" closed while a login was in flight`))
      })
    )
    /** Whether `get` serves the held token now: one is held, not invalidated, and not stale. */
    const isFresh = (s: State): s is State & { readonly ready: Effect.Effect<Token> } =>
      s.ready !== undefined && clock.unsafeCurrentTimeMillis() < s.freshUntil
    const installed = yield* Queue.sliding<Token>(1)
    const attributes = { "auth.strategy": strategy.name, "auth.site": strategy.site ?? "" }
    const annotate = Effect.annotateLogs({ strategy: strategy.name, site: strategy.site ?? "" })

    const acquire = strategy.acquire.pipe(
      Effect.retry(retry),
      Effect.withSpan("TokenSource.acquire", { attributes })
    )

    const renew = (previous: Token | undefined, mode: Mode): Effect.Effect<Token, AuthError.AuthError> => {
      if (mode === "login" || previous === undefined || Option.isNone(strategy.refresh)) return acquire
      const refresh = strategy.refresh.value
      return refresh(previous).pipe(
        Effect.map((renewed) => extend(previous, renewed)),
        Effect.retry(retry),
        Effect.withSpan("TokenSource.refresh", { attributes }),
        Effect.catchTag("InvalidCredentials", (rejected) =>
          strategy.interactive
            ? Effect.fail(
              new AuthError.TokenExpired({
                site: strategy.site,
                detail: `The token expired and its refresh was rejected (${rejected.detail})`
              })
            )
            : Effect.zipRight(
              Effect.logDebug("refresh rejected; logging in again").pipe(annotate),
              acquire
            ))
      )
    }

    const settle = (deferred: Deferred.Deferred<Token, AuthError.AuthError>) =>
    (exit: Exit.Exit<Token, AuthError.AuthError>): Effect.Effect<void> =>
      Effect.zipRight(
        Exit.match(exit, {
          onFailure: (cause) => {
            const failure = Cause.failureOption(cause)
            const expired = Option.exists(failure, (error) => error._tag === "TokenExpired")
            if (expired) lastExpired = Option.getOrUndefined(failure)
            return Effect.sync(() =>
              MutableRef.update(state, (s) =>
                expired
                  ? { token: undefined, ready: undefined, freshUntil: -Infinity, flight: undefined, needsLogin: true }
                  : { ...s, flight: undefined })
            )
          },
          onSuccess: (token) =>
            Effect.zipRight(
              Effect.sync(() =>
                MutableRef.set(state, {
                  token,
                  ready: Effect.succeed(token),
                  freshUntil: freshUntil(policy, token),
                  flight: undefined,
                  needsLogin: false
                })
              ),
              Effect.zipRight(
                Queue.offer(installed, token),
                Effect.logDebug("token installed").pipe(
                  annotate,
                  Effect.annotateLogs("expiresAt", Option.match(token.expiresAt, {
                    onNone: () => "never",
                    onSome: (at) => at.toString()
                  }))
                )
              )
            )
        }),
        Deferred.done(deferred, exit)
      )

    const flight = (mode: Mode): Effect.Effect<Token, AuthError.AuthError> =>
      Effect.suspend(() => {
        const deferred = Deferred.unsafeMake<Token, AuthError.AuthError>(FiberId.none)
        return Effect.flatten(Effect.sync((): Effect.Effect<Token, AuthError.AuthError> => {
          const s = MutableRef.get(state)
          if (s.flight !== undefined) {
            const joined = Deferred.await(s.flight)
            return mode === "login" ? Effect.zipRight(Effect.ignore(joined), flight("login")) : joined
          }
          if (mode === "get" && isFresh(s)) return s.ready
          if (mode !== "login" && s.needsLogin) {
            // the failure that ended the session says best why and how to log in again
            return Effect.fail(
              lastExpired ?? new AuthError.TokenExpired({
                site: strategy.site,
                detail: "The token expired and could not be refreshed"
              })
            )
          }
          if (closed) {
            // Use after close is a wiring bug (the layer was provided around one step, not the
            // program): fail loudly instead of forking into a closed scope and waiting forever.
            return Effect.dieMessage(
              `TokenSource "${strategy.name}" was used after its scope closed: provide its layer around the whole program`
            )
          }
          const start = renew(s.token, mode).pipe(
            Effect.onExit(settle(deferred)),
            Effect.forkIn(scope),
            Effect.zipRight(Deferred.await(deferred))
          )
          MutableRef.set(state, { ...s, flight: deferred })
          return start
        }))
      })

    const serve = (): Effect.Effect<Token, AuthError.AuthError> => {
      const s = MutableRef.get(state)
      return isFresh(s) ? s.ready : flight("get")
    }
    // `yield* get` decides at the yield, not one fiber step later: a fresh token is handed to the
    // generator as the exit it already is (`ready`), which `Effect.gen` takes without a step of the
    // fiber; anywhere else (`flatMap`, `pipe`, a fork) `get` is the same decision in `suspend`.
    const get: Effect.Effect<Token, AuthError.AuthError> = Object.defineProperty(
      Effect.suspend(serve),
      Symbol.iterator,
      { value: () => new SingleShotGen(new YieldWrap(serve())) }
    )

    const invalidate = (token: Token): Effect.Effect<void> =>
      Effect.sync(() => {
        MutableRef.update(state, (s) =>
          s.token !== undefined && sameToken(s.token, token) ? { ...s, ready: undefined, freshUntil: -Infinity } : s)
      })

    // Refresh-ahead: for the latest installed token, wait until its refresh is due, then renew it;
    // transient failures are retried with backoff until the token expires. A newer token cancels the
    // wait (`switch`), so exactly one timer is pending at any time.
    const refreshAhead = (token: Token): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (token.expiresAtMillis === Infinity) return
        if (strategy.interactive && Option.isNone(strategy.refresh)) return
        // A token that is stale on arrival (already expired, or a server clock behind ours) is
        // renewed by the next `get`, not here: renewing it in the background would loop upstream.
        if (freshUntil(policy, token) <= clock.unsafeCurrentTimeMillis()) return
        // Margin, jitter and skew are shares of the lifetime for a short-lived token (see
        // `RefreshPolicy`): renewed at 90 to 95 % of its lifetime with the defaults (90 to 92.5 %
        // below 20 s, for room against a busy event loop), never in a tight loop.
        const margin = Duration.toMillis(RefreshPolicy.marginFor(policy, token))
        const jitter = yield* Random.nextIntBetween(0, Duration.toMillis(RefreshPolicy.jitterFor(policy, token)) + 1)
        const dueAt = token.expiresAtMillis - margin - jitter
        yield* Effect.sleep(Duration.millis(Math.max(0, dueAt - clock.unsafeCurrentTimeMillis())))
        const untilExpiry = Duration.millis(Math.max(0, token.expiresAtMillis - clock.unsafeCurrentTimeMillis()))
        yield* flight("refresh").pipe(
          Effect.retry(
            Schedule.exponential(policy.retryBase).pipe(
              Schedule.jittered,
              Schedule.union(Schedule.spaced(policy.retryCap)),
              Schedule.upTo(untilExpiry),
              Schedule.whileInput(AuthError.isTransient)
            )
          ),
          Effect.catchAll((error) =>
            Effect.logWarning("background refresh failed; the next get will try again").pipe(
              Effect.annotateLogs("error", error.message),
              annotate
            )
          )
        )
      })

    if (options.revokeOnClose !== false && Option.isSome(strategy.revoke)) {
      const revoke = strategy.revoke.value
      yield* Effect.addFinalizer(() =>
        Effect.suspend(() => {
          const token = MutableRef.get(state).token
          return token === undefined || !token.isFresh(clock.unsafeCurrentTimeMillis())
            ? Effect.void
            : revoke(token).pipe(
              Effect.timeout(RefreshPolicy.defaults.retryCap),
              Effect.withSpan("TokenSource.revoke", { attributes }),
              Effect.catchAll((error) =>
                Effect.logWarning("revoking the token on close failed").pipe(
                  Effect.annotateLogs("error", error.message),
                  annotate
                )
              )
            )
        })
      )
    }

    yield* Stream.fromQueue(installed).pipe(
      Stream.flatMap((token) => Stream.fromEffect(refreshAhead(token)), { switch: true }),
      Stream.runDrain,
      Effect.forkScoped
    )

    return {
      name: strategy.name,
      site: strategy.site,
      get,
      invalidate,
      refresh: flight("refresh"),
      login: flight("login"),
      current: Effect.sync(() => Option.fromNullable(MutableRef.get(state).token)),
      unsafeFresh: () => {
        const s = MutableRef.get(state)
        return isFresh(s) ? s.token : undefined
      }
    }
  })
