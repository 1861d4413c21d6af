/**
 * Anaconda (anaconda.com accounts, as anaconda-auth uses them): endpoints and quirks only.
 *
 * @since 0.1.0
 */
import * as LoginAgent from "../LoginAgent.js"
import * as OAuth2 from "../OAuth2.js"
import type * as OAuth2Auth from "../OAuth2Auth.js"
import * as OAuth2Provider from "../OAuth2Provider.js"
import * as Provider from "../Provider.js"

/**
 * The public client anaconda-auth registers, its fixed loopback redirect (port 8000, path
 * `/auth/oidc`) and OIDC discovery on the auth domain. Confirm these against anaconda-auth's
 * configuration before relying on them.
 *
 * @since 0.1.0
 * @category presets
 */
export const make = (options: {
  /** The auth domain; default `auth.anaconda.com`. */
  readonly domain?: string | undefined
  readonly clientId?: string | undefined
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly site?: string | undefined
} = {}): OAuth2Auth.AuthorizationCodeOptions => {
  const domain = options.domain ?? "auth.anaconda.com"
  return {
    name: "anaconda",
    site: options.site ?? domain,
    issuer: `https://${domain}`,
    client: OAuth2.none(options.clientId ?? "b4ad7f1d-c784-46b5-a9fe-106e1e7eb6ba"),
    scopes: options.scopes ?? ["openid", "email", "profile", "offline_access"],
    redirect: LoginAgent.loopback({ port: 8000, path: "/auth/oidc" })
  }
}

const fields = {
  userinfo_url: OAuth2Provider.endpointFields.userinfo_url,
  ...OAuth2Provider.clientFields
} as const

/**
 * The Anaconda provider (`provider = "anaconda"`): anaconda-auth's public client, a browser
 * login, then refresh tokens.
 *
 * @since 0.1.0
 * @category providers
 */
export const provider: Provider.Provider = Provider.erase(Provider.make({
  name: "anaconda",
  description: "Anaconda (anaconda.com accounts)",
  methods: ["oauth", "refresh_token", "token"],
  fields,
  example: { flags: "", env: "EFFECT_AUTH_PROVIDER=anaconda" },
  plan: (site) => {
    const values = site.values
    const options = make({ clientId: values.client_id, scopes: values.scopes, site: site.name })
    return {
      strategy: OAuth2Provider.strategy(site, "anaconda", options),
      whoami: OAuth2Provider.whoami(site, { userinfoUrl: values.userinfo_url, issuer: options.issuer })
    }
  }
}))
