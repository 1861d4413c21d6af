/**
 * From a resolved site to what the commands need: the strategy (credentials asked for only when a
 * login actually happens), the store key, the storage options, the user lookup and the
 * environment for `exec`.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Terminal from "@effect/platform/Terminal"
import * as AnaplanAuth from "@effect-auth/anaplan/AnaplanAuth"
import { type AuthError, InvalidConfiguration, LoginCancelled, LoginRequired } from "@effect-auth/core/AuthError"
import * as AuthStrategy from "@effect-auth/core/AuthStrategy"
import type * as CredentialStorage from "@effect-auth/core/CredentialStorage"
import type * as Sites from "@effect-auth/core/Sites"
import * as TokenModule from "@effect-auth/core/Token"
import type { Token } from "@effect-auth/core/Token"
import * as TokenStore from "@effect-auth/core/TokenStore"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Prompt from "./prompt.js"
import * as SiteFields from "./siteFields.js"

/**
 * How a login may get what is missing: `never` (no terminal: fail with exit 4 and the way to log
 * in), `confirm` (ask "Log in now?" first: `token`, `whoami`, `exec`), `prompt` (`login`).
 *
 * @internal
 */
export type Ask = "never" | "confirm" | "prompt"

/** @internal */
export interface User {
  readonly email: string | undefined
  readonly name: string | undefined
  readonly id: string | undefined
}

/** @internal */
export interface Plan {
  readonly site: Sites.Site
  readonly provider: string
  readonly method: string
  /** The email or other principal, when the configuration names one. */
  readonly principal: string | undefined
  readonly storeKey: string
  /** `None` for methods that keep nothing (a static token). */
  readonly storage: Option.Option<CredentialStorage.Options>
  /** The strategy; it asks for missing credentials only when `acquire` runs, and only as `ask` allows. */
  readonly strategy: (ask: Ask) => Effect.Effect<AuthStrategy.AuthStrategy, never, HttpClient.HttpClient | Terminal.Terminal>
  readonly whoami: (token: Token) => Effect.Effect<User, AuthError, HttpClient.HttpClient>
  /** The variables `exec` sets for its child. */
  readonly environment: (token: Token) => Record<string, string>
}

// Loaded only by the commands that need them, to keep `effect-auth token` quick to start.
const OAuthPlan = Effect.promise(() => import("./oauthPlan.js"))
const AnaplanClient = Effect.promise(() => import("@effect-auth/anaplan/AnaplanClient"))

const loginCommand = (site: Sites.Site): string => `effect-auth login --at ${site.name}`

/** A value from the configuration, else asked for on a terminal, else the error saying how to give it. */
const obtain = <A>(options: {
  readonly site: Sites.Site
  readonly ask: Ask
  readonly configured: A | undefined
  readonly what: string
  readonly how: string
  readonly prompt: Effect.Effect<A, LoginCancelled, Terminal.Terminal>
  readonly confirmed: { value: boolean }
}): Effect.Effect<A, LoginRequired | LoginCancelled, Terminal.Terminal> =>
  Effect.suspend(() => {
    if (options.configured !== undefined) return Effect.succeed(options.configured)
    const canPrompt = options.ask !== "never" && Prompt.isInteractive()
    const required = new LoginRequired({
      site: options.site.name,
      detail: `No ${options.what} to log in with${canPrompt ? "" : ", and no terminal to ask for it"}`,
      hint: `${options.how}, or run \`${loginCommand(options.site)}\` in a terminal.`
    })
    if (!canPrompt) return Effect.fail(required)
    if (options.ask === "confirm" && !options.confirmed.value) {
      return Effect.flatMap(
        Prompt.confirm(`No usable login for ${options.site.name}. Log in now?`),
        (yes): Effect.Effect<A, LoginRequired | LoginCancelled, Terminal.Terminal> => {
          if (!yes) return Effect.fail(required)
          options.confirmed.value = true
          return options.prompt
        }
      )
    }
    return options.prompt
  })

const keyIsEncrypted = (path: string): boolean => {
  try {
    const text = Fs.readFileSync(path, "utf8")
    return text.includes("BEGIN ENCRYPTED PRIVATE KEY") || /Proc-Type:\s*4,ENCRYPTED/.test(text)
  } catch {
    // The strategy reports an unreadable key with the file's name.
    return false
  }
}

