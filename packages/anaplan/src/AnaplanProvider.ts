/**
 * The Anaplan provider for sites and the `effect-auth` CLI (`provider = "anaplan"`, the CLI's
 * default): its fields, its methods (`basic`, `certificate`, `token`, and OAuth's `oauth`,
 * `device`, `refresh_token`) and their strategies, and `users/me` for "who am I".
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { InvalidConfiguration } from "@effect-auth/core/AuthError"
import * as AuthStrategy from "@effect-auth/core/AuthStrategy"
import * as OAuth2Provider from "@effect-auth/core/OAuth2Provider"
import * as Provider from "@effect-auth/core/Provider"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as AnaplanAuth from "./AnaplanAuth.js"

// Loaded only when an OAuth login or "who am I" needs them, to keep `effect-auth token` quick.
const AnaplanOAuth = Effect.promise(() => import("./AnaplanOAuth.js"))
const AnaplanClient = Effect.promise(() => import("./AnaplanClient.js"))

const fields = {
  auth_url: Provider.field.url("Anaplan's authentication service (default https://auth.anaplan.com)"),
  api_url: Provider.field.url("Anaplan's integration API (default https://api.anaplan.com)"),
  oauth_url: Provider.field.url("Anaplan's OAuth service (default: the region's, else https://us1a.app.anaplan.com)"),
  region: Provider.field.text("The tenant's region (us1, eu3, au1, ...), mapped to its OAuth host; oauth_url overrides it"),
  ...OAuth2Provider.clientFields,
  email: Provider.field.text("The user to log in as (method basic)", { identity: true }),
  password: Provider.field.secret("The password (method basic); prefer password_file or the environment", {
    identity: true
  }),
  password_file: Provider.field.path("A file that holds the password", { identity: true, holds: "password" }),
  certificate: Provider.field.path("The CA certificate, PEM (method certificate)", { identity: true }),
  private_key: Provider.field.path("The certificate's private key, PEM (method certificate)", { identity: true }),
  private_key_passphrase: Provider.field.secret("The passphrase of an encrypted private key")
} as const

type Site = Provider.SiteOf<typeof fields>

const keyIsEncrypted = (path: string): boolean => {
  try {
    const text = Fs.readFileSync(path, "utf8")
    return text.includes("BEGIN ENCRYPTED PRIVATE KEY") || /Proc-Type:\s*4,ENCRYPTED/.test(text)
  } catch {
    // The strategy reports an unreadable key with the file's name.
    return false
  }
}

/** Basic and certificate logins: credentials asked for only when a login happens. */
const sessionStrategy = (site: Site) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<HttpClient.HttpClient>()
    const asker = yield* Provider.asker(site.name)
    const values = site.values
    const common = {
      authUrl: values.auth_url ?? AnaplanAuth.defaultAuthUrl,
      site: site.name,
      allowInsecureHttp: OAuth2Provider.allowsInsecureHttp(site)
    }
    const login = site.method === "certificate" ?
      Effect.gen(function*() {
        const certificate = values.certificate
        const privateKey = values.private_key
        if (certificate === undefined || privateKey === undefined) {
          return yield* new InvalidConfiguration({
            site: site.name,
            detail: "The certificate method needs a certificate and a private key",
            hint:
              `Set certificate and private_key (EFFECT_AUTH_CERTIFICATE, EFFECT_AUTH_PRIVATE_KEY), e.g. \`effect-auth sites modify ${site.name} --certificate cert.pem --private-key key.pem\`.`
          })
        }
        const passphrase = keyIsEncrypted(privateKey) ?
          yield* asker.value({
            configured: values.private_key_passphrase,
            what: `passphrase for the private key ${privateKey}`,
            how: "Set EFFECT_AUTH_PRIVATE_KEY_PASSPHRASE",
            prompt: (person) => person.hidden(`Passphrase for ${privateKey}`, site.name)
          }) :
          values.private_key_passphrase
        return yield* AnaplanAuth.certificate({
          ...common,
          certificate: { path: certificate },
          privateKey: { path: privateKey },
          passphrase
        })
      }) :
      Effect.gen(function*() {
        const email = yield* asker.value({
          configured: values.email,
          what: "email",
          how: `Set EFFECT_AUTH_EMAIL or \`effect-auth sites modify ${site.name} --email you@example.com\``,
          prompt: (person) => person.text("Email", site.name)
        })
        const password = yield* asker.value({
          configured: values.password,
          what: `password for ${email}`,
          how: "Set EFFECT_AUTH_PASSWORD (or password_file in the site's table)",
          prompt: (person) => person.hidden(`Password for ${email}`, site.name)
        })
        return yield* AnaplanAuth.basic({ ...common, email, password })
      })
    const run = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) => Effect.provide(effect, context)
    return AuthStrategy.make({
      name: `anaplan-${site.method}`,
      site: site.name,
      acquire: run(Effect.flatMap(login, (inner) => inner.acquire)),
      refresh: (token) => run(AnaplanAuth.refresh(token, common)),
      revoke: (token) => run(AnaplanAuth.logout(token, common))
    })
  })

