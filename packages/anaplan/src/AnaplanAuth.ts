/**
 * Anaplan's authentication service (`https://auth.anaplan.com`) as `TokenSource` layers: basic
 * (email and password), CA certificate, and a static token; plus the single calls `refresh`,
 * `logout` and `validate`.
 *
 * Every layer refreshes tokens ahead of their ~35-minute expiry through `POST /token/refresh`
 * (basic and certificate log in again when the refresh is rejected) and logs the token out
 * (`POST /token/logout`) when its scope closes, unless `tokenSource.revokeOnClose` is `false`.
 * Spans (`AnaplanAuth.authenticate`, `.refresh`, `.logout`, `.validate`) carry the method and
 * the site only; no secret ever reaches a span, a log or an error message.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as AuthError from "@effect-auth/core/AuthError"
import type * as AuthStrategy from "@effect-auth/core/AuthStrategy"
import type * as Token from "@effect-auth/core/Token"
import * as TokenSource from "@effect-auth/core/TokenSource"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as internal from "./internal/anaplanAuth.js"

/**
 * Anaplan's public authentication service.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAuthUrl = internal.defaultAuthUrl

/**
 * Anaplan's public integration API.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultApiUrl = internal.defaultApiUrl

/**
 * The `Authorization` scheme of Anaplan tokens: `AnaplanAuthToken <tokenValue>`.
 *
 * @since 0.1.0
 * @category constants
 */
export const tokenType = internal.tokenType

/**
 * Options every login method shares.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommonOptions {
  /** The authentication service; default {@link defaultAuthUrl} (set it for regional and test deployments). */
  readonly authUrl?: string | undefined
  /** A label for errors, spans and logs; default `"anaplan"`. */
  readonly site?: string | undefined
  /**
   * Accept a plain `http://` `authUrl` on a host that is not loopback, with a warning (passwords
   * and tokens then travel in clear); default `false`: refused with `InvalidConfiguration`.
   */
  readonly allowInsecureHttp?: boolean | undefined
  /** Refresh policy and `revokeOnClose` (default `true`: log out when the layer's scope closes). */
  readonly tokenSource?: TokenSource.MakeOptions | undefined
}

/**
 * Basic authentication: an Anaplan user's email and password.
 *
 * @since 0.1.0
 * @category models
 */
export interface BasicOptions extends CommonOptions {
  readonly email: string
  readonly password: Redacted.Redacted<string>
}

/**
 * A PEM file given by its path, or its content.
 *
 * @since 0.1.0
 * @category models
 */
export type PemSource = { readonly path: string } | { readonly pem: string | Redacted.Redacted<string> }

/**
 * CA certificate authentication: a certificate issued by a CA that Anaplan trusts and registered
 * for the user, and its RSA private key, optionally encrypted with `passphrase`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CertificateOptions extends CommonOptions {
  readonly certificate: PemSource
  readonly privateKey: PemSource
  readonly passphrase?: Redacted.Redacted<string> | undefined
  /**
   * `"v2"` (default) prefixes the signed random data with an 8-byte timestamp and sends
   * `encodedDataFormat: "v2"`, as Anaplan now asks; `"v1"` sends the random data alone.
   */
  readonly encodedDataFormat?: "v1" | "v2" | undefined
}

/**
 * A token obtained elsewhere (a web app's per-request token).
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenOptions {
  readonly token: Redacted.Redacted<string>
  readonly site?: string | undefined
}

/**
 * Options of the single calls {@link refresh}, {@link logout} and {@link validate}.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  /** Default {@link defaultAuthUrl}. */
  readonly authUrl?: string | undefined
  /** Default `"anaplan"`. */
  readonly site?: string | undefined
  /** As {@link CommonOptions.allowInsecureHttp}: a plain `http://` `authUrl` elsewhere than loopback is refused unless set. */
  readonly allowInsecureHttp?: boolean | undefined
}

/**
 * What `GET /token/validate` reports about a token, from Anaplan's nested answer
 * `{"tokenInfo": {"expiresAt", "tokenId", ...}, "userInfo": {"userGuid", "userId", "customerGuid"}}`
 * (`userInfo.userId` is the user's email). Only the email is required; the rest is read when present.
 *
 * @since 0.1.0
 * @category models
 */
export class TokenValidation extends Schema.Class<TokenValidation>("@effect-auth/anaplan/TokenValidation")({
  /** The user's email (Anaplan's `userInfo.userId`). */
  email: Schema.String,
  /** The user's id, 32 hex digits (`userInfo.userGuid`), as `users/me` reports it in `id`. */
  userGuid: Schema.optional(Schema.String),
  /** The tenant's id (`userInfo.customerGuid`). */
  customerGuid: Schema.optional(Schema.String),
  /** `tokenInfo.tokenId`. */
  tokenId: Schema.optional(Schema.String),
  /** The token's expiry (`tokenInfo.expiresAt`, epoch milliseconds on the wire). */
  expiresAt: Schema.optional(Schema.DateTimeUtcFromSelf)
}) {}

