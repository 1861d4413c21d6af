/**
 * Palantir Foundry (Multipass OAuth 2): endpoints and quirks only. Public clients use the
 * authorization code grant with PKCE; confidential ones may use client credentials.
 *
 * @since 0.1.0
 */
import type * as OAuth2 from "../OAuth2.js"
import type * as OAuth2Auth from "../OAuth2Auth.js"

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
