/**
 * Which proxy a request goes through: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`
 * (lower case first, as curl reads them) or an explicit proxy, and curl's `NO_PROXY` matching.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Net from "node:net"

/** A proxy with the place it was configured, for messages. @internal */
export interface Proxy {
  /** The proxy URL as given, credentials included: only for the dispatcher. */
  readonly url: Redacted.Redacted<string>
  /** `http://host:port`, without credentials: safe in any message. */
  readonly display: string
  /** Where it came from: `HTTPS_PROXY`, `https_proxy`, `EFFECT_AUTH_PROXY`, ... */
  readonly source: string
  readonly hasCredentials: boolean
}

/** @internal */
export interface Routes {
  readonly http: Proxy | undefined
  readonly https: Proxy | undefined
  readonly bypass: (url: URL) => boolean
}

/** @internal */
export interface Input {
  /** An explicit proxy (overrides the environment); `"none"` goes direct. */
  readonly proxy?: string | Redacted.Redacted<string> | undefined
  readonly proxySource?: string | undefined
  /** Overrides `NO_PROXY`. */
  readonly noProxy?: string | undefined
}

type Env = Readonly<Record<string, string | undefined>>

const nonEmpty = (value: string | undefined): value is string => value !== undefined && value.trim() !== ""

/** The first of `names` set in `env`, with its name. */
const lookup = (env: Env, names: ReadonlyArray<string>): { readonly name: string; readonly value: string } | undefined => {
  for (const name of names) {
    const value = env[name]
    if (nonEmpty(value)) return { name, value: value.trim() }
  }
  return undefined
}

/** Parses a proxy URL (`host:port` alone means `http://`, as in curl); the error names `source` only. */
const parseProxy = (value: string, source: string): Either.Either<Proxy, string> => {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    return Either.left(`The proxy in ${source} is not a URL (expected http://host:port or http://user:password@host:port)`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Either.left(
      `The proxy in ${source} uses ${url.protocol.slice(0, -1)}; only http:// and https:// proxies are supported`
    )
  }
  if (url.hostname === "") return Either.left(`The proxy in ${source} has no host`)
  const hasCredentials = url.username !== "" || url.password !== ""
  return Either.right({
    url: Redacted.make(url.href),
    display: `${url.protocol}//${url.host}`,
    source,
    hasCredentials
  })
}

const stripBrackets = (host: string): string => host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host

const defaultPort = (url: URL): number => url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80

/**
 * curl's `NO_PROXY`: a comma-separated list; `*` alone matches everything; a name matches itself
 * and its subdomains (a leading `.` or `*.` is ignored); an IP address or CIDR range matches the
 * addresses in it; `:port` restricts an entry to one port.
 *
 * @internal
 */
export const noProxyMatcher = (list: string): (url: URL) => boolean => {
  const entries = list.split(/[,\s]+/).map((entry) => entry.trim().toLowerCase()).filter((entry) => entry !== "")
  if (entries.includes("*")) return () => true
  const names: Array<{ readonly name: string; readonly port: number | undefined }> = []
  const blocks: Array<{ readonly block: Net.BlockList; readonly port: number | undefined }> = []
  for (const entry of entries) {
    const cidr = /^\[?([0-9a-f:.]+)\]?\/(\d{1,3})$/.exec(entry)
    const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry)
    const host = stripBrackets(withPort ? withPort[1] : entry)
    const port = withPort ? Number(withPort[2]) : undefined
    const address = cidr ? cidr[1] : host
    const family = Net.isIP(address)
    if (family !== 0) {
      const block = new Net.BlockList()
      const type = family === 4 ? "ipv4" : "ipv6"
      if (cidr) block.addSubnet(address, Number(cidr[2]), type)
      else block.addAddress(address, type)
      blocks.push({ block, port })
    } else {
      names.push({ name: host.replace(/^\*?\./, ""), port })
    }
  }
  return (url) => {
    const host = stripBrackets(url.hostname.toLowerCase())
    const port = defaultPort(url)
    const family = Net.isIP(host)
    if (family !== 0) {
      const type = family === 4 ? "ipv4" : "ipv6"
      if (blocks.some((entry) => (entry.port === undefined || entry.port === port) && entry.block.check(host, type))) {
        return true
      }
    }
    return names.some((entry) =>
      (entry.port === undefined || entry.port === port) && (host === entry.name || host.endsWith(`.${entry.name}`))
    )
  }
}

/**
 * The routes for `input` in `env`. An explicit proxy serves both schemes; otherwise `https://`
 * takes `https_proxy`/`HTTPS_PROXY`, `http://` takes `http_proxy`/`HTTP_PROXY`, and both fall back to
 * `all_proxy`/`ALL_PROXY`. `NO_PROXY` applies to every proxy. Fails with a sentence naming the
 * variable of a malformed proxy.
 *
 * @internal
 */
export const resolve = (input: Input, env: Env): Either.Either<Routes, string> => {
  const noProxy = input.noProxy ?? lookup(env, ["no_proxy", "NO_PROXY"])?.value ?? ""
  const bypass = noProxyMatcher(noProxy)
  const explicit = input.proxy === undefined
    ? undefined
    : Redacted.isRedacted(input.proxy)
    ? Redacted.value(input.proxy)
    : input.proxy
  if (nonEmpty(explicit)) {
    if (explicit.trim().toLowerCase() === "none") return Either.right({ http: undefined, https: undefined, bypass })
    return Either.map(parseProxy(explicit.trim(), input.proxySource ?? "the proxy option"), (proxy) => ({
      http: proxy,
      https: proxy,
      bypass
    }))
  }
  const parse = (names: ReadonlyArray<string>): Either.Either<Proxy | undefined, string> => {
    const found = lookup(env, names)
    return found === undefined ? Either.right(undefined) : parseProxy(found.value, found.name)
  }
  return Either.all({
    http: parse(["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]),
    https: parse(["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"])
  }).pipe(Either.map(({ http, https }) => ({ http, https, bypass })))
}

/** The proxy `url` goes through, if any. @internal */
export const route = (routes: Routes, url: URL): Proxy | undefined => {
  const proxy = url.protocol === "https:" ? routes.https : url.protocol === "http:" ? routes.http : undefined
  return proxy === undefined || routes.bypass(url) ? undefined : proxy
}

/** Whether `host` is `domain` or one of its subdomains. @internal */
export const isWithin = (host: string, domain: string): boolean => {
  const h = host.toLowerCase().replace(/\.$/, "")
  const d = domain.toLowerCase().replace(/^\*?\./, "")
  return h === d || h.endsWith(`.${d}`)
}
