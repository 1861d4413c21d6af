/**
 * The refresh policy of the CLI's commands.
 *
 * @internal
 */
import * as RefreshPolicy from "@effect-auth/core/RefreshPolicy"
import { commandPolicy } from "./cachedToken.js"

/**
 * A command runs once and hands its token to what the script does next, with no background
 * refresh to follow: it renews a stored token that has less than a fifth of its lifetime (at most
 * 5 minutes) plus 10 s left, so the token it prints still has time to be used. (A long-running
 * program keeps the library's defaults: shares of the lifetime, renewed in the background.) The
 * numbers are `cachedToken.ts`'s, whose cache hit follows the same rule.
 *
 * @internal
 */
export const policy: RefreshPolicy.RefreshPolicy = RefreshPolicy.make({
  margin: commandPolicy.marginMillis,
  marginRatio: commandPolicy.marginRatio,
  // cachedToken.ts's rule has no minimum (a command has no event loop to wait behind)
  minimumMargin: 0,
  expirySkew: commandPolicy.expirySkewMillis,
  skewRatio: commandPolicy.skewRatio
})
