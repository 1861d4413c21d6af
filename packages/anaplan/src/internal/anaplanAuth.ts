/** @internal */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as AuthError from "@effect-auth/core/AuthError"
import * as AuthHttpClient from "@effect-auth/core/AuthHttpClient"
import * as AuthResponse from "@effect-auth/core/AuthResponse"
import * as AuthStrategy from "@effect-auth/core/AuthStrategy"
import * as OAuth2 from "@effect-auth/core/OAuth2"
import * as Token from "@effect-auth/core/Token"
import * as TokenSource from "@effect-auth/core/TokenSource"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as certificateLogin from "./certificateLogin.js"
import {
  anaplanStatus,
  anaplanTokenHeader,
  authRequest,
  type Context,
  failWith,
  isSuccess,
  type Rejected,
  send,
  tokenCall,
  tokenType,
  traced
} from "./anaplanWire.js"
import type { BasicOptions, CallOptions, CertificateOptions, TokenOptions, TokenValidation } from "../AnaplanAuth.js"

/** @internal */
export const defaultAuthUrl = "https://auth.anaplan.com"
/** @internal */
export const defaultApiUrl = "https://api.anaplan.com"
/** @internal */
export { decodeTokenResponse, tokenType } from "./anaplanWire.js"
/** @internal */
export const defaultSite = "anaplan"

const trimSlashes = (url: string): string => url.replace(/\/+$/, "")

const authEndpoint = (options: CallOptions | undefined, path: string): string =>
  `${trimSlashes(options?.authUrl ?? defaultAuthUrl)}${path}`

/** The options of the single calls, from a strategy's options. */
const callOptions = (options: CallOptions): CallOptions => ({
  authUrl: options.authUrl,
  site: options.site,
  allowInsecureHttp: options.allowInsecureHttp
})

/**
 * Refuses a plain `http://` Anaplan URL on a host that is not loopback, since what `carries` names
 * would travel in clear. With `allowInsecureHttp` it warns (once per process).
 */
const secureUrl = (
  field: string,
  url: string,
  carries: string,
  options: { readonly site?: string | undefined; readonly allowInsecureHttp?: boolean | undefined } | undefined
): Effect.Effect<void, AuthError.InvalidConfiguration> =>
  Effect.suspend(() =>
    OAuth2.checkEndpoint(field, url, {
      site: options?.site ?? defaultSite,
      allowInsecureHttp: options?.allowInsecureHttp,
      service: "Anaplan",
      carries
    })
  )

/** {@link secureUrl} for the auth URL: passwords, certificate logins and tokens go there. */
const secureAuthUrl = (options: CallOptions | undefined): Effect.Effect<void, AuthError.InvalidConfiguration> =>
  secureUrl("auth_url (authUrl)", options?.authUrl ?? defaultAuthUrl, "passwords and tokens", options)

/** @internal */
export const apiBase = (apiUrl: string | undefined): string => trimSlashes(apiUrl ?? defaultApiUrl)

/** Where the integration API is and whether it may be plain `http://` (the client's options). */
interface ApiOptions {
  readonly apiUrl?: string | undefined
  readonly site?: string | undefined
  readonly allowInsecureHttp?: boolean | undefined
}

/** {@link secureUrl} for the API URL: every request carries the token. */
const secureApiUrl = (options: ApiOptions | undefined): Effect.Effect<void, AuthError.InvalidConfiguration> =>
  secureUrl("api_url (apiUrl)", options?.apiUrl ?? defaultApiUrl, "tokens", options)

// -------------------------------------------------------------------------------------------------
// single calls
// -------------------------------------------------------------------------------------------------

/** @internal */
export const refresh = (token: Token.Token, options?: CallOptions): Effect.Effect<Token.Token, AuthError.AuthError, HttpClient.HttpClient> =>
  Effect.flatMap(HttpClient.HttpClient, (client) => refreshWith(client, options)(token))

