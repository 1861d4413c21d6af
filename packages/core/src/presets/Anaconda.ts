/**
 * Anaconda (anaconda.com accounts, as anaconda-auth uses them): endpoints and quirks only.
 *
 * @since 0.1.0
 */
import * as LoginAgent from "../LoginAgent.js"
import * as OAuth2 from "../OAuth2.js"
import type * as OAuth2Auth from "../OAuth2Auth.js"

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
