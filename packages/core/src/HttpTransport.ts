/**
 * The `HttpClient` for corporate networks, the one the `effect-auth` CLI uses too: it goes
 * through `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` except for `NO_PROXY` hosts (upper or lower
 * case, as curl reads them), or through an explicit proxy; trusts a CA bundle beside Node's roots
 * (and `NODE_EXTRA_CA_CERTS`); can turn certificate checks off for a test deployment, with a
 * warning. Built on `@effect/platform-node`'s undici client.
 *
 * ```ts
 * import * as HttpTransport from "@effect-auth/core/HttpTransport"
 *
 * // The environment's proxy, plus the company's certificate authority:
 * const Network = HttpTransport.layer({ caFile: "/etc/ssl/corp-ca.pem" })
 * program.pipe(Effect.provide(AnaplanAuth.layerBasic(options)), Effect.provide(Network))
 * ```
 *
 * Failures keep the platform's `RequestError`; when the network settings are the reason, its
 * `cause` is a {@link TransportError.TransportError} whose message says what to do (the proxy and
 * the variable it came from, the certificate's host and issuer). A proxy that does not answer
 * fails within `proxyTimeout`. Credentials in a proxy URL (`http://user:pass@proxy:3128`) are sent
 * to the proxy only and never appear in messages.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { InvalidConfiguration } from "./AuthError.js"
import * as ProxyRoutes from "./internal/proxyRoutes.js"
import * as Settings from "./internal/transportSettings.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The proxy for every request, overriding the environment: `http://host:port`,
   * `http://user:password@host:port` (a `Redacted` keeps the password out of logs), or `"none"`
   * to go direct. `NO_PROXY` still applies. Default: from the environment.
   */
  readonly proxy?: string | Redacted.Redacted<string> | undefined
  /** Where `proxy` came from, for messages (`"EFFECT_AUTH_PROXY"`); default `"the proxy option"`. */
  readonly proxySource?: string | undefined
  /** Hosts that go direct, overriding `NO_PROXY` (same syntax). */
  readonly noProxy?: string | undefined
  /** A PEM bundle of certificate authorities trusted in addition to Node's roots. */
  readonly caFile?: string | undefined
  /** `false` accepts any certificate (test deployments only; logs a warning). Default `true`. */
  readonly tlsVerify?: boolean | undefined
  /** Domains whose certificates are verified whatever `tlsVerify` says: a request there fails instead. */
  readonly alwaysVerify?: ReadonlyArray<string> | undefined
  /** How long to wait for a proxy to accept a connection or answer a tunnel request; default 5 seconds. */
  readonly proxyTimeout?: Duration.DurationInput | undefined
  /** The environment with the proxy variables; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** The site, prefixed to configuration errors and the warning. */
  readonly site?: string | undefined
}

/**
 * The client, its connections closed with the scope. Fails when a proxy URL is malformed or the
 * CA bundle cannot be read.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<HttpClient.HttpClient, InvalidConfiguration, Scope.Scope> =>
  Effect.gen(function*() {
    const settings = yield* Settings.resolve(options)
    if (!settings.verify) {
      yield* Effect.logWarning(
        `${options.site === undefined ? "" : `[${options.site}] `}TLS certificate verification is off (tls_verify = false): ` +
          "anyone on the network path can read and change this traffic. Use it only for a test deployment."
      )
    }
    // undici loads with the first client, not with this module.
    const internal = yield* Effect.promise(() => import("./internal/httpTransport.js"))
    return yield* internal.make(settings)
  })

/**
 * Checks `options` as {@link make} does (the proxy URLs, the CA bundle) without building a client
 * or loading undici: for a program that wants configuration errors before its first request.
 *
 * @since 0.1.0
 * @category constructors
 */
export const check = (options: Options = {}): Effect.Effect<void, InvalidConfiguration> =>
  Effect.asVoid(Settings.resolve(options))

/**
 * The client as the `HttpClient` layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<HttpClient.HttpClient, InvalidConfiguration> =>
  Layer.scoped(HttpClient.HttpClient, make(options))

/**
 * The client with its options read from `Config`, e.g.
 * `layerConfig({ proxy: Config.option(Config.redacted("PROXY")).pipe(Config.map(Option.getOrUndefined)) })`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<HttpClient.HttpClient, InvalidConfiguration | ConfigError.ConfigError> =>
  Layer.scoped(HttpClient.HttpClient, Effect.flatMap(Config.unwrap(options), make))

/**
 * The proxy a request to `url` would go through (`http://host:port`, no credentials), or
 * `undefined` for a direct connection; `Left` with a sentence for a malformed proxy.
 *
 * @since 0.1.0
 * @category inspection
 */
export const proxyFor = (url: string, options: Options = {}): Either.Either<string | undefined, string> =>
  Either.map(ProxyRoutes.resolve(options, options.env ?? process.env), (routes) => ProxyRoutes.route(routes, new URL(url))?.display)
