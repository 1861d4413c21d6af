/**
 * The refresh policy of the CLI's commands.
 *
 * @internal
 */
import * as RefreshPolicy from "@effect-auth/core/RefreshPolicy"

/**
 * A command runs once and hands its token to what the script does next, with no background
 * refresh to follow: it renews a stored token that has less than a fifth of its lifetime (at most
 * 5 minutes) plus 10 s left, so the token it prints still has time to be used. (A long-running
 * program keeps the library's defaults: shares of the lifetime, renewed in the background.) The
 * fast path (`cachedToken.ts`) answers only tokens with more than the largest of these left.
 *
 * @internal
 */
export const policy: RefreshPolicy.RefreshPolicy = RefreshPolicy.make({ marginRatio: 0.2, skewRatio: 1 })
