/**
 * The generic OAuth 2 / OpenID Connect provider (`provider = "oauth2"`): discovery from `issuer`,
 * or explicit endpoints; the browser (`oauth`), device, refresh-token and client-credentials
 * methods; OpenID userinfo for "who am I". Also the building blocks the presets (Foundry,
 * Anaconda) and other OAuth 2 based providers share.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { AuthError } from "./AuthError.js"
import type * as AuthStrategy from "./AuthStrategy.js"
import * as internal from "./internal/oauth2Provider.js"
import * as LoginAgent from "./LoginAgent.js"
import * as OAuth2 from "./OAuth2.js"
import * as OAuth2Auth from "./OAuth2Auth.js"
import * as Provider from "./Provider.js"
import type { Token } from "./Token.js"

/**
 * The client fields of every OAuth 2 provider: `client_id`, `client_secret`, `scopes`,
 * `redirect_uri`, `refresh_token`.
 *
 * @since 0.1.0
 * @category fields
 */
export const clientFields = internal.clientFields

/**
 * A strategy built on first use, with the person check for browser and device logins;
 * `revocable = false` (no revocation endpoint known) gives it no `revoke`.
 *
 * @since 0.1.0
 * @category strategies
 */
export const lazy: (
  site: Provider.SiteOf<Provider.Fields>,
  provider: string,
  build: Effect.Effect<AuthStrategy.AuthStrategy, AuthError, HttpClient.HttpClient | LoginAgent.LoginAgent>,
  revocable?: boolean
) => Effect.Effect<AuthStrategy.AuthStrategy, never, HttpClient.HttpClient | Provider.Interaction> = internal.lazy

/**
 * A value the method needs, or the error that names its field, flag and variable.
 *
 * @since 0.1.0
 * @category strategies
 */
export const required = internal.required

/**
 * The site's `allow_insecure_http` (a field of every site): whether plain `http://` endpoints on
 * hosts that are not loopback are accepted (with a warning) instead of refused.
 *
 * @since 0.1.0
 * @category fields
 */
export const allowsInsecureHttp: (site: Provider.SiteOf<Provider.Fields>) => boolean = internal.allowsInsecureHttp

/**
 * The refresh_token method asks for the configured refresh token only when it logs in.
 *
 * @since 0.1.0
 * @category strategies
 */
export const ownRefreshToken = internal.ownRefreshToken

/**
 * The identity of a client-credentials token: the client id, and the subject and scopes the token
 * carries.
 *
 * @since 0.1.0
 * @category whoami
 */
export const clientIdentity: (clientId: string, token: Token) => Provider.User = internal.clientIdentity

/**
 * OpenID Connect userinfo, at `userinfoUrl` or found by discovery on `issuer`.
 *
 * @since 0.1.0
 * @category whoami
 */
export const userinfo = internal.userinfo

/**
 * The client authentication of a site: `client_secret_basic` with a secret, else a public client.
 *
 * @since 0.1.0
 * @category strategies
 */
export const clientOf = (clientId: string, secret: Redacted.Redacted<string> | undefined): OAuth2.ClientAuth =>
  secret === undefined ? OAuth2.none(clientId) : OAuth2.secretBasic(clientId, secret)

/**
 * The strategy of an OAuth 2 method for `options` (endpoints, client and scopes). A
 * client-credentials site needs its secret only here, when it talks to the token endpoint.
 *
 * @since 0.1.0
 * @category strategies
 */
