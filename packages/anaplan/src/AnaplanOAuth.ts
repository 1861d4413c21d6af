/**
 * Anaplan's OAuth 2 service (`https://us1a.app.anaplan.com`): the authorization code grant for web
 * apps ({@link AnaplanOAuth}), and `TokenSource` layers for local tools (paste the redirect URL:
 * Anaplan cannot register localhost redirects), for programs that own a refresh token, and for the
 * device grant.
 *
 * Endpoints, as Anaplan's public clients use them: `GET {oauthUrl}/auth/prelogin` (the login page),
 * `POST {oauthUrl}/oauth/token` (client id and secret in the body), `POST {oauthUrl}/oauth/device/code`,
 * and `GET {authUrl}/token/validate`. Refresh tokens of rotatable clients can be used once: each
 * refresh returns a new one, which these layers keep. Anaplan answers `token_type: bearer`, but its
 * APIs want the token as `Authorization: AnaplanAuthToken <access_token>`, so issued tokens carry
 * the `AnaplanAuthToken` type. PKCE S256 is sent unless `pkce: false` (harmless where ignored).
 *
 * Persistence is not built in: compose a strategy with `TokenStore.layerPersisted` from
 * `@effect-auth/core/TokenStore`, which saves every rotated refresh token before handing the new
 * access token out:
 *
 * ```ts
 * TokenStore.layerPersisted(AnaplanOAuth.oauthLocal(options), { key: TokenStore.key("anaplan", email) })
 * ```
 *
 * @since 0.1.0
 */
import type * as AuthError from "@effect-auth/core/AuthError"
import type * as AuthStrategy from "@effect-auth/core/AuthStrategy"
import type { LoginAgent } from "@effect-auth/core/LoginAgent"
import type * as Token from "@effect-auth/core/Token"
import * as TokenSource from "@effect-auth/core/TokenSource"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as AnaplanAuth from "./AnaplanAuth.js"
import * as internal from "./internal/anaplanOAuth.js"
import * as regions from "./internal/regions.js"

/**
 * Anaplan's OAuth service host: `https://us1a.app.anaplan.com`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultOAuthUrl: string = internal.defaultOAuthUrl

/**
 * Anaplan's OAuth host of each tenant region (Anaplan's "URL, IP, and allowlist requirements" page):
 * most regions share `https://us1a.app.anaplan.com`.
 *
 * @since 0.1.0
 * @category constants
 */
export const oauthHosts: Readonly<Record<string, string>> = regions.oauthHosts

/**
 * Anaplan's authentication service host, for token validation: `https://auth.anaplan.com`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAuthUrl: string = internal.defaultAuthUrl

/**
 * The scopes asked for by default: `openid profile email offline_access` (the last one brings a
 * refresh token).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultScopes: ReadonlyArray<string> = internal.defaultScopes

/**
 * What every Anaplan OAuth flow needs: the OAuth client (Administration > Security > OAuth
 * Clients), scopes and hosts.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions {
  readonly clientId: string
  /** Authorization code clients have one; device grant clients do not. */
  readonly clientSecret?: Redacted.Redacted<string> | undefined
  /** Default {@link defaultScopes}. */
  readonly scopes?: ReadonlyArray<string> | undefined
  /** The OAuth host; default: the {@link region}'s, else {@link defaultOAuthUrl}. Overrides `region`. */
  readonly oauthUrl?: string | undefined
  /**
   * The tenant's region (`us1`, `eu3`, `au1`, ... see {@link oauthHosts}), mapped to its OAuth host;
   * an unknown region is `InvalidConfiguration` listing the known ones.
   */
  readonly region?: string | undefined
  /** For `validateToken`; default {@link defaultAuthUrl}. */
  readonly authUrl?: string | undefined
  /** The site named in errors, spans and logs. */
  readonly site?: string | undefined
  /** Timeout of each request; `AuthResponse.defaultTimeout` (30 seconds) by default. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Accept plain `http://` for `oauthUrl` and `authUrl` on a host that is not loopback, with a
   * warning (client secrets, codes and tokens then travel in clear); default `false`: refused.
   */
  readonly allowInsecureHttp?: boolean | undefined
}

