/**
 * `effect-auth status`: every site, its method, whether it is logged in and where tokens are kept.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as TokenStore from "@effect-auth/core/TokenStore"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Exit } from "../internal/failure.js"
import { Globals } from "../internal/globals.js"
import * as Output from "../internal/output.js"
import * as Session from "../internal/session.js"
import * as SiteStrategy from "../internal/siteStrategy.js"

type State = "logged in" | "expired" | "not logged in" | "error"

interface Row {
  readonly site: string
  readonly default: boolean
  readonly provider: string | null
  readonly method: string | null
  readonly state: State
  readonly expires_at: string | null
  readonly expires_in_seconds: number | null
  readonly storage: string | null
  /** What storage `auto` decided, when the site's storage is `auto`. */
  readonly storage_decision: {
    readonly storage: "keyring" | "file"
    readonly reason: string | null
    readonly timed_out: boolean
    readonly decided_at: string
  } | null
  readonly error: string | null
}

const row = (name: string, isDefault: boolean, plan: SiteStrategy.Plan) =>
  Effect.gen(function*() {
    const selection = yield* Session.storageSelection(plan)
    const storage = Session.describeStorage(selection)
    const decision = selection?.decision
    const base = {
      site: name,
      default: isDefault,
      provider: plan.provider,
      method: plan.method,
      storage,
      storage_decision: decision === undefined ? null : {
        storage: decision.kind,
        reason: decision.reason ?? null,
        timed_out: decision.timedOut,
        decided_at: new Date(decision.decidedAtMillis).toISOString()
      }
    }
    if (Option.isNone(plan.storage)) {
      return { ...base, state: "logged in", expires_at: null, expires_in_seconds: null, error: null } satisfies Row
    }
    const stored = yield* Effect.scoped(
      Session.withStorage(plan, Effect.flatMap(TokenStore.TokenStore, (store) => store.load(plan.storeKey)))
    )
    if (Option.isNone(stored)) {
      return { ...base, state: "not logged in", expires_at: null, expires_in_seconds: null, error: null } satisfies Row
    }
    const token = stored.value
    const now = yield* Clock.currentTimeMillis
    const at = token.expiresAtMillis
    const fresh = token.isFresh(now)
    return {
      ...base,
      // An expired access token with a refresh token is renewed by the next command.
      state: fresh || Option.isSome(token.refreshToken) ? "logged in" : "expired",
      expires_at: at === Infinity ? null : new Date(at).toISOString(),
      expires_in_seconds: at === Infinity ? null : Math.round((at - now) / 1000),
      error: null
    } satisfies Row
  })

const errorRow = (name: string, isDefault: boolean, error: { readonly message: string }): Row => ({
  site: name,
  default: isDefault,
  provider: null,
  method: null,
  state: "error",
  expires_at: null,
  expires_in_seconds: null,
  storage: null,
  storage_decision: null,
  error: error.message
})

/** Where tokens are kept, for the table: `auto (file: the system keyring did not answer within 3s, decided 2026-12-02 04:10)`. */
const storageCell = (r: Row): string => {
  const decision = r.storage_decision
  if (decision === null) return r.storage ?? "-"
  const why = decision.storage === "file" && decision.reason !== null ? `: ${decision.reason}` : ""
  return `auto (${decision.storage}${why}, decided ${Output.localMinute(Date.parse(decision.decided_at))})`
}

const table = (rows: ReadonlyArray<Row>): string => {
  const cells = rows.map((r) => [
    `${r.default ? "* " : "  "}${r.site}`,
    r.provider ?? "-",
    r.method ?? "-",
    r.state,
    r.expires_in_seconds === null ? "-" : Output.formatRemaining(r.expires_in_seconds * 1000),
    r.error ?? storageCell(r)
  ])
  return Output.columns([["  SITE", "PROVIDER", "METHOD", "STATUS", "EXPIRES IN", "STORAGE"], ...cells])
}

/**
 * The `status` command; exits 1 when a site needs a login.
 *
 * @since 0.1.0
 * @category commands
 */
export const status = Command.make("status", {}, () =>
  Effect.gen(function*() {
    const globals = yield* Globals
    const config = yield* Session.loadConfig(globals)
    // `--at` selects one site; an unknown one fails, naming the configured sites.
    if (globals.at !== undefined) yield* Session.resolveSite(config, { site: globals.at })
    const names = globals.at !== undefined
      ? [globals.at]
      : config.sites.length > 0
      ? config.sites.map((site) => site.name)
      : [undefined]
    const defaultName = Option.getOrUndefined(config.defaultSite) ?? (names.length === 1 ? names[0] : undefined)
    const rows = yield* Effect.forEach(names, (name) =>
      Session.resolveSite(config, { site: name }).pipe(
        Effect.flatMap((site) => row(site.name, site.name === defaultName || names.length === 1, SiteStrategy.plan(config, site))),
        Effect.catchAll((error) =>
          Effect.succeed(name === undefined ? undefined : errorRow(name, name === defaultName, error))
        )
      ))
    const shown = rows.filter((r): r is Row => r !== undefined)
    if (globals.json) {
      yield* Output.json({ config: config.path, sites: shown })
    } else if (shown.length === 0) {
      yield* Output.line(
        `No sites configured in ${config.path}.\nAdd one: effect-auth sites add NAME --provider anaplan --email you@example.com`
      )
    } else {
      yield* Output.line(table(shown))
    }
    if (shown.length === 0 || shown.some((r) => r.state !== "logged in")) return yield* new Exit({ code: 1 })
  })).pipe(Command.withDescription("Show every site: provider, method, logged in or not, expiry, storage"))
