/**
 * `HttpTransport`'s options checked and read, without loading undici: the proxy routes, the
 * certificate authorities, verification.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fs from "node:fs/promises"
import * as Tls from "node:tls"
import { InvalidConfiguration } from "../AuthError.js"
import type { Options } from "../HttpTransport.js"
import * as ProxyRoutes from "./proxyRoutes.js"

/** @internal */
export interface Settings {
  readonly routes: ProxyRoutes.Routes
  /** Node's roots, `NODE_EXTRA_CA_CERTS` and `caFile`, when a `caFile` is given; else Node's default store. */
  readonly ca: ReadonlyArray<string> | undefined
  readonly verify: boolean
  readonly alwaysVerify: ReadonlyArray<string>
  readonly proxyTimeoutMillis: number
  readonly site: string | undefined
}

/** @internal */
export const resolve = (options: Options): Effect.Effect<Settings, InvalidConfiguration> =>
  Effect.gen(function*() {
    const env = options.env ?? process.env
    const routes = yield* Either.mapLeft(
      ProxyRoutes.resolve(options, env),
      (detail) =>
        new InvalidConfiguration({
          site: options.site,
          detail,
          hint: "Write the proxy as http://host:port, with user:password@ before the host if it needs them."
        })
    )
    return {
      routes,
      ca: yield* readCa(options, env),
      verify: options.tlsVerify !== false,
      alwaysVerify: options.alwaysVerify ?? [],
      proxyTimeoutMillis: Duration.toMillis(options.proxyTimeout ?? Duration.seconds(5)),
      site: options.site
    }
  })

const readCa = (
  options: Options,
  env: Readonly<Record<string, string | undefined>>
): Effect.Effect<ReadonlyArray<string> | undefined, InvalidConfiguration> =>
  Effect.gen(function*() {
    if (options.caFile === undefined || options.caFile === "") return undefined
    const caFile = options.caFile
    const pem = yield* Effect.tryPromise({
      try: () => Fs.readFile(caFile, "utf8"),
      catch: (cause) =>
        new InvalidConfiguration({
          site: options.site,
          detail: `Cannot read the CA bundle ${caFile} (ca_file): ${
            cause instanceof Error && "code" in cause ? String(cause.code) : "unreadable"
          }`,
          hint: "Point ca_file at a readable PEM file with your organisation's certificate authority."
        })
    })
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
      return yield* new InvalidConfiguration({
        site: options.site,
        detail: `The CA bundle ${caFile} (ca_file) holds no PEM certificate`,
        hint: "Give a file with one or more -----BEGIN CERTIFICATE----- blocks."
      })
    }
    // An explicit `ca` replaces Node's store: keep its roots and NODE_EXTRA_CA_CERTS beside ours.
    const extraFile = env.NODE_EXTRA_CA_CERTS
    const extra = extraFile === undefined || extraFile === ""
      ? []
      : yield* Effect.promise(() => Fs.readFile(extraFile, "utf8").then((text) => [text], () => []))
    return [...Tls.rootCertificates, ...extra, pem]
  })