/**
 * Options of the authorization code flows.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends ClientOptions {
  /** One of the client's allowed callback URLs. */
  readonly redirectUri: string
  /** PKCE S256; default `true`. */
  readonly pkce?: boolean | undefined
}

/**
 * The authorization code grant for web apps: send the person to `authorizationUrl`, keep `state`
 * (and `codeVerifier`) in the session, hand the URL Anaplan redirects back to to `fetchToken`.
 *
 * @since 0.1.0
 * @category tags
 */
export class AnaplanOAuth extends Context.Tag("@effect-auth/anaplan/AnaplanOAuth")<
  AnaplanOAuth,
  AnaplanOAuth.Service
>() {}

/**
 * @since 0.1.0
 */
export declare namespace AnaplanOAuth {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /**
     * The login URL with a fresh `state` (or the one given) and, unless PKCE is off, an S256
     * challenge whose `codeVerifier` must be kept for `fetchToken`.
     */
    readonly authorizationUrl: (
      options?: { readonly state?: string | undefined }
    ) => Effect.Effect<{ readonly url: string; readonly state: string; readonly codeVerifier?: Redacted.Redacted<string> }>
    /**
     * Checks the redirect (`state` first: a mismatch fails before any request; `error=access_denied`
     * is `LoginCancelled`) and exchanges its code for a token.
     */
    readonly fetchToken: (
      redirectUrl: string,
      expected: { readonly state: string; readonly codeVerifier?: Redacted.Redacted<string> | undefined }
    ) => Effect.Effect<Token.Token, AuthError.AuthError>
    /**
     * Spends the refresh token (of a `Token`, or given alone) for a new token carrying the next
     * refresh token: the one spent is dead afterwards, keep the new one.
     */
    readonly refreshToken: (token: Token.Token | Redacted.Redacted<string>) => Effect.Effect<Token.Token, AuthError.AuthError>
    /**
     * `GET {authUrl}/token/validate`: the token's user (email, user and customer GUID) and expiry;
     * an invalid token is `InvalidCredentials`.
     */
    readonly validateToken: (
      token: Token.Token | Redacted.Redacted<string>
    ) => Effect.Effect<AnaplanAuth.TokenValidation, AuthError.AuthError>
  }
}

/**
 * Builds the service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options: Options
) => Effect.Effect<AnaplanOAuth.Service, AuthError.InvalidConfiguration, HttpClient.HttpClient> = (options) => internal.make(options, AnaplanAuth.TokenValidation)

/**
 * The service as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<AnaplanOAuth, AuthError.InvalidConfiguration, HttpClient.HttpClient> =>
  Layer.effect(AnaplanOAuth, make(options))

/**
 * The service from `Config` values, e.g.
 * `{ clientId: Config.string("ANAPLAN_CLIENT_ID"), clientSecret: Config.redacted("ANAPLAN_CLIENT_SECRET"), redirectUri: Config.string("ANAPLAN_REDIRECT_URI") }`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<AnaplanOAuth, AuthError.InvalidConfiguration | ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(AnaplanOAuth, Effect.flatMap(Config.unwrap(config), make))

// -------------------------------------------------------------------------------------------------
// strategies and TokenSource layers
// -------------------------------------------------------------------------------------------------

/**
 * Layer options: a strategy's options and those of the `TokenSource` engine.
 *
 * @since 0.1.0
 * @category models
 */
export type LayerOptions<O> = O & { readonly tokenSource?: TokenSource.MakeOptions | undefined }

/**
 * Options of {@link oauthLocal}.
 *
 * @since 0.1.0
 * @category models
 */
export interface OAuthLocalOptions extends Options {
  /** How long the person has to paste the redirect URL; the agent's default when omitted. */
  readonly loginTimeout?: Duration.DurationInput | undefined
}

