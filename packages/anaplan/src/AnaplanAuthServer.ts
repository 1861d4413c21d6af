/**
 * A faithful local emulator of Anaplan's authentication service (`/token/*`) and the integration
 * API's `GET /2/0/users/me`: a real HTTP server on 127.0.0.1 for tests, demos and users' own tests.
 *
 * All time comes from the Effect `Clock`: build the layer inside a test and `TestClock` drives
 * token expiry and `Delay` faults. Certificate validity is checked against the same clock, so a
 * certificate test under `TestClock` first sets the clock to the present
 * (`TestClock.setTime(Date.now())`).
 *
 * What it answers: the shapes `shared/ANAPLAN.md` records from public sources, pinned case by case
 * (each citing its source) by `test/Contract.test.ts`:
 *
 * - `POST /token/authenticate` with `Basic base64(email:password)`, or with
 *   `CACertificate base64(PEM file)` (or the base64 of the DER certificate) and a JSON body `{"encodedData", "encodedSignedData"}` (at
 *   least 100 random bytes and their RSA PKCS#1 v1.5 SHA-512 signature; optionally
 *   `"encodedDataFormat": "v2"`, the data then starting with an 8-byte big-endian epoch-seconds
 *   timestamp that must be within 5 minutes of the clock): `201`
 *   `{"meta":{"validationUrl"},"status":"SUCCESS","statusMessage":"Login successful","tokenInfo":{"expiresAt","tokenId","tokenValue","refreshTokenId"}}`.
 *   Certificates must be issued by `trustedCaPem` (not the CA itself), valid at the clock's time,
 *   and name a user by subject `emailAddress`, subjectAltName email or CN; each `encodedData` is
 *   accepted once.
 * - `POST /token/refresh` (`AnaplanAuthToken <tokenValue>`): `200`, same shape, the same
 *   `tokenValue` and `refreshTokenId` with a later `expiresAt`, `"statusMessage":"Token refreshed"`;
 *   the token in use keeps working (`rotateOnRefresh` gives the unfaithful `201` with a new value).
 * - `POST /token/logout`: `204`; the token is revoked.
 * - `GET /token/validate`: `200`, nested:
 *   `{"meta","status":"SUCCESS","statusMessage":"Token validated","tokenInfo":{"expiresAt","tokenId","refreshTokenId"},"userInfo":{"userGuid","userId","customerGuid"}}`,
 *   `userInfo.userId` being the user's email.
 * - `GET /2/0/users/me`: `200` `{"meta":{"schema"},"status":{"code":200,"message":"Success"},"user":{"id","active","email","emailOptIn","firstName","lastName","customerId","lastLoginDate"}}`;
 *   `GET /2/0/users` (every user; role-restricted). A path in a user's `deniedEndpoints` answers
 *   `401` `{"status":"ACCESS_CONTROL_DENIED"}`.
 * - OAuth 2, as Anaplan's OAuth service (`https://us1a.app.anaplan.com`) does it, for the clients in
 *   `oauthClients`:
 *   - `GET /auth/authorize?...`: `302` to `/auth/prelogin` with the same query.
 *   - `GET /auth/prelogin?response_type=code&client_id&redirect_uri&scope&state[&code_challenge&code_challenge_method=S256]`:
 *     an HTML login form (inputs `email`, `password`, buttons `login` and `cancel`), posted to
 *     `/auth/prelogin` (or `/auth/login`); the right password `302`-redirects to
 *     `redirect_uri?code&state`, `cancel` to `redirect_uri?error=access_denied&state`, a wrong one
 *     shows the form again with an error (`#error`). An unknown client or an unregistered redirect
 *     URI gets a `400` page, never a redirect. A `code_challenge` must be `S256`.
 *   - `POST /oauth/token` (form-encoded or JSON; `client_secret_post` or `client_secret_basic`,
 *     nothing for clients without a secret): `authorization_code` (codes are single use, live 60
 *     seconds, need the same `redirect_uri` and the PKCE verifier when a challenge was sent; a
 *     second use revokes what the code granted), `refresh_token` (rotation: each refresh returns a
 *     new refresh token and spends the old one; presenting a spent one revokes the whole grant,
 *     its access tokens included; clients with `rotateRefreshTokens: false` keep theirs, and
 *     refresh tokens of rotating clients expire {@link defaultRefreshTokenLifetime} (or the client's
 *     `refreshTokenLifetime`) after the login) and `urn:ietf:params:oauth:grant-type:device_code`.
 *     Success is `200` `{"access_token","refresh_token","expires_in","scope","token_type":"bearer","id_token"}`
 *     (a refresh token only with the `offline_access` scope, `scope` without `profile`, an ES256
 *     `id_token` with `iss`, `sub`, `aud`, `email`, `iat`, `exp` with the `openid` scope, and the
 *     request's `nonce` only with `echoNonce`); errors are RFC 6749 section 5.2 JSON
 *     (`invalid_grant`, `invalid_client` with `401`, ...). Access tokens work wherever a
 *     `/token/authenticate` token does (`AnaplanAuthToken` header) and expire by the same lifetime,
 *     but `/token/refresh` refuses them.
 *   - `POST /oauth/device/code`, a JSON body `{"client_id", "scope"}` (a form body is `400`): `200`
 *     `{"device_code","user_code","verification_uri","verification_uri_complete","expires_in","interval":5}`;
 *     polling answers `authorization_pending`, `slow_down` (faster than the interval, which then
 *     grows by 5 seconds), `access_denied`, `expired_token`. The person's part is played by
 *     `approveDevice` / `denyDevice`, or in a browser by `GET /activate[?user_code]`: a form
 *     (inputs `user_code`, `email`, `password`, buttons `approve` and `deny`) posted to `/activate`.
 * - Failures: `401` `{"status":"FAILURE_BAD_CREDENTIAL","statusMessage":...}` from `/token/*` for
 *   a missing, unknown, expired or revoked credential, `400` `{"status":"FAILURE_BAD_HEADER"}` for
 *   a malformed `Authorization` header; `401` `{"status":{"code":401,"message":"Unauthorized"}}`
 *   from `/2/0/*`; `404` for other paths, `405` (with `Allow`) for other methods.
 *
 * @since 0.1.0
 */