const refreshWith = (client: HttpClient.HttpClient, options: CallOptions | undefined) => {
  const site = options?.site ?? defaultSite
  const url = authEndpoint(options, "/token/refresh")
  const context: Context = { site, operation: "Anaplan token refresh" }
  return (token: Token.Token): Effect.Effect<Token.Token, AuthError.AuthError> =>
    Effect.zipRight(secureAuthUrl(options), Clock.currentTimeMillis).pipe(Effect.flatMap((now) =>
      // Anaplan refreshes only a token that is still valid: an expired one is not sent (it would
      // cost a round trip and a 401); the engine logs in again, or says that the login expired.
      token.isFresh(now)
        ? tokenCall(client, authRequest("POST", url, anaplanTokenHeader(token)), context, (note) =>
          new AuthError.InvalidCredentials({
            site,
            detail: `Anaplan token refresh: the token was rejected (it expired or was logged out)${note}`,
            hint: "Log in again."
          }))
        : Effect.fail(
          new AuthError.InvalidCredentials({
            site,
            detail: `Anaplan token refresh: the token expired at ${
              DateTime.formatIso(DateTime.unsafeMake(token.expiresAtMillis))
            }, and Anaplan refreshes only unexpired tokens`,
            hint: "Log in again."
          })
        ))).pipe(traced("refresh", "refresh", site))
}

/** @internal */
export const logout = (token: Token.Token, options?: CallOptions): Effect.Effect<void, AuthError.AuthError, HttpClient.HttpClient> =>
  Effect.flatMap(HttpClient.HttpClient, (client) => logoutWith(client, options)(token))

/** A 401 means the token already stopped working, which is what a logout wants: it succeeds. */
const logoutWith = (client: HttpClient.HttpClient, options: CallOptions | undefined) => {
  const site = options?.site ?? defaultSite
  const url = authEndpoint(options, "/token/logout")
  const context: Context = { site, operation: "Anaplan logout" }
  return (token: Token.Token): Effect.Effect<void, AuthError.AuthError> =>
    Effect.zipRight(secureAuthUrl(options), Effect.suspend(() =>
      Effect.flatMap(AuthResponse.execute(client, authRequest("POST", url, anaplanTokenHeader(token)), context), (response) =>
        isSuccess(response) || response.status === 401
          ? Effect.ignore(AuthResponse.text(response, { ...context, maxBytes: 64 * 1024 }))
          : failWith(response, context))
    )).pipe(traced("logout", "logout", site))
}

const notValid = (site: string, operation: string): Rejected => (note) =>
  new AuthError.TokenExpired({
    site,
    detail: `${operation}: Anaplan does not accept the token (it expired or was logged out)${note}`
  })

/**
 * Anaplan's `GET /token/validate` answer, nested (setikites/anaplan-openapi `authentication/`,
 * checked against a live tenant): unknown fields ignored.
 */
const ValidationAnswer = Schema.Struct({
  tokenInfo: Schema.optional(Schema.Struct({
    expiresAt: Schema.optional(Schema.Number.pipe(Schema.finite(), Schema.positive(), Schema.lessThanOrEqualTo(8.64e15))),
    tokenId: Schema.optional(Schema.String)
  })),
  userInfo: Schema.Struct({
    userId: Schema.String,
    userGuid: Schema.optional(Schema.String),
    customerGuid: Schema.optional(Schema.String)
  })
})

/** The public class, passed in by the public module (which imports this one). */
type ValidationClass = new(fields: ConstructorParameters<typeof TokenValidation>[0]) => TokenValidation

/**
 * Reads a `/token/validate` answer into a `TokenValidation`.
 *
 * @internal
 */
export const readValidation = (
  response: HttpClientResponse.HttpClientResponse,
  context: AuthResponse.Context,
  Validation: ValidationClass
): Effect.Effect<TokenValidation, AuthError.AuthError> =>
  Effect.map(AuthResponse.json(response, ValidationAnswer, context), ({ tokenInfo, userInfo }) =>
    new Validation({
      email: userInfo.userId,
      userGuid: userInfo.userGuid,
      customerGuid: userInfo.customerGuid,
      tokenId: tokenInfo?.tokenId,
      expiresAt: tokenInfo?.expiresAt === undefined ? undefined : DateTime.unsafeMake(tokenInfo.expiresAt)
    }))

/** @internal */
export const validate = (Validation: ValidationClass) =>
(
  token: Token.Token | Redacted.Redacted<string>,
  options?: CallOptions
): Effect.Effect<TokenValidation, AuthError.AuthError, HttpClient.HttpClient> => {
  const site = options?.site ?? defaultSite
  const context: Context = { site, operation: "Anaplan token validation" }
  return Effect.zipRight(secureAuthUrl(options), HttpClient.HttpClient).pipe(Effect.flatMap((client) =>
    send(
      client,
      authRequest("GET", authEndpoint(options, "/token/validate"), anaplanTokenHeader(token)),
      context,
      notValid(site, context.operation)
    ))).pipe(
      Effect.flatMap((response) => readValidation(response, context, Validation)),
      traced("validate", "validate", site)
    )
}

