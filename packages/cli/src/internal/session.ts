/**
 * What every command starts from: the configuration file, the resolved site and its plan, and
 * the credential storage around the command's work.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Terminal from "@effect/platform/Terminal"
import { type AuthError, type CredentialStoreError, InvalidConfiguration, LoginRequired } from "@effect-auth/core/AuthError"
import * as CredentialStorage from "@effect-auth/core/CredentialStorage"
import * as Sites from "@effect-auth/core/Sites"
import type { Token } from "@effect-auth/core/Token"
import type { TokenLock } from "@effect-auth/core/TokenLock"
import * as TokenLockModule from "@effect-auth/core/TokenLock"
import * as TokenSource from "@effect-auth/core/TokenSource"
import * as TokenStore from "@effect-auth/core/TokenStore"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { Globals } from "./globals.js"
import * as Network from "./network.js"
import * as Output from "./output.js"
import * as Providers from "../Providers.js"
import * as SiteStrategy from "./siteStrategy.js"
import * as TokenPolicy from "./tokenPolicy.js"

/** @internal */
export const configPathOf = (globals: Globals): string =>
  globals.config !== undefined ? Path.resolve(globals.config) : Sites.configPath(process.env)

/** The `.env` of the working directory, if there is one. @internal */
export const dotenv = (): Record<string, string> => {
  try {
    return Sites.parseDotEnv(Fs.readFileSync(Path.resolve(".env"), "utf8"))
  } catch {
    return {}
  }
}

/** Fails when the configuration path is a directory, saying so (not "check the permissions"). @internal */
export const notADirectory = (path: string): Effect.Effect<void, InvalidConfiguration> =>
  Effect.suspend(() => {
    let isDirectory = false
    try {
      isDirectory = Fs.statSync(path).isDirectory()
    } catch {
      // Missing or unreadable: the loader says which.
    }
    if (!isDirectory) return Effect.void
    const inside = Path.join(path, "config.toml")
    return Effect.fail(
      new InvalidConfiguration({
        detail: `The configuration path ${path} is a directory, not a file`,
        hint: Fs.existsSync(inside)
          ? `Point --config (or EFFECT_AUTH_CONFIG) at the file in it: --config ${inside}.`
          : "Point --config (or EFFECT_AUTH_CONFIG) at a TOML file, e.g. " + inside + "."
      })
    )
  })

let warned = false

/** Loads the configuration file and prints its warnings (secrets in the file) once, on stderr. @internal */
export const loadConfig = (globals: Globals): Effect.Effect<Sites.SitesConfig, InvalidConfiguration> =>
  Effect.tap(
    Effect.zipRight(
      notADirectory(configPathOf(globals)),
      Effect.flatMap(Providers.Current, (providers) => Sites.registry(providers).load(configPathOf(globals)))
    ),
    (config) =>
    warned || config.warnings.length === 0
      ? Effect.void
      : Effect.suspend(() => {
        warned = true
        return Effect.forEach(config.warnings, (warning) => Output.note(`warning: ${warning}`), { discard: true })
      }))

/** @internal */
export interface Session {
  readonly globals: Globals
  readonly config: Sites.SitesConfig
  readonly site: Sites.Site
  readonly plan: SiteStrategy.Plan
}

/** @internal */
export type Flags = Partial<Record<string, string | undefined>>

const definedFlags = (flags: Flags): Partial<Record<string, string>> => {
  const out: Partial<Record<string, string>> = Object.create(null)
  for (const [name, value] of Object.entries(flags)) {
    if (value !== undefined) out[name] = value
  }
  return out
}

/** Resolves one site of `config` (by name, else as `--at` and the defaults choose). @internal */
export const resolveSite = (
  config: Sites.SitesConfig,
  options: { readonly site?: string | undefined; readonly flags?: Flags | undefined }
): Effect.Effect<Sites.Site, InvalidConfiguration> =>
  Sites.resolve(config, {
    site: options.site,
    flags: definedFlags(options.flags ?? {}),
    env: process.env,
    dotenv: dotenv()
  })