const anaplanPlan = (site: Sites.Site, storage: Option.Option<CredentialStorage.Options>): Plan => {
  const fields = SiteFields.of(site)
  const authUrl = fields.authUrl ?? AnaplanAuth.defaultAuthUrl
  const apiUrl = fields.apiUrl ?? AnaplanAuth.defaultApiUrl
  const method = site.method
  const principal = method === "basic" ? fields.email : undefined
  const common = { authUrl, site: site.name }

  const strategy = (ask: Ask) =>
    Effect.map(Effect.context<HttpClient.HttpClient | Terminal.Terminal>(), (context) => {
      const confirmed = { value: false }
      const run = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient | Terminal.Terminal>) =>
        Effect.provide(effect, context)
      const acquire: Effect.Effect<Token, AuthError> = method === "certificate"
        ? run(Effect.gen(function*() {
          const certificate = fields.certificate
          const privateKey = fields.privateKey
          if (certificate === undefined || privateKey === undefined) {
            return yield* new InvalidConfiguration({
              site: site.name,
              detail: "The certificate method needs a certificate and a private key",
              hint: `Set certificate and private_key (EFFECT_AUTH_CERTIFICATE, EFFECT_AUTH_PRIVATE_KEY), e.g. \`effect-auth sites modify ${site.name} --certificate cert.pem --private-key key.pem\`.`
            })
          }
          const passphrase = keyIsEncrypted(privateKey)
            ? yield* obtain({
              site,
              ask,
              confirmed,
              configured: fields.privateKeyPassphrase,
              what: `passphrase for the private key ${privateKey}`,
              how: "Set EFFECT_AUTH_PRIVATE_KEY_PASSPHRASE",
              prompt: Prompt.hidden(`Passphrase for ${privateKey}`, site.name)
            })
            : fields.privateKeyPassphrase
          const inner = yield* AnaplanAuth.certificate({
            ...common,
            certificate: { path: certificate },
            privateKey: { path: privateKey },
            passphrase
          })
          return yield* inner.acquire
        }))
        : method === "basic"
        ? run(Effect.gen(function*() {
          const email = yield* obtain({
            site,
            ask,
            confirmed,
            configured: fields.email,
            what: "email",
            how: `Set EFFECT_AUTH_EMAIL or \`effect-auth sites modify ${site.name} --email you@example.com\``,
            prompt: Prompt.text("Email", site.name)
          })
          const password = yield* obtain({
            site,
            ask,
            confirmed,
            configured: fields.password,
            what: `password for ${email}`,
            how: "Set EFFECT_AUTH_PASSWORD (or password_file in the site's table)",
            prompt: Prompt.hidden(`Password for ${email}`, site.name)
          })
          const inner = yield* AnaplanAuth.basic({ ...common, email, password })
          return yield* inner.acquire
        }))
        : Effect.fail(
          new InvalidConfiguration({
            site: site.name,
            detail: `The CLI cannot log in to Anaplan with the ${method} method yet`,
            hint: "Use method \"basic\" or \"certificate\", or \"token\" with EFFECT_AUTH_TOKEN."
          })
        )
      return AuthStrategy.make({
        name: `anaplan-${method}`,
        site: site.name,
        acquire,
        refresh: (token) => run(AnaplanAuth.refresh(token, common)),
        revoke: (token) => run(AnaplanAuth.logout(token, common))
      })
    })

  return {
    site,
    provider: "anaplan",
    method,
    principal,
    storeKey: TokenStore.key(site.name, principal),
    storage,
    strategy,
    whoami: (token) =>
      Effect.map(
        Effect.flatMap(AnaplanClient, (client) => client.whoami(token, { apiUrl, site: site.name })),
        (user) => ({
        email: user.email,
        name: [user.firstName, user.lastName].filter((part) => part !== undefined && part !== "").join(" "),
        id: user.id
      })
      ),
    environment: (token) => {
      const value = Redacted.value(token.accessToken)
      return { EFFECT_AUTH_TOKEN: value, ANAPLAN_AUTH_TOKEN: value }
    }
  }
}

const staticPlan = (site: Sites.Site, base: Plan): Plan => ({
  ...base,
  storage: Option.none(),
  strategy: () =>
    Effect.succeed(AuthStrategy.make({
      name: `${site.provider}-token`,
      site: site.name,
      acquire: Effect.suspend(() => {
        const token = SiteFields.of(site).token
        return token === undefined
          ? Effect.fail(
            new LoginRequired({
              site: site.name,
              detail: "The token method needs a token and none is set",
              hint: "Set EFFECT_AUTH_TOKEN (or token in the site's table)."
            })
          )
          : Effect.clockWith((clock) =>
            Effect.map(clock.currentTimeMillis, (now) => staticToken(token, site.provider, now))
          )
      })
    }))
})

const staticToken = (token: Redacted.Redacted<string>, provider: string, now: number): Token =>
  TokenModule.make({
    accessToken: token,
    tokenType: provider === "anaplan" ? AnaplanAuth.tokenType : "Bearer",
    issuedAt: now
  })

const oauthPlan = (site: Sites.Site, storage: Option.Option<CredentialStorage.Options>): Plan => ({
  site,
  provider: site.provider,
  method: site.method,
  // Who logs in is known only once the browser or device flow ends.
  principal: undefined,
  storeKey: TokenStore.key(site.name),
  storage,
  strategy: (ask) => Effect.flatMap(OAuthPlan, (module) => module.strategy(site)(ask)),
  whoami: (token) => Effect.flatMap(OAuthPlan, (module) => module.whoami(site)(token)),
  environment: (token): Record<string, string> => {
    const value = Redacted.value(token.accessToken)
    return site.provider === "anaplan"
      ? { EFFECT_AUTH_TOKEN: value, ANAPLAN_AUTH_TOKEN: value }
      : { EFFECT_AUTH_TOKEN: value }
  }
})

/**
 * The plan for a site.
 *
 * @internal
 */
export const plan = (site: Sites.Site): Plan => {
  const fields = SiteFields.of(site)
  const storage = Option.some<CredentialStorage.Options>({
    kind: site.storage,
    directory: fields.stateDir,
    redisUrl: fields.redisUrl,
    redisPrefix: fields.redisPrefix
  })
  const base = site.provider === "anaplan" && (site.method === "basic" || site.method === "certificate")
    ? anaplanPlan(site, storage)
    : oauthPlan(site, storage)
  return site.method === "token" ? staticPlan(site, base) : base
}