import type * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import type * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/emulator/server.js"

/**
 * The running emulator.
 *
 * @since 0.1.0
 * @category services
 */
export class AnaplanAuthServer extends Context.Tag("@effect-auth/anaplan/AnaplanAuthServer")<
  AnaplanAuthServer,
  AnaplanAuthServer.Service
>() {}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace AnaplanAuthServer {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** `http://127.0.0.1:<port>`: serves the auth service (`/token/*`) and the integration API (`/2/0/*`). */
    readonly url: string
    /** The PEM (SPKI) of the EC P-256 key that verifies the ES256 signatures of issued ID tokens. */
    readonly idTokenKey: string
    /** Adds a user, or replaces the user with the same email (case-insensitive), e.g. to change a password. */
    readonly addUser: (user: User) => Effect.Effect<void>
    /** The lifetime of tokens issued from now on. */
    readonly setTokenLifetime: (lifetime: Duration.DurationInput) => Effect.Effect<void>
    /** Requests per endpoint (right path and method), successful or not, faults included. */
    readonly counters: Effect.Effect<Counters>
    readonly resetCounters: Effect.Effect<void>
    /** The next `times` (default 1) requests, to any path, get `fault` instead of their normal answer. */
    readonly injectFault: (fault: Fault, times?: number) => Effect.Effect<void>
    /**
     * Every access token issued so far stops working at once (to test recovery from a 401); OAuth
     * refresh tokens keep working.
     */
    readonly expireAllTokens: Effect.Effect<void>
    /**
     * Access tokens issued, not refreshed away, logged out or expired by the clock (an OAuth refresh
     * leaves the previous access token valid until it expires).
     */
    readonly activeTokens: Effect.Effect<number>
    /** Registers an OAuth client, or replaces the one with the same id. */
    readonly addOAuthClient: (client: OAuthClient) => Effect.Effect<void>
    /**
     * Plays the person on the login page: checks the request as `GET /auth/prelogin` does, issues a
     * code for `email` (no password asked) and returns the URL the browser would be redirected to
     * (`redirectUri?code&state`, or `?error=access_denied&state` with `deny`). Fails for an unknown
     * client, an unregistered redirect URI, an invalid challenge or an unknown user.
     */
    readonly authorize: (request: AuthorizeRequest) => Effect.Effect<string, Cause.IllegalArgumentException>
    /** Confirms a pending device code as `email`; `false` when no such pending code (or user) exists. */
    readonly approveDevice: (userCode: string, email: string) => Effect.Effect<boolean>
    /** Declines a pending device code; `false` when no such pending code exists. */
    readonly denyDevice: (userCode: string) => Effect.Effect<boolean>
  }
}