/** The session of a command working on one site. @internal */
export const current = (globals: Globals, flags: Flags = {}): Effect.Effect<Session, InvalidConfiguration> =>
  Effect.gen(function*() {
    const config = yield* loadConfig(globals)
    const site = yield* resolveSite(config, { site: globals.at, flags })
    yield* Network.check(site, dotenv())
    return { globals, config, site, plan: SiteStrategy.plan(config, site) }
  })

/**
 * The site a command line works on, if it resolves (with the `.env` it was resolved with): what
 * the HTTP client takes its proxy and TLS settings from.
 *
 * @internal
 */
export const siteFor = (
  globals: Globals
): Effect.Effect<{ readonly site: Sites.Site; readonly dotenv: Readonly<Record<string, string>> } | undefined> =>
  Effect.gen(function*() {
    const config = yield* loadConfig(globals)
    const site = yield* resolveSite(config, { site: globals.at })
    return { site, dotenv: dotenv() }
  }).pipe(Effect.orElseSucceed(() => undefined))

/**
 * Runs `effect` with the site's credential storage (a memory store for methods that keep
 * nothing).
 *
 * @internal
 */
export const withStorage = <A, E, R>(
  plan: SiteStrategy.Plan,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | CredentialStoreError | InvalidConfiguration, Exclude<R, TokenStore.TokenStore | TokenLock>> =>
  Effect.provide(
    effect,
    Option.match(plan.storage, {
      onNone: () => Layer.merge(TokenStore.layerMemory, TokenLockModule.layerMemory),
      onSome: (options) => CredentialStorage.layer(options)
    })
  )

/**
 * The site's storage as chosen (for `auto`, with its decision), without opening the store;
 * `undefined` for a site whose token comes from the configuration.
 *
 * @internal
 */
export const storageSelection = (
  plan: SiteStrategy.Plan
): Effect.Effect<CredentialStorage.Selection | undefined, InvalidConfiguration> =>
  Option.match(plan.storage, {
    onNone: () => Effect.succeed(undefined),
    onSome: CredentialStorage.select
  })

/** Where a site's tokens are kept, for messages, from its {@link storageSelection}. @internal */
export const describeStorage = (selection: CredentialStorage.Selection | undefined): string =>
  selection?.describe ?? "nowhere: the token comes from the configuration"

/** Where the site's tokens are kept, for messages, without opening the store. @internal */
export const storageDescription = (plan: SiteStrategy.Plan): Effect.Effect<string, InvalidConfiguration> =>
  Effect.map(storageSelection(plan), describeStorage)

/**
 * A valid token for the site: the stored one while fresh, else refreshed, else a login (asking
 * as `ask` allows); every new token is stored before it is handed out.
 *
 * @internal
 */
export const token = (
  plan: SiteStrategy.Plan,
  ask: SiteStrategy.Ask
): Effect.Effect<
  Token,
  AuthError,
  HttpClient.HttpClient | Terminal.Terminal | TokenStore.TokenStore | TokenLock | Scope.Scope
> =>
  Effect.gen(function*() {
    const strategy = yield* plan.strategy(ask)
    if (Option.isNone(plan.storage)) return yield* strategy.acquire
    const store = yield* TokenStore.TokenStore
    // What was stored before, to say "your login expired at ..." rather than only "no password".
    const before = yield* Effect.orElseSucceed(store.load(plan.storeKey), () => Option.none<Token>())
    const outer = yield* TokenStore.persisted(strategy, { key: plan.storeKey, policy: TokenPolicy.policy })
    const source = yield* TokenSource.make(outer, { revokeOnClose: false, policy: TokenPolicy.policy })
    return yield* source.get.pipe(
      Effect.catchTag("LoginRequired", (error) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const expired = Option.filter(before, (stored) => stored.expiresAtMillis !== Infinity && stored.expiresAtMillis <= now)
          if (Option.isNone(expired)) return Effect.fail(error)
          const at = Output.localTime(expired.value.expiresAtMillis, now)
          return Effect.fail(
            new LoginRequired({
              site: error.site,
              detail: `The login of ${plan.site.name} expired at ${at}. ${error.detail}`,
              hint: error.hint
            })
          )
        }))
    )
  })
