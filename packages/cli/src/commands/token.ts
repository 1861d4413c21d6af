/**
 * `effect-auth token`: prints a valid access token and nothing else.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { Globals } from "../internal/globals.js"
import { printToken } from "../internal/printToken.js"

/**
 * The `token` command: the token and a newline on stdout (refreshed or logged in first when
 * needed); `--json` prints `{token, token_type, expires_at, site}`.
 *
 * @since 0.1.0
 * @category commands
 */
export const token = Command.make("token", {}, () => Effect.flatMap(Globals, printToken)).pipe(
  Command.withDescription("Print a valid access token (refreshing it first if needed) and nothing else")
)
