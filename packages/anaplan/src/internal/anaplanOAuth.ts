/** @internal */
import * as AuthError from "@effect-auth/core/AuthError"
import * as AuthResponse from "@effect-auth/core/AuthResponse"
import type * as AuthStrategy from "@effect-auth/core/AuthStrategy"
import * as LoginAgent from "@effect-auth/core/LoginAgent"
import * as OAuth2 from "@effect-auth/core/OAuth2"
import * as OAuth2Auth from "@effect-auth/core/OAuth2Auth"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { AnaplanOAuth, ClientOptions, Options, TokenInfo } from "../AnaplanOAuth.js"

/** @internal */
export const defaultOAuthUrl = "https://us1a.app.anaplan.com"

/** @internal */
export const defaultAuthUrl = "https://auth.anaplan.com"

/** @internal */
export const defaultScopes: ReadonlyArray<string> = ["openid", "profile", "email", "offline_access"]

const base = (url: string) => url.replace(/\/+$/, "")

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

const checkUrl = (options: ClientOptions, name: string, url: string | undefined) => {
  if (url === undefined) return Effect.void
  try {
    const parsed = new URL(url)
    if (parsed.protocol === "https:" || parsed.protocol === "http:") return Effect.void
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

const checkOptions = (options: ClientOptions & { readonly redirectUri?: string | undefined }) =>
  Effect.all([
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
  endpoints: { issuer: undefined, ...endpointsOf(options.oauthUrl ?? defaultOAuthUrl) },
  client: clientAuth(options),
  scopes: options.scopes ?? defaultScopes,
  acceptTokenTypes: ["Bearer"],
  tokenType: "AnaplanAuthToken"
})

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
      loginTimeout: options.loginTimeout
    })
  )

/** @internal */
export const refreshToken = (
  options: ClientOptions & { readonly refreshToken: Redacted.Redacted<string> }
): Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient> =>
  Effect.zipRight(
    checkOptions(options),
    OAuth2Auth.refreshToken({ ...providerOptions(options, "anaplan-refresh-token"), refreshToken: options.refreshToken })
  )

/** @internal */
export const device = (
  options: ClientOptions
): Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient | LoginAgent.LoginAgent> =>
  Effect.zipRight(checkOptions(options), OAuth2Auth.deviceCode(providerOptions(options, "anaplan-device")))

const ValidateBody = Schema.Struct({
  userId: Schema.optionalWith(Schema.String, { nullable: true }),
  userGuid: Schema.optionalWith(Schema.String, { nullable: true }),
  email: Schema.optionalWith(Schema.String, { nullable: true }),
  customerGuid: Schema.optionalWith(Schema.String, { nullable: true }),
  tokenId: Schema.optionalWith(Schema.String, { nullable: true }),
  expiresAt: Schema.optionalWith(Schema.Number, { nullable: true })
})

/** @internal */
export type Service = AnaplanOAuth.Service

/** @internal */
export const make = (options: Options): Effect.Effect<Service, AuthError.InvalidConfiguration, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    yield* checkOptions(options)
    const client = yield* HttpClient.HttpClient
    const endpoints = endpointsOf(options.oauthUrl ?? defaultOAuthUrl)
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
            ? AuthResponse.json(response, ValidateBody, context)
            : AuthResponse.statusError(response, {
              ...context,
              rejected: () =>
                new AuthError.InvalidCredentials({
                  site,
                  detail: "Anaplan token validation: the token is not valid (expired, revoked or unknown)",
                  hint: "Refresh the token or log in again."
                })
            })
        ),
        Effect.map((body): TokenInfo => ({
          userId: body.userId ?? body.userGuid,
          email: body.email,
          customerGuid: body.customerGuid,
          tokenId: body.tokenId,
          expiresAt: body.expiresAt === undefined ? Option.none() : DateTime.make(body.expiresAt)
        }))
      )
    }

    return { authorizationUrl, fetchToken, refreshToken: refresh, validateToken }
  })
