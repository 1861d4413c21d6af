/**
 * An `HttpClient` for Anaplan's integration API (`{apiUrl}/2/0`): every request carries
 * `Authorization: AnaplanAuthToken <token>` from the `TokenSource` in context, and a `401` is
 * recovered once (refresh or new login, then the request is sent again). Users call the API with
 * no auth code at all:
 *
 * ```ts
 * const client = yield* AnaplanClient
 * const workspaces = yield* client.http.get("/workspaces")
 * ```
 *
 * {@link layerWithAuth} builds the client and its `TokenSource` each over an `HttpClient` of its
 * own, so that logins and refreshes never wait for a connection behind API calls.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as AuthError from "@effect-auth/core/AuthError"
import * as HttpTransport from "@effect-auth/core/HttpTransport"
import type * as Token from "@effect-auth/core/Token"
import type { TokenSource } from "@effect-auth/core/TokenSource"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as internal from "./internal/anaplanAuth.js"

/**
 * An Anaplan user, as `GET /2/0/users/me` reports it (help.anaplan.com, "Retrieve your user").
 * Unknown fields are ignored.
 *
 * @since 0.1.0
 * @category models
 */
export class User extends Schema.Class<User>("@effect-auth/anaplan/User")({
  id: Schema.String,
  active: Schema.Boolean,
  email: Schema.String,
  emailOptIn: Schema.optional(Schema.Boolean),
  firstName: Schema.String,
  lastName: Schema.String,
  customerId: Schema.optional(Schema.String),
  /** As Anaplan writes it, e.g. `2017-09-07T08:05:37.000+0000`. */
  lastLoginDate: Schema.optional(Schema.String)
}) {}

/**
 * The integration API client.
 *
 * @since 0.1.0
 * @category tags
 */
export class AnaplanClient extends Context.Tag("@effect-auth/anaplan/AnaplanClient")<
  AnaplanClient,
  AnaplanClient.Service
>() {}

/**
 * @since 0.1.0
 */
export declare namespace AnaplanClient {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** The API host, without a trailing slash; default `https://api.anaplan.com`. */
    readonly apiUrl: string
    /**
     * Requests go to `${apiUrl}/2/0` + their URL (`http.get("/workspaces")`), signed by the
     * `TokenSource`; a `401` triggers one refresh or login and one retry, a second `401` is
     * `InvalidCredentials`. Other statuses pass through untouched.
     */
    readonly http: HttpClient.HttpClient.With<HttpClientError.HttpClientError | AuthError.AuthError>
    /** `GET /2/0/users/me`: the signed-in user. */
    readonly whoami: Effect.Effect<User, AuthError.AuthError | HttpClientError.HttpClientError>
  }
}

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The integration API host; default `https://api.anaplan.com`. */
  readonly apiUrl?: string | undefined
  /**
   * Accept a plain `http://` `apiUrl` on a host that is not loopback, with a warning (once per
   * process): every request would carry the token in clear. Without it such a URL is
   * `InvalidConfiguration`. Loopback (`localhost`, `127.0.0.1`, `[::1]`) is always accepted.
   */
  readonly allowInsecureHttp?: boolean | undefined
}

/**
 * Builds the client over the `TokenSource` and `HttpClient` in context. A plain `http://` `apiUrl`
 * elsewhere than loopback fails with `InvalidConfiguration` unless `allowInsecureHttp` is set.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<AnaplanClient.Service, AuthError.InvalidConfiguration, TokenSource | HttpClient.HttpClient> =
  internal.makeClient(User)

/**
 * The client as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<AnaplanClient, AuthError.InvalidConfiguration, TokenSource | HttpClient.HttpClient> =>
  Layer.effect(AnaplanClient, make(options))

/**
 * The client together with its `TokenSource` (`auth`, e.g. `AnaplanAuth.layerBasic(...)`), each over
 * its own instance of `transport` (default `HttpTransport.layer()`: the environment's proxy, Node's
 * certificate authorities): the auth service's requests (login, refresh, logout) get a connection
 * pool of their own and never queue behind API requests in a saturated one. Refresh-ahead then
 * reaches the auth service before the token expires however busy the API's pool is; behind API
 * requests (a pool with a connection limit, the same origin for both, a concurrency limit on the
 * client) it can arrive after expiry, when Anaplan no longer extends the token: a new login, and a
 * `401` for every request signed with the old one.
 *
 * Providing one `HttpClient` layer to `auth` and to {@link layer} separately does not give two
 * pools: a layer is built once per program however often it is provided (`Layer.fresh` is what
 * builds it again), which is what this constructor does for you.
 *
 * ```ts
 * const Live = AnaplanClient.layerWithAuth(AnaplanAuth.layerBasicConfig(), {
 *   transport: HttpTransport.layer({ caFile: "/etc/ssl/corp-ca.pem" })
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithAuth: {
  <EA, RA>(
    auth: Layer.Layer<TokenSource, EA, RA>,
    options?: Options
  ): Layer.Layer<AnaplanClient | TokenSource, EA | AuthError.InvalidConfiguration, Exclude<RA, HttpClient.HttpClient>>
  <EA, RA, ET, RT>(
    auth: Layer.Layer<TokenSource, EA, RA>,
    options: Options & { readonly transport: Layer.Layer<HttpClient.HttpClient, ET, RT> }
  ): Layer.Layer<
    AnaplanClient | TokenSource,
    EA | ET | AuthError.InvalidConfiguration,
    Exclude<RA, HttpClient.HttpClient> | RT
  >
} = (
  auth: Layer.Layer<TokenSource, unknown, unknown>,
  options: Options & { readonly transport?: Layer.Layer<HttpClient.HttpClient, unknown, unknown> } = {}
) => {
  const transport = options.transport ?? HttpTransport.layer()
  return layer(options).pipe(
    Layer.provideMerge(Layer.provide(auth, Layer.fresh(transport))),
    Layer.provide(Layer.fresh(transport))
  )
}

/**
 * {@link layer} from `Config`; by default the optional `ANAPLAN_API_URL` and
 * `ANAPLAN_ALLOW_INSECURE_HTTP` (default `false`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<Options> = internal.clientConfig
): Layer.Layer<AnaplanClient, ConfigError.ConfigError | AuthError.InvalidConfiguration, TokenSource | HttpClient.HttpClient> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))

/**
 * One `GET {apiUrl}/2/0/users/me` with `token`, without a `TokenSource`. A token Anaplan no
 * longer accepts is `TokenExpired`.
 *
 * @since 0.1.0
 * @category calls
 */
export const whoami: (
  token: Token.Token,
  options?: Options & { readonly site?: string | undefined }
) => Effect.Effect<User, AuthError.AuthError, HttpClient.HttpClient> = internal.whoami(User)

/**
 * `whoami` of the {@link AnaplanClient} in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const currentUser: Effect.Effect<User, AuthError.AuthError | HttpClientError.HttpClientError, AnaplanClient> =
  Effect.flatMap(AnaplanClient, (client) => client.whoami)
