/**
 * Palantir Foundry (Multipass OAuth 2): endpoints and quirks only. Public clients use the
 * authorization code grant with PKCE; confidential ones may use client credentials.
 *
 * Refresh tokens (Foundry's OAuth 2 documentation, palantir-oauth-client): they rotate on every
 * use; a reuse within one minute of the first use is tolerated (for network failures), which is
 * what lets a refresh whose answer was lost be sent again; a later reuse ends every token of the
 * grant; a refresh token unused for 30 days expires. The toolkit never spends one twice on
 * purpose: the new refresh token is stored before the access token is handed out, and processes
 * that share a store refresh one at a time (`TokenLock`). When a refresh is refused, the error
 * says which of these may have happened and to log in again.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { TokenExpired } from "../AuthError.js"
import type * as AuthStrategy from "../AuthStrategy.js"
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

/**
 * What a refused Foundry refresh means: the refresh token was unused for 30 days, or reused more
 * than a minute after its first use (which ended the whole grant). The Foundry provider wraps its
 * strategies with it.
 *
 * @since 0.1.0
 * @category presets
 */
export const explainRefusedRefresh = (strategy: AuthStrategy.AuthStrategy): AuthStrategy.AuthStrategy => ({
  ...strategy,
  refresh: Option.map(strategy.refresh, (refresh) => (token) =>
    Effect.mapError(refresh(token), (error) =>
      error._tag === "InvalidCredentials" || error._tag === "TokenExpired" ?
        new TokenExpired({
          site: error.site,
          detail: `${error.detail} (Foundry refresh tokens expire after 30 days unused, and a reuse more than a minute after the first ends the login)`,
          hint: `Log in again${error.site === undefined ? "" : ` (\`effect-auth login --at ${error.site}\`)`}.`
        }) :
        error))
})

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
      strategy: Effect.map(OAuth2Provider.strategy(
        site,
        "foundry",
        make({
          host: values.hostname ?? "",
          client: OAuth2Provider.clientOf(values.client_id ?? "", values.client_secret),
          scopes: values.scopes,
          site: site.name
        })
      ), explainRefusedRefresh),
      whoami: OAuth2Provider.whoami(site, { userinfoUrl: values.userinfo_url })
    }
  }
}))