/** Anaplan's OAuth service: browser (paste the redirect), device, refresh token. */
const oauthStrategy = (site: Site) =>
  OAuth2Provider.lazy(
    site,
    "anaplan",
    Effect.gen(function*() {
      const oauth = yield* AnaplanOAuth
      const values = site.values
      const clientId = yield* OAuth2Provider.required(site, "anaplan", values.client_id, "client_id")
      const common = {
        clientId,
        clientSecret: values.client_secret,
        scopes: values.scopes,
        oauthUrl: values.oauth_url,
        region: values.region,
        authUrl: values.auth_url,
        site: site.name,
        allowInsecureHttp: OAuth2Provider.allowsInsecureHttp(site)
      }
      switch (site.method) {
        case "oauth": {
          const redirectUri = yield* OAuth2Provider.required(site, "anaplan", values.redirect_uri, "redirect_uri")
          return yield* oauth.oauthLocal({ ...common, redirectUri })
        }
        case "device":
          return yield* oauth.device(common)
        default: {
          const strategy = yield* oauth.refreshToken({
            ...common,
            refreshToken: values.refresh_token ?? Redacted.make("")
          })
          return OAuth2Provider.ownRefreshToken(site, "anaplan", strategy)
        }
      }
    })
  )

/**
 * The Anaplan provider.
 *
 * @since 0.1.0
 * @category providers
 */
export const provider: Provider.Provider = Provider.erase(Provider.make({
  name: "anaplan",
  description: "Anaplan (basic, certificate, and OAuth logins)",
  methods: ["basic", "certificate", "token", "oauth", "device", "refresh_token"],
  fields,
  tokenType: AnaplanAuth.tokenType,
  example: { flags: "--email you@example.com", env: "EFFECT_AUTH_EMAIL and EFFECT_AUTH_PASSWORD" },
  requires: (method) =>
    method === "certificate" ?
      [{ fields: ["certificate"], scope: "method" }, { fields: ["private_key"], scope: "method" }] :
      method === "oauth" || method === "device" || method === "refresh_token" ?
      [{ fields: ["client_id"], scope: "provider" }] :
      [],
  plan: (site) => ({
    principal: site.method === "basic" ? site.values.email : undefined,
    strategy: site.method === "basic" || site.method === "certificate" ? sessionStrategy(site) : oauthStrategy(site),
    whoami: (token) =>
      Effect.flatMap(AnaplanClient, (client) =>
        Effect.map(
          client.whoami(token, {
            apiUrl: site.values.api_url ?? AnaplanAuth.defaultApiUrl,
            site: site.name,
            allowInsecureHttp: OAuth2Provider.allowsInsecureHttp(site)
          }),
          (user) => ({
            email: user.email,
            name: [user.firstName, user.lastName].filter((part) => part !== undefined && part !== "").join(" "),
            id: user.id
          })
        )),
    environment: (token) => ({ ANAPLAN_AUTH_TOKEN: Redacted.value(token.accessToken) })
  })
}))
