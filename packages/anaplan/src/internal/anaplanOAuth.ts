/** @internal */
import * as AuthError from "@effect-auth/core/AuthError"
import * as AuthResponse from "@effect-auth/core/AuthResponse"
import * as AuthStrategy from "@effect-auth/core/AuthStrategy"
import * as LoginAgent from "@effect-auth/core/LoginAgent"
import * as OAuth2 from "@effect-auth/core/OAuth2"
import * as OAuth2Auth from "@effect-auth/core/OAuth2Auth"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { TokenValidation } from "../AnaplanAuth.js"
import type { AnaplanOAuth, ClientOptions, Options } from "../AnaplanOAuth.js"
import * as anaplanAuth from "./anaplanAuth.js"
import * as regions from "./regions.js"

/** @internal */
export const defaultOAuthUrl = "https://us1a.app.anaplan.com"

/** @internal */
export const defaultAuthUrl = "https://auth.anaplan.com"

/** @internal */
export const defaultScopes: ReadonlyArray<string> = ["openid", "profile", "email", "offline_access"]

const base = (url: string) => url.replace(/\/+$/, "")

/** The OAuth host: `oauthUrl` when set, else the `region`'s host, else {@link defaultOAuthUrl}. */
const oauthUrlOf = (options: ClientOptions): string =>
  options.oauthUrl ?? (options.region === undefined ? undefined : regions.oauthHostOf(options.region)) ?? defaultOAuthUrl

/** Anaplan's OAuth endpoints under `oauthUrl`. */
const endpointsOf = (oauthUrl: string) => ({
  authorizationEndpoint: `${base(oauthUrl)}/auth/prelogin`,
  tokenEndpoint: `${base(oauthUrl)}/oauth/token`,
  deviceAuthorizationEndpoint: `${base(oauthUrl)}/oauth/device/code`
})

/** Anaplan sends the client secret in the body (`client_secret_post`); device clients have none. */
const clientAuth = (options: ClientOptions): OAuth2.ClientAuth =>
  options.clientSecret === undefined
    ? OAuth2.none(options.clientId)
    : OAuth2.secretPost(options.clientId, options.clientSecret)

/** The site field and the option of each checked URL, as errors name them. */
const fieldNames: Readonly<Record<string, string>> = {
  oauthUrl: "oauth_url (oauthUrl)",
  authUrl: "auth_url (authUrl)"
}

const checkUrl = (options: ClientOptions, name: string, url: string | undefined) => {
  if (url === undefined) return Effect.void
  try {
    const parsed = new URL(url)
    if (parsed.protocol === "https:" || parsed.protocol === "http:") {
      // The service's own endpoints carry client secrets, codes and tokens: TLS unless loopback
      // or allowInsecureHttp. The redirect URI is the client's page (its own rules apply).
      return name === "redirectUri" ? Effect.void : OAuth2.checkEndpoint(fieldNames[name] ?? name, url, {
        site: options.site,
        allowInsecureHttp: options.allowInsecureHttp,
        service: "Anaplan OAuth"
      })
    }
  } catch {
    // reported below
  }
  return Effect.fail(
    new AuthError.InvalidConfiguration({
      site: options.site,
      detail: `Anaplan OAuth: ${name} is not an http(s) URL`,
      hint: name === "redirectUri"
        ? "Set redirectUri to one of the client's allowed callback URLs."
        : `Set ${name} to a URL such as ${name === "authUrl" ? defaultAuthUrl : defaultOAuthUrl}.`
    })
  )
}

const checkRegion = (options: ClientOptions) =>
  options.region === undefined || regions.oauthHostOf(options.region) !== undefined
    ? Effect.void
    : Effect.fail(
      new AuthError.InvalidConfiguration({
        site: options.site,
        detail: `Anaplan OAuth: unknown region ${JSON.stringify(options.region)}`,
        hint: `Use one of ${regions.knownRegions.join(", ")}, or set the OAuth host URL (oauthUrl) directly.`
      })
    )

const checkOptions = (options: ClientOptions & { readonly redirectUri?: string | undefined }) =>
  Effect.all([
    checkRegion(options),
    checkUrl(options, "oauthUrl", options.oauthUrl),
    checkUrl(options, "authUrl", options.authUrl),
    checkUrl(options, "redirectUri", options.redirectUri)
  ], { discard: true }).pipe(
    Effect.zipRight(
      options.clientId.length === 0
        ? Effect.fail(
          new AuthError.InvalidConfiguration({
            site: options.site,
            detail: "Anaplan OAuth: the client id is empty",
            hint: "Copy the client id from Administration > Security > OAuth Clients."
          })
        )
        : Effect.void
    )
  )

