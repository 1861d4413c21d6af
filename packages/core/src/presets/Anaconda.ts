/**
 * Anaconda (anaconda.com accounts, as anaconda-auth uses them): endpoints and quirks only.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as LoginAgent from "../LoginAgent.js"
import * as OAuth2 from "../OAuth2.js"
import type * as OAuth2Auth from "../OAuth2Auth.js"
import * as OAuth2Provider from "../OAuth2Provider.js"
import * as Provider from "../Provider.js"

/**
 * anaconda-auth's public client id (no secret).
 *
 * @since 0.1.0
 * @category constants
 */
export const clientId = "b4ad7f1d-c784-46b5-a9fe-106e50441f5a"

/**
 * anaconda-auth's settings: its public client, OpenID discovery at the auth domain (the domain
 * itself unless `authDomain` overrides it), the fixed loopback redirect
 * `http://127.0.0.1:8000/auth/oidc`, scopes `openid email profile offline_access`, and the
 * browser sent on to `https://<domain>/app/local-login-success` (or `-error`) once the redirect
 * arrives.
 *
 * @since 0.1.0
 * @category presets
 */
export const make = (options: {
  /** The site's domain; default `anaconda.com`. */
  readonly domain?: string | undefined
  /** anaconda-auth's `auth_domain_override`: where discovery happens, when not the domain. */
  readonly authDomain?: string | undefined
  readonly clientId?: string | undefined
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly site?: string | undefined
} = {}): OAuth2Auth.AuthorizationCodeOptions => {
  const domain = options.domain ?? "anaconda.com"
  return {
    name: "anaconda",
    site: options.site ?? domain,
    issuer: `https://${options.authDomain ?? domain}`,
    client: OAuth2.none(options.clientId ?? clientId),
    scopes: options.scopes ?? ["openid", "email", "profile", "offline_access"],
    redirect: LoginAgent.loopback({
      port: 8000,
      path: "/auth/oidc",
      pages: {
        success: `https://${domain}/app/local-login-success`,
        error: `https://${domain}/app/local-login-error`
      }
    })
  }
}

const headersError = (value: string): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(value)
    if (
      typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) &&
      Object.values(parsed).every((header) => typeof header === "string")
    ) return undefined
  } catch {
    // reported below
  }
  return "expected a JSON object of header names and string values, e.g. {\"X-Team\": \"data\"}"
}

/** The headers of `extra_headers` (checked when the site was read). */
const headersOf = (value: string | undefined): Record<string, string> =>
  value === undefined ? {} : Object.assign(Object.create(null), JSON.parse(value) as Record<string, string>)

const fields = {
  domain: Provider.field.text("The Anaconda domain (default anaconda.com)", { identity: true }),
  auth_domain_override: Provider.field.text("Where OpenID discovery happens, when not the domain"),
  api_key: Provider.field.secret("A static API key: used as the token, no login", { identity: true }),
  use_device_flow: Provider.field.boolean("Log in with a device code instead of the browser"),
  extra_headers: Provider.field.text("Headers for every request, as JSON", { check: headersError }),
  userinfo_url: OAuth2Provider.endpointFields.userinfo_url,
  ...OAuth2Provider.clientFields
} as const

/**
 * The Anaconda provider (`provider = "anaconda"`), with anaconda-auth's fields: `domain`,
 * `auth_domain_override`, `api_key` (a static key that skips the login, as anaconda-auth uses
 * it), `use_device_flow`, `extra_headers` (JSON, sent with every request the provider makes).
 * anaconda-auth's `ssl_verify` and `proxy_servers` are the common transport fields of every site
 * (`tls_verify`, `ca_file`, `proxy`); a config that still says `ssl_verify` or `proxy_servers`
 * fails with an error naming the field to write instead.
 *
 * @since 0.1.0
 * @category providers
 */
export const provider: Provider.Provider = Provider.erase(Provider.make({
  name: "anaconda",
  description: "Anaconda (anaconda.com accounts, as anaconda-auth logs in)",
  methods: ["oauth", "device", "refresh_token", "token"],
  fields,
  example: { flags: "--domain anaconda.com", env: "EFFECT_AUTH_PROVIDER=anaconda" },
  plan: (site) => {
    const values = site.values
    const headers = headersOf(values.extra_headers)
    const withHeaders = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.updateService(effect, HttpClient.HttpClient, (client) =>
        HttpClient.mapRequest(client, HttpClientRequest.setHeaders(headers)))
    const options = make({
      domain: values.domain,
      authDomain: values.auth_domain_override,
      clientId: values.client_id,
      scopes: values.scopes,
      site: site.name
    })
    const apiKey = values.api_key
    const method = site.method === "oauth" && values.use_device_flow === "true" ? "device" : site.method
    return {
      stores: apiKey === undefined,
      strategy: apiKey === undefined ?
        withHeaders(OAuth2Provider.strategy({ ...site, method }, "anaconda", options)) :
        Effect.succeed(Provider.staticToken({ site: site.name, name: "anaconda-api_key", token: apiKey })),
      whoami: (token) =>
        withHeaders(OAuth2Provider.whoami(site, { userinfoUrl: values.userinfo_url, issuer: options.issuer })(token))
    }
  }
}))