/**
 * An OAuth client registered with the emulated tenant. Without a `clientSecret` it is a public
 * client (the device grant's kind); with one, the token endpoint requires it.
 *
 * @since 0.1.0
 * @category models
 */
export interface OAuthClient {
  readonly clientId: string
  readonly clientSecret?: string | undefined
  /** The allowed callback URLs, compared exactly. */
  readonly redirectUris: ReadonlyArray<string>
  /** Shown on the login page. */
  readonly name?: string | undefined
  /**
   * The grant the client was created for (Anaplan asks for one); other grants get
   * `unauthorized_client`. Default: both. Refreshing is open to either.
   */
  readonly grantTypes?: ReadonlyArray<"authorization_code" | "device_code"> | undefined
  /**
   * Anaplan's "Rotatable" refresh token setting; default `true`: each refresh spends the refresh
   * token and returns a new one. With `false` the refresh token stays valid and refresh answers
   * carry none.
   */
  readonly rotateRefreshTokens?: boolean | undefined
  /**
   * Anaplan's maximum refresh token lifetime: the refresh tokens of a login stop working this long
   * after it, however often they were rotated. Default for rotating clients
   * {@link defaultRefreshTokenLifetime} (43,000 seconds, as an Anaplan community answer gives it;
   * an administrator sets it, up to a year); non-rotating refresh tokens never expire.
   */
  readonly refreshTokenLifetime?: Duration.DurationInput | undefined
}

/**
 * What {@link AnaplanAuthServer.Service.authorize} is asked.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthorizeRequest {
  readonly clientId: string
  readonly redirectUri: string
  readonly email: string
  readonly state?: string | undefined
  /** An S256 PKCE challenge. */
  readonly codeChallenge?: string | undefined
  /** Default `openid profile email offline_access`. */
  readonly scope?: string | undefined
  /** The authorization request's `nonce` (echoed in the ID token only with `echoNonce`). */
  readonly nonce?: string | undefined
  /** Cancel instead of logging in: the redirect carries `error=access_denied`. */
  readonly deny?: boolean | undefined
}

/**
 * A user of the emulated tenant. Without a `password` the user can only log in with a certificate
 * whose subject email (or CN) is `email`.
 *
 * @since 0.1.0
 * @category models
 */
export interface User {
  readonly email: string
  readonly password?: string
  readonly firstName?: string
  readonly lastName?: string
  /** Anaplan's user id (32 hex digits); derived from the email when absent. */
  readonly id?: string
  /**
   * Integration API paths (e.g. `"/2/0/users"`) this user lacks the role for: they answer `401`
   * with `{"status":"ACCESS_CONTROL_DENIED"}`, as Anaplan answers role-restricted endpoints.
   */
  readonly deniedEndpoints?: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Counters {
  readonly authenticate: number
  readonly refresh: number
  readonly logout: number
  readonly validate: number
  readonly usersMe: number
  /** `GET` and `POST` of the login page (`/auth/prelogin`, `/auth/login`). */
  readonly prelogin: number
  readonly oauthToken: number
  readonly deviceCode: number
  /** `GET` and `POST` of the device activation page (`/activate`). */
  readonly activate: number
  /** `GET /2/0/users`. */
  readonly users: number
}

/**
 * What an injected fault does to a request.
 *
 * - `Status`: answer `status` (e.g. 500, 503, 429) with a small JSON body and `Retry-After` when given.
 * - `Delay`: answer normally after `delay`, measured by the `Clock` (under `TestClock`, adjust
 *   the clock once the request has arrived: `counters` tells when).
 * - `Hang`: accept the request and never answer (the connection closes with the server).
 * - `Reset`: send the success status, headers and the first bytes of a body, then reset the
 *   connection (a connection broken mid-body).
 * - `Body`: answer `body` verbatim (HTML, truncated JSON, wrong types) with `status` (default: the
 *   endpoint's success status; 200 for unknown paths and other methods) and `contentType` (default `application/json`).
 *
 * @since 0.1.0
 * @category models
 */
export type Fault =
  | { readonly _tag: "Status"; readonly status: number; readonly retryAfter?: string }
  | { readonly _tag: "Delay"; readonly delay: Duration.DurationInput }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Body"; readonly status?: number; readonly body: string; readonly contentType?: string }

/**
 * Constructors of {@link Fault}s.
 *
 * @since 0.1.0
 * @category constructors
 */
export const Fault = {
  status: (status: number, options?: { readonly retryAfter?: string }): Fault => ({
    _tag: "Status",
    status,
    ...(options?.retryAfter === undefined ? {} : { retryAfter: options.retryAfter })
  }),
  delay: (delay: Duration.DurationInput): Fault => ({ _tag: "Delay", delay }),
  hang: (): Fault => ({ _tag: "Hang" }),
  reset: (): Fault => ({ _tag: "Reset" }),
  body: (body: string, options?: { readonly status?: number; readonly contentType?: string }): Fault => ({
    _tag: "Body",
    body,
    ...(options?.status === undefined ? {} : { status: options.status }),
    ...(options?.contentType === undefined ? {} : { contentType: options.contentType })
  })
} as const

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The users of the tenant; default: {@link demoUser} only. */
  readonly users?: ReadonlyArray<User>
  /** Default 35 minutes, as Anaplan's. */
  readonly tokenLifetime?: Duration.DurationInput
  /** PEM of the CA whose client certificates are accepted; without it every certificate login fails. */
  readonly trustedCaPem?: string
  /** Default 0: an ephemeral port. */
  readonly port?: number
  /** The OAuth clients of the tenant; default none. */
  readonly oauthClients?: ReadonlyArray<OAuthClient>
  /** How long a device code can be confirmed; default 15 minutes. */
  readonly deviceCodeLifetime?: Duration.DurationInput
  /** The device grant's polling interval it announces (whole seconds, at least 1); default 5 seconds. */
  readonly deviceInterval?: Duration.DurationInput
  /**
   * Not Anaplan's behaviour, for testing clients against it: `/token/refresh` answers `201` with a
   * new token value and revokes the old one at once. Default `false`: Anaplan extends the token
   * (`200`, same value, later expiry) and the token in use keeps working.
   */
  readonly rotateOnRefresh?: boolean
  /**
   * Whether ID tokens echo the authorization request's `nonce`. Default `false`: no source says
   * Anaplan does, so clients must not rely on it.
   */
  readonly echoNonce?: boolean
}

