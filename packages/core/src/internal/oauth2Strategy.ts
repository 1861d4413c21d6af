/** @internal */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as AuthError from "../AuthError.js"
import * as AuthResponse from "../AuthResponse.js"
import * as AuthStrategy from "../AuthStrategy.js"
import { LoginAgent } from "../LoginAgent.js"
import type * as Token from "../Token.js"
import type { Redirect } from "./loginAgent.js"
import * as oauth2 from "./oauth2.js"
import type { BodyEncoding, ClientAuth } from "./oauth2ClientAuth.js"
import * as deviceFlow from "./oauth2Device.js"
import * as discovery from "./oauth2Discovery.js"
import * as token from "./oauth2Token.js"

/** @internal */
export interface ProviderOptions extends discovery.RequestContext {
  /** The strategy's name for spans and logs; default per flow (`oauth2-authorization-code`, ...). */
  readonly name?: string | undefined
  /** Discover the endpoints from this issuer (RFC 8414 / OIDC Discovery). */
  readonly issuer?: string | undefined
  /** Which discovery document; default OIDC, then RFC 8414 on 404. */
  readonly discovery?: discovery.DiscoveryKind | undefined
  /** Explicit endpoints; they override discovered ones. Without `issuer`, `tokenEndpoint` is required. */
  readonly endpoints?: Partial<discovery.ServerMetadata> | undefined
  readonly client: ClientAuth
  readonly scopes?: ReadonlyArray<string> | undefined
  /** Accepted `token_type`s (case-insensitive); default `["Bearer"]`. */
  readonly acceptTokenTypes?: ReadonlyArray<string> | undefined
  /** The header scheme of issued tokens when it differs from `token_type` (Anaplan: `AnaplanAuthToken`). */
  readonly tokenType?: string | undefined
}

/** @internal */
export interface AuthorizationCodeOptions extends ProviderOptions {
  /** Default: a loopback redirect on an ephemeral port. */
  readonly redirect?: Redirect | undefined
  /** PKCE S256 (RFC 7636); default `true`. */
  readonly pkce?: boolean | undefined
  /** Extra authorization request parameters (`prompt`, `audience`, ...). */
  readonly extraParams?: Readonly<Record<string, string>> | undefined
  /** Send a `nonce` (OIDC Core section 3.1.2.1); default: when the scopes include `openid`. */
  readonly nonce?: boolean | undefined
  /** How long the person has; the agent's default when omitted. */
  readonly loginTimeout?: import("effect/Duration").DurationInput | undefined
}

/** @internal */
export interface DeviceCodeOptions extends ProviderOptions {
  readonly extraParams?: Readonly<Record<string, string>> | undefined
  /** The body encoding of the device authorization request; default `form` (RFC 8628 section 3.1). */
  readonly deviceRequestBody?: BodyEncoding | undefined
}

/** @internal */
export interface RefreshTokenOptions extends ProviderOptions {
  /** The refresh token to own; with rotation it is spent on the first refresh. */
  readonly refreshToken: string | Redacted.Redacted<string>
}

/** @internal */
export interface ClientCredentialsOptions extends ProviderOptions {
  readonly extraParams?: Readonly<Record<string, string>> | undefined
}

/**
 * The endpoints: discovered from `issuer` when given, overridden by explicit `endpoints`.
 *
 * @internal
 */
export const resolveMetadata = (
  options: ProviderOptions
): Effect.Effect<discovery.ServerMetadata, AuthError.AuthError, HttpClient.HttpClient> => {
  const explicit = Object.fromEntries(
    Object.entries(options.endpoints ?? {}).filter(([, value]) => value !== undefined)
  ) as Partial<discovery.ServerMetadata>
  const checked = discovery.checkMetadata(explicit, options, "configured")
  if (options.issuer !== undefined) {
    const issuer = options.issuer
    return Effect.zipRight(
      checked,
      Effect.map(
        discovery.discover(issuer, {
          site: options.site,
          timeout: options.timeout,
          kind: options.discovery,
          allowInsecureHttp: options.allowInsecureHttp
        }),
        (discovered) => ({ ...discovered, ...explicit })
      )
    )
  }
  if (explicit.tokenEndpoint === undefined) {
    return Effect.fail(
      new AuthError.InvalidConfiguration({
        site: options.site,
        detail: "OAuth 2: neither an issuer nor a token endpoint is configured"
      })
    )
  }
  const tokenEndpoint = explicit.tokenEndpoint
  return Effect.as(checked, { ...explicit, tokenEndpoint })
}