/**
 * Decodes Anaplan's login and refresh answer
 * (`{"status","statusMessage","tokenInfo":{"expiresAt","tokenId","tokenValue","refreshTokenId"}}`,
 * unknown fields ignored) into a {@link Token.Token} of type `AnaplanAuthToken`, issued now by the
 * `Clock`, expiring at `tokenInfo.expiresAt` (epoch milliseconds). Anything else is
 * `MalformedResponse`, naming the field but never echoing a value.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeTokenResponse: (
  body: unknown,
  options?: { readonly site?: string | undefined; readonly operation?: string | undefined; readonly status?: number | undefined }
) => Effect.Effect<Token.Token, AuthError.MalformedResponse> = internal.decodeTokenResponse

/**
 * The basic strategy: `POST {authUrl}/token/authenticate` with `Authorization: Basic`. A `401` is
 * `InvalidCredentials`, whose message says the password may have expired.
 *
 * @since 0.1.0
 * @category strategies
 */
export const basic: (options: BasicOptions) => Effect.Effect<AuthStrategy.AuthStrategy, never, HttpClient.HttpClient> =
  internal.basic

/**
 * The certificate strategy. The certificate and key are read and checked here, before any network
 * call: a missing or unreadable file, a non-PEM file, a missing or wrong passphrase, a non-RSA key,
 * a key that does not match the certificate, or a certificate outside its validity (by the
 * `Clock`) each fail with `InvalidConfiguration` naming the file and the problem. Each login then
 * signs fresh random data (RSA PKCS#1 v1.5, SHA-512).
 *
 * @since 0.1.0
 * @category strategies
 */
export const certificate: (
  options: CertificateOptions
) => Effect.Effect<AuthStrategy.AuthStrategy, AuthError.InvalidConfiguration, HttpClient.HttpClient> =
  internal.certificate

/**
 * A `TokenSource` from {@link basic}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBasic = (options: BasicOptions): Layer.Layer<TokenSource.TokenSource, never, HttpClient.HttpClient> =>
  TokenSource.layer(internal.basic(options), options.tokenSource)

/**
 * A `TokenSource` from {@link certificate}; fails to build with `InvalidConfiguration` when the
 * certificate or key is unusable.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerCertificate = (
  options: CertificateOptions
): Layer.Layer<TokenSource.TokenSource, AuthError.InvalidConfiguration, HttpClient.HttpClient> =>
  TokenSource.layer(internal.certificate(options), options.tokenSource)

/**
 * A `TokenSource` that always hands out the given token: no refresh, no logout, next to no
 * overhead.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerToken = (options: TokenOptions): Layer.Layer<TokenSource.TokenSource> =>
  Layer.effect(TokenSource.TokenSource, internal.makeStaticSource(options))

/**
 * {@link layerBasic} from `Config`; by default `ANAPLAN_EMAIL`, `ANAPLAN_PASSWORD` (redacted) and
 * the optional `ANAPLAN_AUTH_URL`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBasicConfig = (
  config: Config.Config.Wrap<BasicOptions> = internal.basicConfig
): Layer.Layer<TokenSource.TokenSource, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layerBasic))

/**
 * {@link layerCertificate} from `Config`; by default `ANAPLAN_CERTIFICATE` (a path) or
 * `ANAPLAN_CERTIFICATE_PEM` (the content), `ANAPLAN_PRIVATE_KEY` (a path) or
 * `ANAPLAN_PRIVATE_KEY_PEM` (the content, redacted), the optional `ANAPLAN_PRIVATE_KEY_PASSPHRASE`
 * (redacted) and `ANAPLAN_AUTH_URL`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerCertificateConfig = (
  config: Config.Config.Wrap<CertificateOptions> = internal.certificateConfig
): Layer.Layer<
  TokenSource.TokenSource,
  ConfigError.ConfigError | AuthError.InvalidConfiguration,
  HttpClient.HttpClient
> => Layer.unwrapEffect(Effect.map(Config.unwrap(config), layerCertificate))

/**
 * {@link layerToken} from `Config`; by default `ANAPLAN_TOKEN` (redacted).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTokenConfig = (
  config: Config.Config.Wrap<TokenOptions> = internal.tokenConfig
): Layer.Layer<TokenSource.TokenSource, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layerToken))

/**
 * `POST {authUrl}/token/refresh`: Anaplan extends `token` (`200`, the same value with a later expiry;
 * the token in use keeps working); a server that answers `201` with a new value is taken too. A
 * rejected token (expired, logged out) is `InvalidCredentials` carrying Anaplan's status code.
 *
 * @since 0.1.0
 * @category calls
 */
export const refresh: (
  token: Token.Token,
  options?: CallOptions
) => Effect.Effect<Token.Token, AuthError.AuthError, HttpClient.HttpClient> = internal.refresh

/**
 * `POST {authUrl}/token/logout`: ends `token`. A token Anaplan no longer accepts (`401`) counts as
 * logged out.
 *
 * @since 0.1.0
 * @category calls
 */
export const logout: (
  token: Token.Token,
  options?: CallOptions
) => Effect.Effect<void, AuthError.AuthError, HttpClient.HttpClient> = internal.logout

/**
 * `GET {authUrl}/token/validate`: whether Anaplan accepts `token`, and whose it is. A token it no
 * longer accepts is `TokenExpired`.
 *
 * @since 0.1.0
 * @category calls
 */
export const validate: (
  token: Token.Token | Redacted.Redacted<string>,
  options?: CallOptions
) => Effect.Effect<TokenValidation, AuthError.AuthError, HttpClient.HttpClient> = (token, options) =>
  internal.validate(TokenValidation)(token, options)
