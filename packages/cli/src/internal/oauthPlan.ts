/**
 * Plans for OAuth 2 logins: Anaplan's OAuth service (`oauth`, `device`, `refresh_token`) and the
 * generic providers (`oauth2`, `foundry`, `anaconda`).
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Terminal from "@effect/platform/Terminal"
import * as AnaplanClient from "@effect-auth/anaplan/AnaplanClient"
import * as AnaplanOAuth from "@effect-auth/anaplan/AnaplanOAuth"
import { type AuthError, InvalidConfiguration, LoginRequired } from "@effect-auth/core/AuthError"
import * as AuthResponse from "@effect-auth/core/AuthResponse"
import * as AuthStrategy from "@effect-auth/core/AuthStrategy"
import * as LoginAgent from "@effect-auth/core/LoginAgent"
import * as OAuth2 from "@effect-auth/core/OAuth2"
import * as OAuth2Auth from "@effect-auth/core/OAuth2Auth"
import * as Anaconda from "@effect-auth/core/presets/Anaconda"
import * as Foundry from "@effect-auth/core/presets/Foundry"
import type * as Sites from "@effect-auth/core/Sites"
import type { Token } from "@effect-auth/core/Token"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Prompt from "./prompt.js"
import type { Ask, User } from "./siteStrategy.js"

type Build = Effect.Effect<AuthStrategy.AuthStrategy, AuthError, HttpClient.HttpClient | LoginAgent.LoginAgent>

const interactiveMethods = new Set(["oauth", "device"])

const configError = (site: Sites.Site, detail: string, hint: string) =>
  new InvalidConfiguration({ site: site.name, detail, hint })

const required = <A>(site: Sites.Site, value: A | undefined, field: string, env: string): Effect.Effect<A, InvalidConfiguration> =>
  value === undefined
    ? Effect.fail(configError(
      site,
      `The ${site.method} method of ${site.provider} sites needs ${field}`,
      `Set ${field} in the site's table (\`effect-auth sites modify ${site.name} --${field.replace(/_/g, "-")} ...\`) or ${env}.`
    ))
    : Effect.succeed(value)

/**
 * The refresh_token method needs the configured refresh token only to log in: a stored token
 * refreshes with its own (rotated) refresh token, so `token` keeps working once the configured one
 * has been spent and unset.
 */
const ownRefreshToken = (site: Sites.Site, strategy: AuthStrategy.AuthStrategy): AuthStrategy.AuthStrategy =>
  site.refreshToken !== undefined
    ? strategy
    : { ...strategy, acquire: required(site, site.refreshToken, "refresh_token", "EFFECT_AUTH_REFRESH_TOKEN").pipe(Effect.flatMap(() => strategy.acquire)) }

/** A browser or device login needs a person: without one, exit 4 saying how to log in. */
const gate = (site: Sites.Site, ask: Ask): Effect.Effect<void, LoginRequired, Terminal.Terminal> =>
  Effect.suspend(() => {
    if (!interactiveMethods.has(site.method)) return Effect.void
    const missing = new LoginRequired({
      site: site.name,
      detail: `Logging in to ${site.name} (${site.method}) needs a person${ask === "never" ? "" : " at a terminal"}`,
      hint: `Run \`effect-auth login --at ${site.name}\` in a terminal, or use the refresh_token method with EFFECT_AUTH_REFRESH_TOKEN.`
    })
    if (ask === "never" || !Prompt.isInteractive()) return Effect.fail(missing)
    if (ask === "prompt") return Effect.void
    return Effect.flatMap(
      Prompt.confirm(`No usable login for ${site.name}. Log in now?`),
      (yes) => yes ? Effect.void : Effect.fail(missing)
    )
  })

/**
 * A strategy built only when first used (it may need discovery, a browser or a terminal), with
 * refresh and revocation delegated to it.
 */
const lazy = (site: Sites.Site, build: Build) => (ask: Ask) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<HttpClient.HttpClient | Terminal.Terminal>()
    const agent = yield* Effect.provide(LoginAgent.make(), context)
    const inner = yield* Effect.cached(
      build.pipe(Effect.provideService(LoginAgent.LoginAgent, agent), Effect.provide(context))
    )
    return AuthStrategy.make({
      name: `${site.provider}-${site.method}`,
      site: site.name,
      interactive: interactiveMethods.has(site.method),
      acquire: Effect.zipRight(
        Effect.provide(gate(site, ask), context),
        Effect.flatMap(inner, (strategy) => strategy.acquire)
      ),
      refresh: (token) =>
        Effect.flatMap(inner, (strategy) =>
          Option.match(strategy.refresh, {
            onNone: () => strategy.acquire,
            onSome: (refresh) => refresh(token)
          })),
      revoke: (token) =>
        Effect.flatMap(inner, (strategy) =>
          Option.match(strategy.revoke, { onNone: () => Effect.void, onSome: (revoke) => revoke(token) }))
    })
  })

const anaplanBuild = (site: Sites.Site): Build =>
  Effect.gen(function*() {
    const clientId = yield* required(site, site.clientId, "client_id", "EFFECT_AUTH_CLIENT_ID")
    const common = {
      clientId,
      clientSecret: site.clientSecret,
      scopes: site.scopes,
      oauthUrl: site.oauthUrl,
      authUrl: site.authUrl,
      site: site.name
    }
    switch (site.method) {
      case "oauth": {
        const redirectUri = yield* required(site, site.redirectUri, "redirect_uri", "EFFECT_AUTH_REDIRECT_URI")
        return yield* AnaplanOAuth.oauthLocal({ ...common, redirectUri })
      }
      case "device":
        return yield* AnaplanOAuth.device(common)
      case "refresh_token": {
        const strategy = yield* AnaplanOAuth.refreshToken({ ...common, refreshToken: site.refreshToken ?? Redacted.make("") })
        return ownRefreshToken(site, strategy)
      }
      default:
        return yield* configError(site, `Anaplan sites cannot use the ${site.method} method`, "Use basic, certificate, token, oauth, device or refresh_token.")
    }
  })