export const strategy = (
  site: Provider.SiteOf<typeof clientFields>,
  provider: string,
  options: OAuth2Auth.ProviderOptions & { readonly redirect?: LoginAgent.Redirect | undefined }
): Effect.Effect<AuthStrategy.AuthStrategy, never, HttpClient.HttpClient | Provider.Interaction> =>
  lazy(
    site,
    provider,
    Effect.gen(function*() {
      const values = site.values
      const resolved = { ...options, allowInsecureHttp: options.allowInsecureHttp ?? internal.allowsInsecureHttp(site) }
      switch (site.method) {
        case "oauth":
          return yield* OAuth2Auth.authorizationCode({
            ...resolved,
            redirect: values.redirect_uri === undefined ?
              (resolved.redirect ?? LoginAgent.loopback()) :
              internal.redirectOf(values.redirect_uri)
          })
        case "device":
          return yield* OAuth2Auth.deviceCode(resolved)
        case "refresh_token": {
          const owned = yield* OAuth2Auth.refreshToken({
            ...resolved,
            refreshToken: values.refresh_token ?? Redacted.make("")
          })
          return ownRefreshToken(site, provider, owned)
        }
        case "client_credentials": {
          const secret = yield* required(site, provider, values.client_secret, "client_secret")
          return yield* OAuth2Auth.clientCredentials({
            ...resolved,
            client: OAuth2.secretBasic(resolved.client.clientId, secret)
          })
        }
        default:
          return yield* internal.configError(
            site.name,
            `${provider} sites cannot use the ${site.method} method`,
            "Use oauth, device, refresh_token, client_credentials or token."
          )
      }
    }),
    options.issuer !== undefined || options.endpoints?.revocationEndpoint !== undefined
  )

/**
 * "Who am I" of an OAuth 2 site: the client's identity for client credentials, else userinfo.
 *
 * @since 0.1.0
 * @category whoami
 */
export const whoami = (
  site: Provider.SiteOf<typeof clientFields>,
  endpoints: { readonly userinfoUrl?: string | undefined; readonly issuer?: string | undefined }
) =>
(token: Token): Effect.Effect<Provider.User, AuthError, HttpClient.HttpClient> =>
  site.method === "client_credentials" && site.values.client_id !== undefined ?
    Effect.succeed(clientIdentity(site.values.client_id, token)) :
    userinfo(site.name, endpoints, token)

const fields = {
  issuer: Provider.field.url("The OpenID issuer (discovery at /.well-known/openid-configuration)", { identity: true }),
  authorization_url: Provider.field.url("The authorization endpoint (without discovery)", { identity: true }),
  token_url: Provider.field.url("The token endpoint (without discovery)", { identity: true }),
  device_url: Provider.field.url("The device authorization endpoint (without discovery)", { identity: true }),
  revocation_url: Provider.field.url("The revocation endpoint (RFC 7009)"),
  userinfo_url: Provider.field.url("The userinfo endpoint (without discovery)"),
  ...clientFields
} as const

/**
 * The endpoint fields of the generic provider (presets reuse `userinfo_url`).
 *
 * @since 0.1.0
 * @category fields
 */
export const endpointFields = fields

/**
 * The generic OAuth 2 / OpenID Connect provider.
 *
 * @since 0.1.0
 * @category providers
 */
export const provider: Provider.Provider = Provider.erase(Provider.make({
  name: "oauth2",
  description: "Any OAuth 2 / OpenID Connect service",
  methods: ["oauth", "device", "refresh_token", "client_credentials", "token"],
  fields,
  example: {
    flags: "--client-id ID --issuer https://login.example.com",
    env: "EFFECT_AUTH_CLIENT_ID and EFFECT_AUTH_ISSUER"
  },
  requires: (method) =>
    method === "token" ? [] : [
    { fields: ["client_id"], scope: "provider" },
    { fields: ["issuer", "token_url"], scope: "provider" },
    ...(method === "oauth" ? [{ fields: ["issuer", "authorization_url"], scope: "provider" as const }] : []),
    ...(method === "device" ? [{ fields: ["issuer", "device_url"], scope: "provider" as const }] : [])
  ],
  plan: (site) => {
    const values = site.values
    const clientId = values.client_id ?? ""
    return {
      strategy: strategy(site, "oauth2", {
        name: "oauth2",
        site: site.name,
        issuer: values.issuer,
        client: clientOf(clientId, values.client_secret),
        scopes: values.scopes,
        endpoints: values.token_url === undefined ? undefined : {
          tokenEndpoint: values.token_url,
          authorizationEndpoint: values.authorization_url,
          deviceAuthorizationEndpoint: values.device_url,
          revocationEndpoint: values.revocation_url
        }
      }),
      whoami: whoami(site, { userinfoUrl: values.userinfo_url, issuer: values.issuer })
    }
  }
}))
