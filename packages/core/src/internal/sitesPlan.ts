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
import { InvalidConfiguration } from "../AuthError.js"
import type * as Provider from "../Provider.js"
import type * as Sites from "../Sites.js"
import type { Site } from "../Sites.js"
import * as TokenStore from "../TokenStore.js"
import { staticToken } from "./provider.js"
import * as Fields from "./sitesFields.js"

/** @internal */
export type Plan = Sites.Plan

const secretOf = (site: Site, field: string): Redacted.Redacted<string> | undefined => {
  const value = site.values.get(field)
  return Redacted.isRedacted(value) ? value as Redacted.Redacted<string> : undefined
}

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
  const isStatic = site.method === "token" || planned.stores === false
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
    strategy: site.method === "token" ?
      Effect.succeed(staticToken({
        site: site.name,
        name: `${site.provider}-token`,
        token: secretOf(site, "token"),
        tokenType: provider.tokenType
      })) :
      planned.strategy,
    whoami: planned.whoami ?? noWhoami(site),
    environment: (token) => ({
      ...planned.environment?.(token),
      EFFECT_AUTH_TOKEN: Redacted.value(token.accessToken)
    })
  }
}
