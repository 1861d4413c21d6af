/**
 * When the engine renews tokens and how it retries transient failures.
 *
 * The rule, for a token that lives `L` (from `issuedAt` to `expiresAt`), with its share
 * `S` = `marginRatio` x `L`:
 *
 * - **margin** = the smaller of `margin` and `S`, widened towards `minimumMargin` when thinner, up
 *   to 1.5 x `S`: refresh-ahead starts at least this long before expiry, so that a refresh delayed
 *   by a busy event loop or a slow round trip still arrives before the token expires (an Anaplan
 *   token past its expiry cannot be refreshed: that costs a new login, and 401s for every request
 *   signed with it);
 * - **jitter** = the smaller of `jitter`, the margin, and what is left of 2 x `S` after the margin:
 *   refresh-ahead starts up to this much earlier still, at random;
 * - **skew** = the smaller of `expirySkew` and `skewRatio` x `L`: `get` treats the token as expired
 *   this long before `expiresAt` and then waits for a new one.
 *
 * Both scale down with the lifetime, a renewal never starts before 90 % of the lifetime (2 x `S`),
 * and the skew share is smaller than the margin share, so any lifetime from 1 s up is renewed about
 * once per lifetime, in the background while the held token is still fresh: no caller waits on the
 * network for a token that has not expired. With the defaults: a token of 20 s or more is renewed
 * between 90 and 95 % of its lifetime (1.05 to 1.11 renewals per lifetime; a 35-minute Anaplan
 * token 1.75 to 2.25 minutes before expiry, treated as expired 10 s before it); a shorter one, whose
 * 5 % would leave less than the 1 s `minimumMargin`, between 90 and 92.5 % (a 4 s token 300 to
 * 400 ms before expiry instead of 200 to 400 ms; 1.08 to 1.11 renewals per lifetime). A token
 * without expiry is never renewed ahead.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import { type AuthError, isTransient } from "./AuthError.js"
import type { Token } from "./Token.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RefreshPolicy {
  /** Refresh this long before expiry (at most; see `marginRatio`). Default 5 minutes. */
  readonly margin: Duration.Duration
  /** ... or this share of the token's lifetime, whichever is smaller. Default 0.05. */
  readonly marginRatio: number
  /**
   * Room for a busy event loop and a slow round trip: a margin thinner than this is widened
   * towards it, up to 1.5 x `marginRatio` of the lifetime (so about one renewal per lifetime
   * still). Default 1 s.
   */
  readonly minimumMargin: Duration.Duration
  /**
   * Refresh up to this much earlier still (never more than the margin, nor before 2 x
   * `marginRatio` of the lifetime is left), at random, so a fleet does not refresh in step.
   * Default 30 s.
   */
  readonly jitter: Duration.Duration
  /** `get` treats a token as expired this long before its expiry (clock skew, latency). Default 10 s. */
  readonly expirySkew: Duration.Duration
  /** ... or this share of the token's lifetime, whichever is smaller. Default 0.01. */
  readonly skewRatio: number
  /** How many times a transient failure (network, timeout, 5xx, 429) is retried. Default 4. */
  readonly retries: number
  /** The first retry delay, doubled each time with jitter. Default 250 ms. */
  readonly retryBase: Duration.Duration
  /** No retry delay is longer than this, `Retry-After` included. Default 30 s. */
  readonly retryCap: Duration.Duration
}

