/**
 * What `effect-auth token` does, apart from `@effect/cli` so that the binary's fast path can run
 * it without loading the command tree.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Terminal from "@effect/platform/Terminal"
import type { AuthError, InvalidConfiguration } from "@effect-auth/core/AuthError"
import * as KeyringStore from "@effect-auth/core/KeyringStore"
import * as Paths from "@effect-auth/core/Paths"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Path from "node:path"
import * as CachedToken from "./cachedToken.js"
import type { Globals } from "./globalsType.js"
import * as Output from "./output.js"
import * as Session from "./session.js"
import type * as SiteStrategy from "./siteStrategy.js"

/**
 * Where the site's token was found, for the cache hit of the next `token` (`cachedToken.ts`):
 * only a secure file, the system keyring or storage `auto` (whose decision the cache hit reads
 * anew, as the full command does), and only when the configuration gave no warning (the cache hit
 * prints none).
 */
const location = (
  plan: SiteStrategy.Plan,
  warnings: number
): Option.Option<CachedToken.Location> =>
  Option.flatMap(plan.storage, (options): Option.Option<CachedToken.Location> => {
    if (warnings > 0) return Option.none()
    const key = plan.storeKey
    const file = Path.join(Path.resolve(options.directory ?? Paths.stateDirectory(process.env)), "credentials.json")
    const service = options.keyringService ?? KeyringStore.defaultService
    switch (options.kind) {
      case "file":
        return Option.some({ storage: "file", key, file })
      case "keyring":
        return Option.some({ storage: "keyring", key, service })
      case "auto":
        return Option.some({ storage: "auto", key, file, service })
      default:
        return Option.none()
    }
  })

/** Prints the token and a newline (or the JSON object with `--json`). @internal */
export const printToken = (
  globals: Globals
): Effect.Effect<void, AuthError | InvalidConfiguration, HttpClient.HttpClient | Terminal.Terminal> =>
  Effect.gen(function*() {
    const { config, plan, site } = yield* Session.current(globals)
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
    const found = location(plan, config.warnings.length)
    if (Option.isSome(found)) CachedToken.remember(globals, site.name, found.value)
  })