/**
 * Options of {@link refreshToken}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RefreshTokenOptions extends ClientOptions {
  /** The refresh token to own; spent by the first refresh when the client rotates them. */
  readonly refreshToken: Redacted.Redacted<string>
}

/**
 * For local tools: the authorization code grant with the person pasting the URL their browser
 * lands on (paste mode of the `LoginAgent`), PKCE S256, refresh with rotation.
 *
 * @since 0.1.0
 * @category strategies
 */
export const oauthLocal: (
  options: OAuthLocalOptions
) => Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient | LoginAgent> =
  internal.oauthLocal

/**
 * Owns a refresh token (non-interactive): each refresh spends the latest refresh token and keeps
 * the one returned. When the token runs out (expired, revoked, reused elsewhere), the failure is
 * `InvalidCredentials`: log in again interactively.
 *
 * @since 0.1.0
 * @category strategies
 */
export const refreshToken: (
  options: RefreshTokenOptions
) => Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient> = internal.refreshToken

/**
 * The device grant: the `LoginAgent` shows the code and the verification URL while the token
 * endpoint is polled (`slow_down`, `authorization_pending`, `expired_token`, `access_denied`).
 *
 * @since 0.1.0
 * @category strategies
 */
export const device: (
  options: ClientOptions
) => Effect.Effect<AuthStrategy.AuthStrategy, AuthError.AuthError, HttpClient.HttpClient | LoginAgent> =
  internal.device

/**
 * A `TokenSource` from {@link oauthLocal}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOAuthLocal = (
  options: LayerOptions<OAuthLocalOptions>
): Layer.Layer<TokenSource.TokenSource, AuthError.AuthError, HttpClient.HttpClient | LoginAgent> =>
  TokenSource.layer(oauthLocal(options), options.tokenSource)

/**
 * A `TokenSource` from {@link refreshToken}; `TokenSource.current` exposes the access token held.
 * Closing the layer does not revoke anything (`revokeOnClose: false` unless set).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRefreshToken = (
  options: LayerOptions<RefreshTokenOptions>
): Layer.Layer<TokenSource.TokenSource, AuthError.AuthError, HttpClient.HttpClient> =>
  TokenSource.layer(refreshToken(options), { revokeOnClose: false, ...options.tokenSource })

/**
 * A `TokenSource` from {@link device}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDevice = (
  options: LayerOptions<ClientOptions>
): Layer.Layer<TokenSource.TokenSource, AuthError.AuthError, HttpClient.HttpClient | LoginAgent> =>
  TokenSource.layer(device(options), options.tokenSource)

/**
 * {@link layerOAuthLocal} from `Config` values.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOAuthLocalConfig = (
  config: Config.Config.Wrap<OAuthLocalOptions>,
  options?: { readonly tokenSource?: TokenSource.MakeOptions | undefined }
): Layer.Layer<TokenSource.TokenSource, AuthError.AuthError | ConfigError.ConfigError, HttpClient.HttpClient | LoginAgent> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), (o) => layerOAuthLocal({ ...o, ...options })))

/**
 * {@link layerRefreshToken} from `Config` values, e.g.
 * `{ clientId: Config.string("ANAPLAN_CLIENT_ID"), refreshToken: Config.redacted("ANAPLAN_REFRESH_TOKEN") }`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRefreshTokenConfig = (
  config: Config.Config.Wrap<RefreshTokenOptions>,
  options?: { readonly tokenSource?: TokenSource.MakeOptions | undefined }
): Layer.Layer<TokenSource.TokenSource, AuthError.AuthError | ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), (o) => layerRefreshToken({ ...o, ...options })))

/**
 * {@link layerDevice} from `Config` values.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDeviceConfig = (
  config: Config.Config.Wrap<ClientOptions>,
  options?: { readonly tokenSource?: TokenSource.MakeOptions | undefined }
): Layer.Layer<TokenSource.TokenSource, AuthError.AuthError | ConfigError.ConfigError, HttpClient.HttpClient | LoginAgent> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), (o) => layerDevice({ ...o, ...options })))
