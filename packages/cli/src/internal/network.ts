/**
 * The commands' `HttpClient`: `HttpTransport` (the environment's proxy, or the site's `proxy`,
 * `ca_file` and `tls_verify`), built at the first request so that a command that stays offline
 * loads no HTTP client.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import { InvalidConfiguration } from "@effect-auth/core/AuthError"
import * as HttpTransport from "@effect-auth/core/HttpTransport"
import * as Sites from "@effect-auth/core/Sites"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Argv from "./argv.js"
import type { Globals } from "./globalsType.js"

/** Anaplan's public service: never reached with `tls_verify = false`. */
const anaplanDomains = ["anaplan.com"]

/** The transport options of `site` (`dotenv`: the working directory's `.env`, to name where the proxy came from). @internal */
export const optionsOf = (site: Sites.Site, dotenv: Readonly<Record<string, string>> = {}): HttpTransport.Options => {
  const fromEnv = [process.env.EFFECT_AUTH_PROXY, dotenv.EFFECT_AUTH_PROXY].some((value) => value !== undefined && value !== "")
  return {
    proxy: Sites.secret(site, "proxy"),
    proxySource: fromEnv ? "EFFECT_AUTH_PROXY" : `the proxy of site ${site.name}`,
    caFile: Sites.text(site, "ca_file"),
    tlsVerify: Sites.text(site, "tls_verify") !== "false",
    alwaysVerify: anaplanDomains,
    site: site.name
  }
}

/** The hosts `site` reaches: its URLs, and Anaplan's public ones where an Anaplan site leaves one unset. */
const hostsOf = (site: Sites.Site): ReadonlyArray<string> => {
  const hosts = Object.values(Sites.fields(site)).flatMap((value) => {
    if (typeof value !== "string" || !/^https?:\/\//i.test(value)) return []
    try {
      return [new URL(value).hostname]
    } catch {
      return []
    }
  })
  const anaplanDefaults = site.provider === "anaplan" &&
    ["auth_url", "api_url"].some((field) => Sites.text(site, field) === undefined)
  return anaplanDefaults ? [...hosts, "auth.anaplan.com"] : hosts
}

/**
 * Checks the site's network settings before the command works: the proxy URL, the CA bundle, and
 * `tls_verify = false` refused for Anaplan's public hosts.
 *
 * @internal
 */
export const check = (site: Sites.Site, dotenv: Readonly<Record<string, string>> = {}): Effect.Effect<void, InvalidConfiguration> =>
  Effect.gen(function*() {
    const options = optionsOf(site, dotenv)
    yield* HttpTransport.check(options)
    if (options.tlsVerify !== false) return
    const publicHost = hostsOf(site).find((host) => anaplanDomains.some((domain) => host === domain || host.endsWith(`.${domain}`)))
    if (publicHost !== undefined) {
      return yield* new InvalidConfiguration({
        site: site.name,
        detail: `tls_verify = false is refused for ${publicHost}, Anaplan's public service`,
        hint:
          "Remove tls_verify from the site (and EFFECT_AUTH_TLS_VERIFY): its certificate is publicly trusted. If a proxy on your network inspects TLS, put its certificate authority in ca_file instead."
      })
    }
  })

/** `--at` and `--config` of a command line (as `process.argv`), wherever they were given. @internal */
export const globalsIn = (argv: ReadonlyArray<string>): Globals => {
  const args = Argv.hoistGlobalOptions(argv).slice(2)
  const globals = { at: undefined as string | undefined, config: undefined as string | undefined, json: false, verbose: false }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === "--json") globals.json = true
    else if (arg === "--verbose") globals.verbose = true
    else if ((arg === "--at" || arg === "--config") && i + 1 < args.length) {
      if (arg === "--at") globals.at = args[++i]
      else globals.config = args[++i]
    } else break
  }
  return globals
}

/**
 * The `HttpClient` of a command working on the site `site` finds (the environment alone when it
 * finds none), built at the first request. A configuration problem fails that request with the
 * same words (the session has usually reported it before).
 *
 * @internal
 */
export const layer = (
  site: Effect.Effect<{ readonly site: Sites.Site; readonly dotenv: Readonly<Record<string, string>> } | undefined>
): Layer.Layer<HttpClient.HttpClient> =>
  Layer.scoped(
    HttpClient.HttpClient,
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const client = yield* Effect.cached(
        Effect.flatMap(site, (found) =>
          HttpTransport.make(found === undefined ? {} : optionsOf(found.site, found.dotenv)).pipe(Scope.extend(scope)))
      )
      return HttpClient.make((request) =>
        client.pipe(
          Effect.catchTag("InvalidConfiguration", (error) =>
            Effect.fail(
              new HttpClientError.RequestError({ request, reason: "Transport", cause: error, description: error.message })
            )),
          Effect.flatMap((transport) => transport.execute(request))
        )
      )
    })
  )