/** @internal */
export const whoami = <A, I>(schema: Schema.Schema<A, I>) => {
  const answer = Schema.Struct({ user: schema })
  return (
    token: Token.Token,
    options?: ApiOptions
  ): Effect.Effect<A, AuthError.AuthError, HttpClient.HttpClient> => {
    const site = options?.site ?? defaultSite
    const context: Context = { site, operation: "Anaplan whoami" }
    return Effect.flatMap(Effect.zipRight(secureApiUrl(options), HttpClient.HttpClient), (client) =>
      send(
        client,
        authRequest("GET", `${apiBase(options?.apiUrl)}/2/0/users/me`, anaplanTokenHeader(token)),
        context,
        notValid(site, context.operation)
      )).pipe(
        Effect.flatMap((response) => AuthResponse.json(response, answer, context)),
        Effect.map((body) => body.user),
        traced("whoami", "whoami", site)
      )
  }
}

// -------------------------------------------------------------------------------------------------
// strategies
// -------------------------------------------------------------------------------------------------

const basicHint = "Check the email and password. Anaplan forces password changes every 30 to 90 days, so the " +
  "password may have expired: sign in to Anaplan in a browser to change it. Certificate authentication " +
  "(AnaplanAuth.layerCertificate) does not expire this way."

/** A login strategy whose tokens refresh through `/token/refresh` and are revoked by `/token/logout`. */
const sessionStrategy = (
  name: string,
  acquire: Effect.Effect<Token.Token, AuthError.AuthError>,
  client: HttpClient.HttpClient,
  options: CallOptions & { readonly site: string }
): AuthStrategy.AuthStrategy =>
  AuthStrategy.make({
    name,
    site: options.site,
    acquire,
    refresh: refreshWith(client, options),
    revoke: logoutWith(client, options)
  })

/** @internal */
export const basic = (options: BasicOptions): Effect.Effect<AuthStrategy.AuthStrategy, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) => {
    const site = options.site ?? defaultSite
    const url = authEndpoint(options, "/token/authenticate")
    const context: Context = { site, operation: "Anaplan basic login" }
    const acquire = Effect.zipRight(secureAuthUrl(options), Effect.suspend(() => {
      const credentials = Buffer.from(`${options.email}:${Redacted.value(options.password)}`, "utf8").toString("base64")
      return tokenCall(client, authRequest("POST", url, `Basic ${credentials}`), context, (note) =>
        new AuthError.InvalidCredentials({
          site,
          detail: `Anaplan basic login: Anaplan rejected the email or password of ${options.email}${note}`,
          hint: basicHint
        }))
    })).pipe(traced("authenticate", "basic", site))
    return sessionStrategy("anaplan-basic", acquire, client, { ...callOptions(options), site })
  })

/** @internal */
export const certificate = (
  options: CertificateOptions
): Effect.Effect<AuthStrategy.AuthStrategy, AuthError.InvalidConfiguration, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const site = options.site ?? defaultSite
    const credentials = yield* certificateLogin.load({ ...options, site })
    const url = authEndpoint(options, "/token/authenticate")
    const context: Context = { site, operation: "Anaplan certificate login" }
    const format = options.encodedDataFormat ?? "v2"
    const acquire = Effect.gen(function*() {
      yield* secureAuthUrl(options)
      yield* certificateLogin.checkValidity(credentials, site)
      const body = yield* certificateLogin.signedBody(credentials.key, format)
      const request = authRequest("POST", url, Redacted.value(credentials.authorization)).pipe(
        HttpClientRequest.bodyUnsafeJson(body)
      )
      return yield* tokenCall(client, request, context, (note) =>
        new AuthError.InvalidCredentials({
          site,
          detail: `Anaplan certificate login: Anaplan rejected the ${credentials.certificateName}${note}`,
          hint: "Check that a certificate authority Anaplan trusts issued it, that it is registered for your " +
            "user in Anaplan (Administration > Security > Certificates), and that the system clock is right."
        }))
    }).pipe(traced("authenticate", "certificate", site))
    return sessionStrategy("anaplan-certificate", acquire, client, { ...callOptions(options), site })
  })

/** @internal */
export const makeStaticSource = (options: TokenOptions): Effect.Effect<TokenSource.TokenSource.Service> =>
  Effect.map(Clock.currentTimeMillis, (now) =>
    TokenSource.makeStatic(
      Token.make({ accessToken: options.token, tokenType, issuedAt: now }),
      { name: "anaplan-token", site: options.site ?? defaultSite }
    ))

// -------------------------------------------------------------------------------------------------
// client
// -------------------------------------------------------------------------------------------------