type Provider = OAuth2Auth.ProviderOptions & { readonly redirect?: LoginAgent.Redirect | undefined }

const providerOptions = (site: Sites.Site): Effect.Effect<Provider, InvalidConfiguration> =>
  Effect.gen(function*() {
    const clientId = site.clientId
    const client = (id: string) =>
      site.clientSecret === undefined ? OAuth2.none(id) : OAuth2.secretBasic(id, site.clientSecret)
    switch (site.provider) {
      case "foundry": {
        const host = yield* required(site, site.hostname, "hostname", "EFFECT_AUTH_HOSTNAME")
        const id = yield* required(site, clientId, "client_id", "EFFECT_AUTH_CLIENT_ID")
        return Foundry.make({ host, client: client(id), scopes: site.scopes, site: site.name })
      }
      case "anaconda":
        return Anaconda.make({ clientId, scopes: site.scopes, site: site.name })
      default: {
        const id = yield* required(site, clientId, "client_id", "EFFECT_AUTH_CLIENT_ID")
        if (site.issuer === undefined && site.tokenUrl === undefined) {
          return yield* configError(site, "An oauth2 site needs an issuer or a token_url", "Set issuer (discovery) or token_url and authorization_url.")
        }
        return {
          name: "oauth2",
          site: site.name,
          issuer: site.issuer,
          client: client(id),
          scopes: site.scopes,
          endpoints: site.tokenUrl === undefined ? undefined : {
            tokenEndpoint: site.tokenUrl,
            authorizationEndpoint: site.authorizationUrl,
            deviceAuthorizationEndpoint: site.deviceUrl,
            revocationEndpoint: site.revocationUrl
          }
        } satisfies Provider
      }
    }
  })

const genericBuild = (site: Sites.Site): Build =>
  Effect.gen(function*() {
    const provider = yield* providerOptions(site)
    switch (site.method) {
      case "oauth":
        return yield* OAuth2Auth.authorizationCode({
          ...provider,
          redirect: site.redirectUri === undefined
            ? (provider.redirect ?? LoginAgent.loopback())
            : redirectOf(site.redirectUri)
        })
      case "device":
        return yield* OAuth2Auth.deviceCode(provider)
      case "refresh_token": {
        const strategy = yield* OAuth2Auth.refreshToken({ ...provider, refreshToken: site.refreshToken ?? Redacted.make("") })
        return ownRefreshToken(site, strategy)
      }
      case "client_credentials":
        return yield* OAuth2Auth.clientCredentials(provider)
      default:
        return yield* configError(site, `${site.provider} sites cannot use the ${site.method} method`, "Use oauth, device, refresh_token, client_credentials or token.")
    }
  })

/** A loopback redirect URI (`http://127.0.0.1:PORT/path`) is served; any other is pasted back. */
const redirectOf = (uri: string): LoginAgent.Redirect => {
  try {
    const url = new URL(uri)
    if (url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
      return LoginAgent.loopback({
        port: url.port === "" ? undefined : Number(url.port),
        path: url.pathname,
        redirectHost: url.hostname
      })
    }
  } catch {
    // not a URL: paste mode reports it
  }
  return LoginAgent.paste(uri)
}

const UserInfo = Schema.Struct({
  sub: Schema.optional(Schema.String),
  email: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String),
  preferred_username: Schema.optional(Schema.String)
})

const Discovery = Schema.Struct({ userinfo_endpoint: Schema.optional(Schema.String) })

/** OpenID Connect userinfo: `userinfo_url`, else the issuer's discovery document. */
const userinfo = (site: Sites.Site, token: Token): Effect.Effect<User, AuthError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const context = { site: site.name, operation: "OpenID Connect userinfo" }
    let endpoint = site.userinfoUrl
    if (endpoint === undefined && site.issuer !== undefined) {
      const response = yield* AuthResponse.execute(
        client,
        HttpClientRequest.get(`${site.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`),
        context
      )
      if (response.status !== 200) return yield* AuthResponse.statusError(response, context)
      endpoint = (yield* AuthResponse.json(response, Discovery, context)).userinfo_endpoint
    }
    if (endpoint === undefined) {
      return yield* configError(site, "No userinfo endpoint is known for this site", "Set userinfo_url (or issuer, for discovery).")
    }
    const response = yield* AuthResponse.execute(
      client,
      HttpClientRequest.get(endpoint).pipe(HttpClientRequest.setHeader("authorization", `Bearer ${Redacted.value(token.accessToken)}`)),
      context
    )
    if (response.status !== 200) return yield* AuthResponse.statusError(response, context)
    const info = yield* AuthResponse.json(response, UserInfo, context)
    return { email: info.email ?? info.preferred_username, name: info.name, id: info.sub }
  })

/** @internal */
export const strategy = (site: Sites.Site) =>
  lazy(site, site.provider === "anaplan" ? anaplanBuild(site) : genericBuild(site))

/** @internal */
export const whoami = (site: Sites.Site) => (token: Token): Effect.Effect<User, AuthError, HttpClient.HttpClient> =>
  site.provider === "anaplan"
    ? Effect.map(AnaplanClient.whoami(token, { apiUrl: site.apiUrl, site: site.name }), (user) => ({
      email: user.email,
      name: `${user.firstName} ${user.lastName}`.trim(),
      id: user.id
    }))
    : userinfo(site, token)
