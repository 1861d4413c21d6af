/**
 * `effect-auth login [--method M] [--email E] [--force]`: logs in to the site and stores what is
 * needed to stay logged in.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as Provider from "@effect-auth/core/Provider"
import * as Sites from "@effect-auth/core/Sites"
import * as TokenStore from "@effect-auth/core/TokenStore"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Output from "../internal/output.js"
import { Globals } from "../internal/globals.js"
import * as Session from "../internal/session.js"
import * as SiteStrategy from "../internal/siteStrategy.js"
import * as Providers from "../Providers.js"

const options = (providers: ReadonlyArray<Provider.Provider>) => ({
  method: Options.choice("method", Sites.registry(providers).methods)
    .pipe(Options.withDescription("How to log in; default: the site's method"), Options.optional),
  email: Options.text("email").pipe(
    Options.withPseudoName("EMAIL"),
    Options.withDescription("The user to log in as; default: the site's email"),
    Options.optional
  ),
  force: Options.boolean("force").pipe(Options.withDescription("Log in again even when a usable login is stored"))
})

const expiry = (millis: number): string =>
  millis === Infinity ? "it is revoked" : DateTime.formatIso(DateTime.unsafeMake(millis))

/**
 * The `login` command for a list of providers (its `--method` choices are theirs).
 *
 * @since 0.1.0
 * @category commands
 */
export const make = (providers: ReadonlyArray<Provider.Provider>) =>
  Command.make("login", options(providers), ({ email, force, method }) =>
  Effect.gen(function*() {
    const session = yield* Session.current(yield* Globals, { method: Option.getOrUndefined(method), email: Option.getOrUndefined(email) })
    const { globals, plan, site } = session
    const storage = yield* Session.storageDescription(plan)
    const report = (token: { readonly expiresAtMillis: number }, user: string | undefined, fresh: boolean) =>
      globals.json
        ? Output.json({
          site: site.name,
          provider: plan.provider,
          method: plan.method,
          user: user ?? null,
          expires_at: token.expiresAtMillis === Infinity ? null : new Date(token.expiresAtMillis).toISOString(),
          storage,
          logged_in: fresh ? "now" : "already"
        })
        : Output.line(
          fresh
            ? `Logged in to ${site.name} as ${user ?? "an unknown user"} until ${expiry(token.expiresAtMillis)} (credentials in ${storage})`
            : `Already logged in to ${site.name} as ${user ?? "an unknown user"} until ${expiry(token.expiresAtMillis)} (credentials in ${storage}); use --force to log in again`
        )
    const userOf = (token: Parameters<typeof plan.whoami>[0]) =>
      plan.principal !== undefined
        ? Effect.succeed(plan.principal)
        : plan.whoami(token).pipe(
          Effect.map(SiteStrategy.principalOf),
          Effect.catchAll(() => Effect.succeed(undefined))
        )
    yield* Session.withStorage(
      plan,
      Effect.gen(function*() {
        const store = yield* TokenStore.TokenStore
        if (!force && Option.isSome(plan.storage)) {
          const stored = yield* store.load(plan.storeKey)
          const now = yield* Clock.currentTimeMillis
          if (Option.isSome(stored) && stored.value.isFresh(now, "1 minute")) {
            // Fresh by the clock is not enough: the token may have been logged out or revoked
            // elsewhere. Ask the site's API (which also names the user); a site without one is taken
            // at its word.
            const checked = yield* plan.whoami(stored.value).pipe(
              Effect.map((user): { readonly valid: boolean; readonly user: string | undefined } => ({
                valid: true,
                user: SiteStrategy.principalOf(user) ?? plan.principal
              })),
              Effect.catchAll((error) =>
                Effect.succeed({
                  valid: error._tag !== "TokenExpired" && error._tag !== "InvalidCredentials",
                  user: plan.principal
                })
              )
            )
            if (checked.valid) return yield* report(stored.value, checked.user, false)
          }
        }
        const strategy = yield* plan.strategy("prompt")
        const outer = yield* TokenStore.persisted(strategy, { key: plan.storeKey, mode: "WriteOnly" })
        const token = yield* outer.acquire
        yield* report(token, yield* userOf(token), true)
      })
    )
  }).pipe(Effect.scoped)).pipe(Command.withDescription("Log in to the site and store what is needed to stay logged in"))

/**
 * The `login` command of the built-in providers.
 *
 * @since 0.1.0
 * @category commands
 */
export const login = make(Providers.builtin)