const tokenOptions = (options: ProviderOptions, metadata: discovery.ServerMetadata): token.TokenResponseOptions => ({
  site: options.site,
  timeout: options.timeout,
  acceptTokenTypes: options.acceptTokenTypes,
  tokenType: options.tokenType,
  requestedScopes: options.scopes,
  idToken: { clientId: options.client.clientId, issuer: metadata.issuer }
})

/** @internal */
export const refresh = (
  client: HttpClient.HttpClient,
  options: ProviderOptions,
  metadata: discovery.ServerMetadata,
  refreshToken: Redacted.Redacted<string>,
  scopes?: ReadonlyArray<string>
): Effect.Effect<Token.Token, AuthError.AuthError> =>
  token.tokenCall(
    client,
    oauth2.refreshTokenGrantRequest(metadata.tokenEndpoint, options.client, { refreshToken }),
    {
      ...tokenOptions(options, metadata),
      operation: "token refresh",
      requestedScopes: scopes ?? options.scopes,
      previousRefreshToken: refreshToken
    }
  )

/**
 * Revokes the refresh token (which, per RFC 7009 section 2.1, should end the access tokens of the
 * same grant) and then the access token.
 *
 * @internal
 */
export const revoke = (
  client: HttpClient.HttpClient,
  options: ProviderOptions,
  endpoint: string,
  token: Token.Token
): Effect.Effect<void, AuthError.AuthError> => {
  const send = (value: Redacted.Redacted<string>, hint: "access_token" | "refresh_token") =>
    Effect.flatMap(
      AuthResponse.execute(
        client,
        oauth2.revocationRequest(endpoint, options.client, { token: value, tokenTypeHint: hint }),
        { site: options.site, operation: "token revocation", timeout: options.timeout }
      ),
      (response) => oauth2.processRevocationResponse(response, options)
    )
  return Effect.zipRight(
    Option.match(token.refreshToken, { onNone: () => Effect.void, onSome: (rt) => send(rt, "refresh_token") }),
    send(token.accessToken, "access_token")
  )
}

const refreshHeld = (
  client: HttpClient.HttpClient,
  options: ProviderOptions,
  metadata: discovery.ServerMetadata
) =>
(token: Token.Token): Effect.Effect<Token.Token, AuthError.AuthError> =>
  Option.match(token.refreshToken, {
    onNone: () =>
      Effect.fail(
        new AuthError.TokenExpired({ site: options.site, detail: "No refresh token was issued with this token" })
      ),
    onSome: (rt) => refresh(client, options, metadata, rt, token.scopes.length > 0 ? token.scopes : undefined)
  })

const revokeWith = (client: HttpClient.HttpClient, options: ProviderOptions, metadata: discovery.ServerMetadata) =>
  metadata.revocationEndpoint === undefined
    ? undefined
    : (token: Token.Token) => revoke(client, options, metadata.revocationEndpoint!, token)

const missing = (options: ProviderOptions, what: string) =>
  new AuthError.InvalidConfiguration({
    site: options.site,
    detail: `OAuth 2: the provider has no ${what}`,
    hint: "Configure the endpoint explicitly or check the issuer."
  })