/**
 * The defaults: 5 minutes / 5 % margin (at least 1 s where 7.5 % of the lifetime allows), 30 s jitter, 10 s / 1 % skew, 4 retries from 250 ms up to 30 s.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: RefreshPolicy = {
  margin: Duration.minutes(5),
  marginRatio: 0.05,
  minimumMargin: Duration.seconds(1),
  jitter: Duration.seconds(30),
  expirySkew: Duration.seconds(10),
  skewRatio: 0.01,
  retries: 4,
  retryBase: Duration.millis(250),
  retryCap: Duration.seconds(30)
}

/**
 * The defaults with some fields replaced; durations may be given as `"5 minutes"`, millis, ...
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (overrides: {
  readonly margin?: Duration.DurationInput | undefined
  readonly marginRatio?: number | undefined
  readonly minimumMargin?: Duration.DurationInput | undefined
  readonly jitter?: Duration.DurationInput | undefined
  readonly expirySkew?: Duration.DurationInput | undefined
  readonly skewRatio?: number | undefined
  readonly retries?: number | undefined
  readonly retryBase?: Duration.DurationInput | undefined
  readonly retryCap?: Duration.DurationInput | undefined
} = {}): RefreshPolicy => {
  const duration = (input: Duration.DurationInput | undefined, fallback: Duration.Duration) =>
    input === undefined ? fallback : Duration.decode(input)
  return {
    margin: duration(overrides.margin, defaults.margin),
    marginRatio: overrides.marginRatio ?? defaults.marginRatio,
    minimumMargin: duration(overrides.minimumMargin, defaults.minimumMargin),
    jitter: duration(overrides.jitter, defaults.jitter),
    expirySkew: duration(overrides.expirySkew, defaults.expirySkew),
    skewRatio: overrides.skewRatio ?? defaults.skewRatio,
    retries: overrides.retries ?? defaults.retries,
    retryBase: duration(overrides.retryBase, defaults.retryBase),
    retryCap: duration(overrides.retryCap, defaults.retryCap)
  }
}

/**
 * How long before expiry `token` should be refreshed: the smaller of `margin` and `marginRatio` of
 * its lifetime, widened towards `minimumMargin` up to 1.5 x `marginRatio` of it (jitter not
 * included).
 *
 * @since 0.1.0
 * @category utils
 */
export const marginFor = (policy: RefreshPolicy, token: Token): Duration.Duration => {
  const margin = shareOf(policy.margin, policy.marginRatio, token)
  const lifetime = token.lifetime
  if (lifetime._tag === "None") return margin
  const widest = Duration.millis(Math.floor(Duration.toMillis(lifetime.value) * policy.marginRatio * 1.5))
  return Duration.max(margin, Duration.min(policy.minimumMargin, widest))
}

/**
 * How much earlier than {@link marginFor} refresh-ahead may start, at random: the smaller of
 * `jitter`, the margin, and what is left of 2 x `marginRatio` of the lifetime after the margin.
 *
 * @since 0.1.0
 * @category utils
 */
export const jitterFor = (policy: RefreshPolicy, token: Token): Duration.Duration => {
  const margin = marginFor(policy, token)
  const jitter = Duration.min(policy.jitter, margin)
  const lifetime = token.lifetime
  if (lifetime._tag === "None") return jitter
  const window = Math.floor(Duration.toMillis(lifetime.value) * policy.marginRatio * 2)
  return Duration.min(jitter, Duration.millis(Math.max(0, window - Duration.toMillis(margin))))
}

/**
 * How long before expiry `get` stops serving `token`: the smaller of `expirySkew` and
 * `skewRatio` of its lifetime.
 *
 * @since 0.1.0
 * @category utils
 */
export const skewFor = (policy: RefreshPolicy, token: Token): Duration.Duration =>
  shareOf(policy.expirySkew, policy.skewRatio, token)

const shareOf = (cap: Duration.Duration, ratio: number, token: Token): Duration.Duration => {
  const lifetime = token.lifetime
  if (lifetime._tag === "None") return cap
  return Duration.min(cap, Duration.millis(Math.floor(Duration.toMillis(lifetime.value) * ratio)))
}

/**
 * The retry schedule for one call: exponential backoff with jitter from `retryBase`, at most
 * `retries` times, only while the failure is transient, never sooner than the server's
 * `Retry-After` and never longer than `retryCap`.
 *
 * @since 0.1.0
 * @category schedules
 */
export const retrySchedule = (policy: RefreshPolicy): Schedule.Schedule<unknown, AuthError> =>
  Schedule.exponential(policy.retryBase).pipe(
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(policy.retries)),
    Schedule.intersect(Schedule.identity<AuthError>()),
    Schedule.whileInput(isTransient),
    Schedule.modifyDelay(([, error], delay) => {
      const retryAfter = isTransient(error) && error.retryAfterMillis !== undefined
        ? Duration.millis(error.retryAfterMillis)
        : Duration.zero
      return Duration.min(Duration.max(delay, retryAfter), policy.retryCap)
    })
  )