/**
 * The provider options of the core OAuth 2 flows for Anaplan: its endpoints, `client_secret_post`,
 * `token_type` `bearer` accepted but tokens presented as `AnaplanAuthToken`.
 *
 * @internal
 */
export const providerOptions = (options: ClientOptions, name: string): OAuth2Auth.ProviderOptions => ({
  name,
  site: options.site,
  timeout: options.timeout,
  endpoints: { issuer: undefined, ...endpointsOf(oauthUrlOf(options)) },
  client: clientAuth(options),
  scopes: options.scopes ?? defaultScopes,
  acceptTokenTypes: ["Bearer"],
  tokenType: "AnaplanAuthToken",
  allowInsecureHttp: options.allowInsecureHttp
})

/**
 * A spent or expired refresh token (`invalid_grant` on refresh) cannot be fixed by retrying: Anaplan's
 * rotating refresh tokens expire (43,000 seconds by default, an administrator sets it), and a spent
 * one is dead. It is `TokenExpired`, saying so and how to log in again.
 */
const refreshTokenExpired = (site: string | undefined) => (error: AuthError.AuthError): AuthError.AuthError =>
  error._tag === "InvalidCredentials" && error.detail.includes("(invalid_grant)")
    ? new AuthError.TokenExpired({
      site,
      detail: "Anaplan OAuth: the refresh token expired or was already used (invalid_grant); rotating refresh " +
        "tokens expire a fixed time after the login, however often they are used",
      hint: `Log in again (CLI: effect-auth login --at ${site ?? "SITE"}).`
    })
    : error

/** The strategy with {@link refreshTokenExpired} on its refreshes (and its acquire, when that spends a refresh token). */
const withRefreshTokenExpiry = (strategy: AuthStrategy.AuthStrategy, acquireSpends: boolean): AuthStrategy.AuthStrategy => {
  const expired = refreshTokenExpired(strategy.site)
  return AuthStrategy.make({
    name: strategy.name,
    site: strategy.site,
    interactive: strategy.interactive,
    acquire: acquireSpends ? Effect.mapError(strategy.acquire, expired) : strategy.acquire,
    refresh: Option.getOrUndefined(Option.map(strategy.refresh, (refresh) => (token) => Effect.mapError(refresh(token), expired))),
    revoke: Option.getOrUndefined(strategy.revoke)
  })
}

/** @internal */
export const oauthLocal = (
  options: Options & { readonly loginTimeout?: Duration.DurationInput | undefined }
): Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient | LoginAgent.LoginAgent> =>
  Effect.zipRight(
    checkOptions(options),
    OAuth2Auth.authorizationCode({
      ...providerOptions(options, "anaplan-oauth-local"),
      redirect: LoginAgent.paste(options.redirectUri),
      pkce: options.pkce,
      // No source says Anaplan echoes a nonce in its ID token, and anaplan-sdk sends none.
      nonce: false,
      loginTimeout: options.loginTimeout
    }).pipe(Effect.map((strategy) => withRefreshTokenExpiry(strategy, false)))
  )

/** @internal */
export const refreshToken = (
  options: ClientOptions & { readonly refreshToken: Redacted.Redacted<string> }
): Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient> =>
  Effect.zipRight(
    checkOptions(options),
    OAuth2Auth.refreshToken({ ...providerOptions(options, "anaplan-refresh-token"), refreshToken: options.refreshToken }).pipe(
      Effect.map((strategy) => withRefreshTokenExpiry(strategy, true))
    )
  )

/** @internal */
export const device = (
  options: ClientOptions
): Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient | LoginAgent.LoginAgent> =>
  Effect.zipRight(
    checkOptions(options),
    // Every public Anaplan client sends the device authorization request as JSON.
    OAuth2Auth.deviceCode({ ...providerOptions(options, "anaplan-device"), deviceRequestBody: "json" }).pipe(
      Effect.map((strategy) => withRefreshTokenExpiry(strategy, false))
    )
  )

/** @internal */
export type Service = AnaplanOAuth.Service

