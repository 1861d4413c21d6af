/**
 * What `effect-auth token` does, apart from `@effect/cli` so that the binary's fast path can run
 * it without loading the command tree.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Terminal from "@effect/platform/Terminal"
import type { AuthError, InvalidConfiguration } from "@effect-auth/core/AuthError"
import * as CredentialStorage from "@effect-auth/core/CredentialStorage"
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
 * only a secure file or the system keyring, and only when the configuration gave no warning
 * (the cache hit prints none) and the storage was not a fallback (the full command warns).
 */
const location = (
  plan: SiteStrategy.Plan,
  warnings: number
): Effect.Effect<Option.Option<CachedToken.Location>> =>
  Option.match(plan.storage, {
    onNone: () => Effect.succeed(Option.none()),
    onSome: (options) =>
      CredentialStorage.select(options).pipe(
        Effect.map((selection): Option.Option<CachedToken.Location> => {
          if (warnings > 0 || selection.fallbackReason !== undefined) return Option.none()
          if (selection.kind === "file") {
            const directory = Path.resolve(options.directory ?? Paths.stateDirectory(process.env))
            return Option.some({ storage: "file", key: plan.storeKey, file: Path.join(directory, "credentials.json") })
          }
          if (selection.kind === "keyring") {
            return Option.some({
              storage: "keyring",
              key: plan.storeKey,
              service: options.keyringService ?? KeyringStore.defaultService
            })
          }
          return Option.none()
        }),
        Effect.orElseSucceed(() => Option.none())
      )
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
    const found = yield* location(plan, config.warnings.length)
    if (Option.isSome(found)) CachedToken.remember(globals, site.name, found.value)
  })