/** @internal */
export interface ClientService<User> {
  readonly apiUrl: string
  readonly http: HttpClient.HttpClient.With<HttpClientError.HttpClientError | AuthError.AuthError>
  readonly whoami: Effect.Effect<User, AuthError.AuthError | HttpClientError.HttpClientError>
}

/**
 * Anaplan answers a role-restricted endpoint `401` with the status `ACCESS_CONTROL_DENIED` when the
 * user lacks the role: a missing permission, not a dead token. RFC 6750's `insufficient_scope`
 * counts too.
 *
 * @internal
 */
export const classifyUnauthorized: AuthHttpClient.UnauthorizedClassifier = (response) =>
  Effect.flatMap(AuthHttpClient.insufficientScope(response), (scope) =>
    Option.isSome(scope)
      ? Effect.succeed(scope)
      : AuthResponse.text(response, { operation: "Anaplan API", maxBytes: 64 * 1024 }).pipe(
        Effect.map((body) =>
          anaplanStatus(body) === "ACCESS_CONTROL_DENIED" ? Option.some("ACCESS_CONTROL_DENIED") : Option.none()
        ),
        Effect.orElseSucceed(() => Option.none<string>())
      ))

/** @internal */
export const makeClient = <User, I>(userSchema: Schema.Schema<User, I>) =>
(
  options?: Omit<ApiOptions, "site">
): Effect.Effect<ClientService<User>, AuthError.InvalidConfiguration, TokenSource.TokenSource | HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const source = yield* TokenSource.TokenSource
    const client = yield* HttpClient.HttpClient
    yield* secureApiUrl({ ...options, site: source.site })
    const apiUrl = apiBase(options?.apiUrl)
    const http = AuthHttpClient.make(source, { classifyUnauthorized })(
      client.pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl(`${apiUrl}/2/0`)))
    )
    const context: Context = { site: source.site ?? defaultSite, operation: "Anaplan whoami" }
    const answer = Schema.Struct({ user: userSchema })
    const whoami = http.get("/users/me", { acceptJson: true }).pipe(
      Effect.flatMap((response) =>
        isSuccess(response) ? AuthResponse.json(response, answer, context) : failWith(response, context)
      ),
      Effect.map((body) => body.user),
      traced("whoami", "whoami", context.site)
    )
    return { apiUrl, http, whoami }
  })

// -------------------------------------------------------------------------------------------------
// config
// -------------------------------------------------------------------------------------------------

const optionalString = (name: string): Config.Config<string | undefined> =>
  Config.option(Config.string(name)).pipe(Config.map(Option.getOrUndefined))

const optionalRedacted = (name: string): Config.Config<Redacted.Redacted<string> | undefined> =>
  Config.option(Config.redacted(name)).pipe(Config.map(Option.getOrUndefined))

/** @internal */
export const basicConfig: Config.Config<BasicOptions> = Config.all({
  email: Config.string("ANAPLAN_EMAIL"),
  password: Config.redacted("ANAPLAN_PASSWORD"),
  authUrl: optionalString("ANAPLAN_AUTH_URL")
})

/** @internal */
export const certificateConfig: Config.Config<CertificateOptions> = Config.all({
  certificate: Config.string("ANAPLAN_CERTIFICATE").pipe(
    Config.map((path): certificateLogin.PemSource => ({ path })),
    Config.orElse(() => Config.string("ANAPLAN_CERTIFICATE_PEM").pipe(Config.map((pem): certificateLogin.PemSource => ({ pem }))))
  ),
  privateKey: Config.string("ANAPLAN_PRIVATE_KEY").pipe(
    Config.map((path): certificateLogin.PemSource => ({ path })),
    Config.orElse(() => Config.redacted("ANAPLAN_PRIVATE_KEY_PEM").pipe(Config.map((pem): certificateLogin.PemSource => ({ pem }))))
  ),
  passphrase: optionalRedacted("ANAPLAN_PRIVATE_KEY_PASSPHRASE"),
  authUrl: optionalString("ANAPLAN_AUTH_URL")
})

/** @internal */
export const tokenConfig: Config.Config<TokenOptions> = Config.all({
  token: Config.redacted("ANAPLAN_TOKEN")
})

/** @internal */
export const clientConfig: Config.Config<Omit<ApiOptions, "site">> = Config.all({
  apiUrl: optionalString("ANAPLAN_API_URL"),
  allowInsecureHttp: Config.withDefault(Config.boolean("ANAPLAN_ALLOW_INSECURE_HTTP"), false)
})
