/**
 * What `effect-auth token` does, apart from `@effect/cli` so that the binary's fast path can run
 * it without loading the command tree.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Terminal from "@effect/platform/Terminal"
import type { AuthError, InvalidConfiguration } from "@effect-auth/core/AuthError"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { Globals } from "./globalsType.js"
import * as Output from "./output.js"
import * as Session from "./session.js"

/** Prints the token and a newline (or the JSON object with `--json`). @internal */
export const printToken = (
  globals: Globals
): Effect.Effect<void, AuthError | InvalidConfiguration, HttpClient.HttpClient | Terminal.Terminal> =>
  Effect.gen(function*() {
    const { plan, site } = yield* Session.current(globals)
    const token = yield* Session.withStorage(plan, Effect.scoped(Session.token(plan, "confirm")))
    const value = Redacted.value(token.accessToken)
    yield* globals.json
      ? Output.json({
        token: value,
        token_type: token.tokenType,
        expires_at: token.expiresAtMillis === Infinity ? null : new Date(token.expiresAtMillis).toISOString(),
        site: site.name
      })
      : Effect.sync(() => void process.stdout.write(`${value}\n`))
  })
