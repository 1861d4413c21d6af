/**
 * Palantir Foundry (Multipass OAuth 2): endpoints and quirks only. Public clients use the
 * authorization code grant with PKCE; confidential ones may use client credentials.
 *
 * @since 0.1.0
 */
import type * as OAuth2 from "../OAuth2.js"
import type * as OAuth2Auth from "../OAuth2Auth.js"
import * as OAuth2Provider from "../OAuth2Provider.js"
import * as Provider from "../Provider.js"

/**
 * The Multipass endpoints of a Foundry stack (confirm against the stack's documentation):
 * `/multipass/api/oauth2/authorize`, `/token` and `/revoke_token`; `offline_access` for a refresh token.
 *
 * @since 0.1.0
 * @category presets
 */
export const make = (options: {
  /** The stack's host, e.g. `example.palantirfoundry.com`. */
  readonly host: string
  readonly client: OAuth2.ClientAuth
  /** API scopes; `offline_access` is added for interactive logins. */
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly site?: string | undefined
}): OAuth2Auth.ProviderOptions => {
  const base = `https://${options.host}/multipass/api/oauth2`
  const scopes = options.scopes ?? []
  return {
    name: "foundry",
    site: options.site ?? options.host,
    client: options.client,
    scopes: scopes.includes("offline_access") ? scopes : [...scopes, "offline_access"],
    endpoints: {
      issuer: undefined,
      authorizationEndpoint: `${base}/authorize`,
      tokenEndpoint: `${base}/token`,
      revocationEndpoint: `${base}/revoke_token`
    }
  }
}

const fields = {
  hostname: Provider.field.text("The Foundry stack's host, e.g. example.palantirfoundry.com", { identity: true }),
  userinfo_url: OAuth2Provider.endpointFields.userinfo_url,
  ...OAuth2Provider.clientFields
} as const

/**
 * The Foundry provider (`provider = "foundry"`): a `hostname`, a client id, and the browser,
 * refresh-token or client-credentials methods.
 *
 * @since 0.1.0
 * @category providers
 */
export const provider: Provider.Provider = Provider.erase(Provider.make({
  name: "foundry",
  description: "Palantir Foundry (Multipass OAuth 2)",
  methods: ["oauth", "refresh_token", "client_credentials", "token"],
  fields,
  example: { flags: "--hostname example.palantirfoundry.com --client-id ID", env: "EFFECT_AUTH_HOSTNAME and EFFECT_AUTH_CLIENT_ID" },
  requires: (method) =>
    method === "token" ? [] : [
      { fields: ["hostname"], scope: "provider" },
      { fields: ["client_id"], scope: "provider" }
    ],
  plan: (site) => {
    const values = site.values
    return {
      strategy: OAuth2Provider.strategy(
        site,
        "foundry",
        make({
          host: values.hostname ?? "",
          client: OAuth2Provider.clientOf(values.client_id ?? "", values.client_secret),
          scopes: values.scopes,
          site: site.name
        })
      ),
      whoami: OAuth2Provider.whoami(site, { userinfoUrl: values.userinfo_url })
    }
  }
}))
