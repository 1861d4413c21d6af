/**
 * `effect-auth logout [--all]`: ends the stored logins upstream where possible and deletes them.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as TokenStore from "@effect-auth/core/TokenStore"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Output from "../internal/output.js"
import * as Session from "../internal/session.js"
import * as SiteStrategy from "../internal/siteStrategy.js"
import { Globals } from "../internal/globals.js"

interface Outcome {
  readonly site: string
  readonly was_logged_in: boolean
  readonly revoked: boolean
  readonly revoke_error: string | null
  readonly storage: string
}

const logoutOne = (plan: SiteStrategy.Plan) =>
  Session.withStorage(
    plan,
    Effect.gen(function*() {
      const storage = yield* Session.storageDescription(plan)
      const store = yield* TokenStore.TokenStore
      const stored = yield* store.load(plan.storeKey).pipe(
        // An unreadable entry is removed all the same.
        Effect.catchAll(() => Effect.succeed(Option.none()))
      )
      if (Option.isNone(stored)) {
        yield* store.remove(plan.storeKey)
        return { site: plan.site.name, was_logged_in: false, revoked: false, revoke_error: null, storage } satisfies Outcome
      }
      const strategy = yield* plan.strategy("never")
      const upstream = yield* Option.match(strategy.revoke, {
        onNone: () => Effect.succeed<string | null | false>(false),
        onSome: (revoke) =>
          revoke(stored.value).pipe(
            Effect.as<string | null | false>(null),
            Effect.catchAll((error) => Effect.succeed<string | null | false>(error.message))
          )
      })
      yield* store.remove(plan.storeKey)
      return {
        site: plan.site.name,
        was_logged_in: true,
        revoked: upstream === null,
        revoke_error: typeof upstream === "string" ? upstream : null,
        storage
      } satisfies Outcome
    })
  )

const describe = (outcome: Outcome): string =>
  !outcome.was_logged_in
    ? `Not logged in to ${outcome.site}; nothing stored in ${outcome.storage}`
    : outcome.revoked
    ? `Logged out of ${outcome.site}: the token was revoked upstream and removed from ${outcome.storage}`
    : outcome.revoke_error !== null
    ? `Logged out of ${outcome.site}: removed the token from ${outcome.storage}; revoking it upstream failed (${outcome.revoke_error})`
    : `Logged out of ${outcome.site}: removed the token from ${outcome.storage} (the provider cannot revoke it)`

/**
 * The `logout` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const logout = Command.make(
  "logout",
  { all: Options.boolean("all").pipe(Options.withDescription("Log out of every configured site")) },
  ({ all }) =>
    Effect.gen(function*() {
      const globals = yield* Globals
      const config = yield* Session.loadConfig(globals)
      const sites = all ? config.sites.map((site) => site.name) : [globals.at]
      const plans = yield* Effect.forEach(sites, (site) =>
        Effect.map(Session.resolveSite(config, { site }), (resolved) => SiteStrategy.plan(config, resolved)))
      const outcomes = yield* Effect.forEach(plans, (plan) => Effect.scoped(logoutOne(plan)))
      yield* globals.json
        ? Output.json(outcomes)
        : Effect.forEach(outcomes, (outcome) => Output.line(describe(outcome)), { discard: true })
    })
).pipe(Command.withDescription("Revoke the stored login upstream where possible and delete it (--all: every site)"))
