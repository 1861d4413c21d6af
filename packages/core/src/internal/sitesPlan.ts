/**
 * From a resolved site to what a program needs: the provider's strategy, the store key, the
 * storage options, "who am I" and the environment for a child process. The CLI and
 * `Sites.layer` share it, so both read and write the very same stored token.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { InvalidConfiguration, LoginRequired } from "../AuthError.js"
import * as AuthStrategy from "../AuthStrategy.js"
import type * as Provider from "../Provider.js"
import type * as Sites from "../Sites.js"
import type { Site } from "../Sites.js"
import * as TokenModule from "../Token.js"
import * as TokenStore from "../TokenStore.js"
import * as Fields from "./sitesFields.js"

/** @internal */
export type Plan = Sites.Plan

const text = (site: Site, field: string): string | undefined => {
  const value = site.values.get(field)
  return typeof value === "string" ? value : undefined
}

/** The site as its provider sees it: values in an object without a prototype. @internal */
export const siteOf = (site: Site): Provider.SiteOf<Provider.Fields> => ({
  name: site.name,
  method: site.method,
  values: Object.assign(Object.create(null), Object.fromEntries(site.values))
})

const staticStrategy = (site: Site, tokenType: string): AuthStrategy.AuthStrategy =>
  AuthStrategy.make({
    name: `${site.provider}-token`,
    site: site.name,
    acquire: Effect.suspend(() => {
      const token = site.values.get("token")
      return !Redacted.isRedacted(token) ?
        Effect.fail(
          new LoginRequired({
            site: site.name,
            detail: "The token method needs a token and none is set",
            hint: "Set EFFECT_AUTH_TOKEN (or token in the site's table)."
          })
        ) :
        Effect.clockWith((clock) =>
          Effect.map(clock.currentTimeMillis, (now) =>
            TokenModule.make({ accessToken: token as Redacted.Redacted<string>, tokenType, issuedAt: now }))
        )
    })
  })

const noWhoami = (site: Site) => () =>
  Effect.fail(
    new InvalidConfiguration({
      site: site.name,
      detail: `Provider ${site.provider} has no way to ask who is logged in`,
      hint: "Use `effect-auth token` or `status` for this site."
    })
  )

/**
 * The plan for a site of `providers`.
 *
 * @internal
 */
export const plan = (providers: ReadonlyArray<Provider.Provider>, site: Site): Plan => {
  const registry = Fields.registry(providers)
  const provider = registry.provider(site.provider) ?? registry.defaultProvider
  const planned = provider.plan(siteOf(site))
  const principal = planned.principal
  const isStatic = site.method === "token"
  return {
    site,
    provider: provider.name,
    method: site.method,
    principal,
    storeKey: TokenStore.key(site.name, principal),
    storage: isStatic ?
      Option.none() :
      Option.some({
        kind: site.storage,
        directory: text(site, "state_dir"),
        redisUrl: text(site, "redis_url"),
        redisPrefix: text(site, "redis_prefix")
      }),
    strategy: isStatic ? Effect.succeed(staticStrategy(site, provider.tokenType ?? "Bearer")) : planned.strategy,
    whoami: planned.whoami ?? noWhoami(site),
    environment: (token) => ({
      ...planned.environment?.(token),
      EFFECT_AUTH_TOKEN: Redacted.value(token.accessToken)
    })
  }
}
