/**
 * What every OAuth 2 based provider shares: the client fields, the lazily built strategy (built
 * on first use, behind the person check for browser and device logins), the redirect of a
 * configured `redirect_uri`, OpenID userinfo and the identity of a client-credentials token.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { type AuthError, InvalidConfiguration } from "../AuthError.js"
import * as AuthResponse from "../AuthResponse.js"
import * as AuthStrategy from "../AuthStrategy.js"
import * as LoginAgent from "../LoginAgent.js"
import * as Provider from "../Provider.js"
import type { Token } from "../Token.js"

/** @internal */
export type Build = Effect.Effect<AuthStrategy.AuthStrategy, AuthError, HttpClient.HttpClient | LoginAgent.LoginAgent>

/** The client fields every OAuth 2 provider has. @internal */
export const clientFields = {
  client_id: Provider.field.text("The OAuth 2 client id", { identity: true }),
  client_secret: Provider.field.secret("The OAuth 2 client secret (confidential clients)", { identity: true }),
  scopes: Provider.field.list("Scopes to ask for, space-separated"),
  redirect_uri: Provider.field.url("The registered redirect URI (a loopback one is served, any other pasted back)"),
  refresh_token: Provider.field.secret("A refresh token to log in with (method refresh_token)", { identity: true })
} as const

/** The site values of {@link clientFields}. @internal */
export type ClientValues = Provider.Values<typeof clientFields>

/**
 * The site's `allow_insecure_http` (a field of every site): plain `http://` endpoints on hosts that
 * are not loopback are accepted, with a warning.
 *
 * @internal
 */
export const allowsInsecureHttp = (site: Provider.SiteOf<Provider.Fields>): boolean => {
  const values: Readonly<Record<string, unknown>> = site.values
  return values["allow_insecure_http"] === "true"
}

/** @internal */
export const interactiveMethods: ReadonlySet<string> = new Set(["oauth", "device"])

/** @internal */
export const configError = (site: string, detail: string, hint: string) =>
  new InvalidConfiguration({ site, detail, hint })

/** A value the method needs, or the error naming its field, flag and variable. @internal */
export const required = <A>(
  site: Provider.SiteOf<Provider.Fields>,
  provider: string,
  value: A | undefined,
  field: string
): Effect.Effect<A, InvalidConfiguration> =>
  value === undefined ?
    Effect.fail(configError(
      site.name,
      `The ${site.method} method of ${provider} sites needs ${field}`,
      `Set ${field} in the site's table (\`effect-auth sites modify ${site.name} --${
        field.replace(/_/g, "-")
      } ...\`) or ${Provider.envVar(field)}.`
    )) :
    Effect.succeed(value)

/**
 * The refresh_token method needs the configured refresh token only to log in: a stored token
 * refreshes with its own (rotated) refresh token, so `token` keeps working once the configured one
 * has been spent and unset.
 *
 * @internal
 */
export const ownRefreshToken = (
  site: Provider.SiteOf<typeof clientFields>,
  provider: string,
  strategy: AuthStrategy.AuthStrategy
): AuthStrategy.AuthStrategy =>
  site.values.refresh_token !== undefined ?
    strategy :
    {
      ...strategy,
      acquire: Effect.zipRight(required(site, provider, site.values.refresh_token, "refresh_token"), strategy.acquire)
    }

/**
 * A strategy built only when first used (it may need discovery, a browser or a terminal), with
 * refresh and revocation delegated to it. Browser and device logins first check that a person is
 * there (as the {@link Provider.Interaction} allows).
 *
 * @internal
 */
export const lazy = (
  site: Provider.SiteOf<Provider.Fields>,
  provider: string,
  build: Build,
  revocable: boolean = true
): Effect.Effect<AuthStrategy.AuthStrategy, never, HttpClient.HttpClient | Provider.Interaction> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<HttpClient.HttpClient | Provider.Interaction>()
    const interaction = Context.get(context, Provider.Interaction)
    const asker = yield* Provider.asker(site.name)
    const interactive = interactiveMethods.has(site.method)
    const inner = yield* Effect.cached(
      build.pipe(Effect.provideServiceEffect(LoginAgent.LoginAgent, interaction.agent), Effect.provide(context))
    )
    return AuthStrategy.make({
      name: `${provider}-${site.method}`,
      site: site.name,
      interactive,
      acquire: Effect.zipRight(
        interactive ? asker.person(site.method) : Effect.void,
        Effect.flatMap(inner, (strategy) => strategy.acquire)
      ),
      refresh: (token) =>
        Effect.flatMap(inner, (strategy) =>
          Option.match(strategy.refresh, {
            onNone: () => strategy.acquire,
            onSome: (refresh) => refresh(token)
          })),
      // Without a revocation endpoint nothing is revoked, so logout builds nothing (and needs no secret).
      revoke: revocable ?
        (token) =>
          Effect.flatMap(inner, (strategy) =>
            Option.match(strategy.revoke, { onNone: () => Effect.void, onSome: (revoke) => revoke(token) })) :
        undefined
    })
  })

/** A loopback redirect URI (`http://127.0.0.1:PORT/path`) is served; any other is pasted back. @internal */
export const redirectOf = (uri: string): LoginAgent.Redirect => {
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

/** OpenID Connect userinfo: `userinfo_url`, else the issuer's discovery document. @internal */
export const userinfo = (
  site: string,
  endpoints: { readonly userinfoUrl?: string | undefined; readonly issuer?: string | undefined },
  token: Token
): Effect.Effect<Provider.User, AuthError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const context = { site, operation: "OpenID Connect userinfo" }
    let endpoint = endpoints.userinfoUrl
    if (endpoint === undefined && endpoints.issuer !== undefined) {
      const response = yield* AuthResponse.execute(
        client,
        HttpClientRequest.get(`${endpoints.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`),
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
      HttpClientRequest.get(endpoint).pipe(
        HttpClientRequest.setHeader("authorization", `Bearer ${Redacted.value(token.accessToken)}`)
      ),
      context
    )
    if (response.status !== 200) return yield* AuthResponse.statusError(response, context)
    const info = yield* AuthResponse.json(response, UserInfo, context)
    return { email: info.email ?? info.preferred_username, name: info.name, id: info.sub }
  })

const JwtClaims = Schema.parseJson(Schema.Struct({
  sub: Schema.optional(Schema.String),
  client_id: Schema.optional(Schema.String),
  azp: Schema.optional(Schema.String),
  scope: Schema.optional(Schema.String),
  scp: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String)))
}))

/**
 * A client-credentials token belongs to the client, not a person (userinfo has no user for it):
 * the client id, and the subject and scopes when the token is a JWT that says them (RFC 9068),
 * else the scopes the token endpoint granted.
 *
 * @internal
 */
export const clientIdentity = (clientId: string, token: Token): Provider.User => {
  const payload = Redacted.value(token.accessToken).split(".")[1]
  const claims = payload === undefined ?
    Option.none() :
    Schema.decodeUnknownOption(JwtClaims)(Buffer.from(payload, "base64url").toString("utf8"))
  const scopesOf = (value: string | ReadonlyArray<string> | undefined) =>
    typeof value === "string" ? value.split(" ").filter((scope) => scope !== "") : value
  const fromClaims = Option.getOrUndefined(claims)
  const scopes = scopesOf(fromClaims?.scope ?? fromClaims?.scp) ?? (token.scopes.length > 0 ? token.scopes : undefined)
  return {
    id: fromClaims?.sub,
    client: {
      clientId: fromClaims?.client_id ?? fromClaims?.azp ?? clientId,
      subject: fromClaims?.sub,
      scopes
    }
  }
}