/**
 * The default user: `demo@example.com` / `demo-password`. An emulator-only demo credential,
 * valid nowhere else.
 *
 * @since 0.1.0
 * @category constants
 */
export const demoUser: User = { email: "demo@example.com", password: "demo-password", firstName: "Demo", lastName: "User" }

/**
 * The default token lifetime: 35 minutes.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTokenLifetime: Duration.DurationInput = "35 minutes"

/**
 * The default maximum lifetime of rotating refresh tokens: 43,000 seconds (about 12 hours).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRefreshTokenLifetime: Duration.DurationInput = "43000 seconds"

/**
 * The default lifetime of device codes: 15 minutes.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultDeviceCodeLifetime: Duration.DurationInput = "15 minutes"

const defaults: internal.Defaults = {
  demoUser,
  tokenLifetime: defaultTokenLifetime,
  deviceCodeLifetime: defaultDeviceCodeLifetime,
  refreshTokenLifetime: defaultRefreshTokenLifetime
}

/**
 * Starts the emulator on 127.0.0.1; it stops (open connections closed) with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<AnaplanAuthServer.Service, HttpServerError.ServeError, Scope.Scope> = (options) =>
  internal.make(options ?? {}, defaults)

/**
 * Options of {@link serve}: the emulator's, and the scheme of its URL (`"https"` for a TLS server).
 *
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions extends Omit<Options, "port"> {
  /** Default `"http"`. */
  readonly protocol?: "http" | "https" | undefined
}

/**
 * Serves the emulator on the `HttpServer` in context (e.g. `NodeHttpServer.make` over an
 * `https.createServer`), until the scope closes; `url` is the server's address with `protocol`.
 * The server's owner closes it: a request held by a `Hang` fault keeps it open until then.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve: (
  options?: ServeOptions
) => Effect.Effect<AnaplanAuthServer.Service, never, HttpServer.HttpServer | Scope.Scope> = (options) =>
  internal.serve(options ?? {}, defaults)

/**
 * The emulator as a layer: an HTTP server on 127.0.0.1, closed with the layer's scope.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<AnaplanAuthServer, HttpServerError.ServeError> =>
  Layer.scoped(AnaplanAuthServer, make(options))

/**
 * The emulator served on the `HttpServer` the layer is given (see {@link serve}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer = (options?: ServeOptions): Layer.Layer<AnaplanAuthServer, never, HttpServer.HttpServer> =>
  Layer.scoped(AnaplanAuthServer, serve(options))