/** @internal */
export const make = (
  options: Options,
  Validation: typeof TokenValidation
): Effect.Effect<Service, AuthError.InvalidConfiguration, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    yield* checkOptions(options)
    const client = yield* HttpClient.HttpClient
    const endpoints = endpointsOf(oauthUrlOf(options))
    const validationUrl = `${base(options.authUrl ?? defaultAuthUrl)}/token/validate`
    const auth = clientAuth(options)
    const scopes = options.scopes ?? defaultScopes
    const site = options.site

    const tokenOptions = (
      operation: string,
      extra?: { readonly previousRefreshToken?: Redacted.Redacted<string>; readonly requestedScopes?: ReadonlyArray<string> }
    ): OAuth2.TokenResponseOptions => ({
      site,
      timeout: options.timeout,
      operation,
      acceptTokenTypes: ["Bearer"],
      tokenType: "AnaplanAuthToken",
      requestedScopes: extra?.requestedScopes ?? scopes,
      previousRefreshToken: extra?.previousRefreshToken,
      idToken: { clientId: options.clientId }
    })

    const tokenCall = (request: HttpClientRequest.HttpClientRequest, tokenOptions: OAuth2.TokenResponseOptions) =>
      Effect.flatMap(
        AuthResponse.execute(client, request, {
          site,
          operation: tokenOptions.operation ?? "token request",
          timeout: options.timeout
        }),
        (response) => OAuth2.processTokenResponse(response, tokenOptions)
      )

    const authorizationUrl: Service["authorizationUrl"] = (o) =>
      Effect.map(
        OAuth2.authorizationRequest({
          authorizationEndpoint: endpoints.authorizationEndpoint,
          clientId: options.clientId,
          redirectUri: options.redirectUri,
          scopes,
          pkce: options.pkce,
          // The web app keeps only state and verifier between the two requests.
          nonce: false
        }),
        (request) => {
          const state = o?.state ?? request.state
          request.url.searchParams.set("state", state)
          return request.codeVerifier === undefined
            ? { url: request.url.href, state }
            : { url: request.url.href, state, codeVerifier: request.codeVerifier }
        }
      )

    const fetchToken: Service["fetchToken"] = (redirectUrl, expected) =>
      Effect.gen(function*() {
        const params = OAuth2.redirectParams(redirectUrl)
        if (params === undefined) {
          return yield* Effect.fail(
            new AuthError.MalformedResponse({
              site,
              detail: "Anaplan OAuth: the redirect URL carries no parameters",
              hint: "Pass the full URL Anaplan redirected the browser to, query string included."
            })
          )
        }
        const response = yield* Either.match(OAuth2.validateAuthorizationResponse(params, { state: expected.state, site }), {
          onLeft: (error) => Effect.fail(error),
          onRight: (response) => Effect.succeed(response)
        })
        return yield* tokenCall(
          OAuth2.authorizationCodeGrantRequest(endpoints.tokenEndpoint, auth, {
            code: response.code,
            redirectUri: options.redirectUri,
            codeVerifier: expected.codeVerifier
          }),
          tokenOptions("authorization code exchange")
        )
      })

    const refresh: Service["refreshToken"] = (token) => {
      const held = Redacted.isRedacted(token) ? Option.some(token) : token.refreshToken
      if (Option.isNone(held)) {
        return Effect.fail(
          new AuthError.TokenExpired({
            site,
            detail: "Anaplan OAuth: this token came without a refresh token",
            hint: "Ask for the offline_access scope, then log in again."
          })
        )
      }
      const tokenScopes = Redacted.isRedacted(token) || token.scopes.length === 0 ? scopes : token.scopes
      return tokenCall(
        OAuth2.refreshTokenGrantRequest(endpoints.tokenEndpoint, auth, { refreshToken: held.value }),
        tokenOptions("token refresh", { previousRefreshToken: held.value, requestedScopes: tokenScopes })
      )
    }

    const validateToken: Service["validateToken"] = (token) => {
      const accessToken = Redacted.isRedacted(token) ? token : token.accessToken
      const context = { site, operation: "Anaplan token validation" }
      const request = HttpClientRequest.get(validationUrl).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.setHeader("authorization", `AnaplanAuthToken ${Redacted.value(accessToken)}`)
      )
      return AuthResponse.execute(client, request, { ...context, timeout: options.timeout }).pipe(
        Effect.flatMap((response) =>
          response.status === 200
            ? anaplanAuth.readValidation(response, context, Validation)
            : AuthResponse.statusError(response, {
              ...context,
              rejected: () =>
                new AuthError.InvalidCredentials({
                  site,
                  detail: "Anaplan token validation: the token is not valid (expired, revoked or unknown)",
                  hint: "Refresh the token or log in again."
                })
            })
        )
      )
    }

    return { authorizationUrl, fetchToken, refreshToken: refresh, validateToken }
  })