/** @internal */
export const authorizationCode = (
  options: AuthorizationCodeOptions
): Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient | LoginAgent> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const agent = yield* LoginAgent
    const metadata = yield* resolveMetadata(options)
    const authorizationEndpoint = metadata.authorizationEndpoint
    if (authorizationEndpoint === undefined) return yield* Effect.fail(missing(options, "authorization endpoint"))
    const acquire = Effect.gen(function*() {
      const pending = yield* Ref.make<oauth2.AuthorizationRequest | undefined>(undefined)
      const result = yield* agent.authorize({
        redirect: options.redirect ?? { _tag: "Loopback" },
        issuer: metadata.issuer,
        site: options.site,
        timeout: options.loginTimeout,
        start: (redirectUri) =>
          oauth2.authorizationRequest({
            authorizationEndpoint,
            clientId: options.client.clientId,
            redirectUri,
            scopes: options.scopes,
            pkce: options.pkce,
            nonce: options.nonce,
            extraParams: options.extraParams
          }).pipe(Effect.tap((request) => Ref.set(pending, request)))
      })
      const request = (yield* Ref.get(pending))!
      const base = tokenOptions(options, metadata)
      return yield* token.tokenCall(
        client,
        oauth2.authorizationCodeGrantRequest(metadata.tokenEndpoint, options.client, {
          code: result.code,
          redirectUri: result.redirectUri,
          codeVerifier: request.codeVerifier
        }),
        {
          ...base,
          operation: "authorization code exchange",
          idToken: { clientId: options.client.clientId, issuer: metadata.issuer, nonce: request.nonce }
        }
      )
    })
    return AuthStrategy.make({
      name: options.name ?? "oauth2-authorization-code",
      site: options.site,
      acquire,
      interactive: true,
      refresh: refreshHeld(client, options, metadata),
      revoke: revokeWith(client, options, metadata)
    })
  })

/** @internal */
export const deviceCode = (
  options: DeviceCodeOptions
): Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient | LoginAgent> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const agent = yield* LoginAgent
    const metadata = yield* resolveMetadata(options)
    const endpoint = metadata.deviceAuthorizationEndpoint
    if (endpoint === undefined) return yield* Effect.fail(missing(options, "device authorization endpoint"))
    const acquire = Effect.gen(function*() {
      const response = yield* AuthResponse.execute(
        client,
        deviceFlow.deviceAuthorizationRequest(endpoint, options.client, {
          scopes: options.scopes,
          extraParams: options.extraParams,
          body: options.deviceRequestBody
        }),
        { site: options.site, operation: "device authorization", timeout: options.timeout }
      )
      const device = yield* deviceFlow.processDeviceAuthorizationResponse(response, options)
      return yield* agent.device(
        {
          userCode: device.userCode,
          verificationUri: device.verificationUri,
          verificationUriComplete: device.verificationUriComplete,
          expiresIn: device.expiresIn,
          site: options.site
        },
        deviceFlow.pollDeviceToken(client, metadata.tokenEndpoint, options.client, device, tokenOptions(options, metadata))
      )
    })
    return AuthStrategy.make({
      name: options.name ?? "oauth2-device-code",
      site: options.site,
      acquire,
      interactive: true,
      refresh: refreshHeld(client, options, metadata),
      revoke: revokeWith(client, options, metadata)
    })
  })

/** @internal */
export const refreshToken = (
  options: RefreshTokenOptions
): Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const metadata = yield* resolveMetadata(options)
    const initial = Redacted.isRedacted(options.refreshToken)
      ? options.refreshToken
      : Redacted.make(options.refreshToken)
    // The latest refresh token known: the one given, then each rotated one.
    const latest = yield* Ref.make(initial)
    const spend = (rt: Redacted.Redacted<string>, scopes?: ReadonlyArray<string>) =>
      refresh(client, options, metadata, rt, scopes).pipe(
        Effect.tap((token) => Ref.set(latest, Option.getOrElse(token.refreshToken, () => rt)))
      )
    return AuthStrategy.make({
      name: options.name ?? "oauth2-refresh-token",
      site: options.site,
      acquire: Effect.flatMap(Ref.get(latest), (rt) => spend(rt)),
      interactive: false,
      refresh: (token) =>
        Effect.flatMap(
          Ref.get(latest),
          (held) => spend(Option.getOrElse(token.refreshToken, () => held), token.scopes.length > 0 ? token.scopes : undefined)
        ),
      revoke: revokeWith(client, options, metadata)
    })
  })

/** @internal */
export const clientCredentials = (
  options: ClientCredentialsOptions
): Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const metadata = yield* resolveMetadata(options)
    return AuthStrategy.make({
      name: options.name ?? "oauth2-client-credentials",
      site: options.site,
      acquire: token.tokenCall(
        client,
        oauth2.clientCredentialsGrantRequest(metadata.tokenEndpoint, options.client, {
          scopes: options.scopes,
          extraParams: options.extraParams
        }),
        { ...tokenOptions(options, metadata), operation: "client credentials grant" }
      ),
      interactive: false,
      revoke: revokeWith(client, options, metadata)
    })
  })
