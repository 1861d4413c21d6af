/**
 * The fields of a site: core's common ones and the providers', joined in a registry; and the
 * check of one value, whatever its origin.
 *
 * @internal
 */
import * as Redacted from "effect/Redacted"
import type * as Provider from "../Provider.js"
import { closest } from "./sitesSuggest.js"

/** @internal */
export const storageKinds = ["auto", "keyring", "file", "redis", "memory"] as const
/** @internal */
export type StorageKind = typeof storageKinds[number]

/** @internal */
export type Value = string | ReadonlyArray<string> | Redacted.Redacted<string>

/** Fields by their file names: a `Map`, so that no name reaches `Object.prototype`. @internal */
export type Values = ReadonlyMap<string, Value>

const field = (kind: Provider.FieldKind, description: string, options: Partial<Provider.Field> = {}): Provider.Field => ({
  kind,
  description,
  ...options
})

/** Core's fields that come first in a table: which provider, which method. */
const head: Provider.Fields = {
  provider: field("text", "The kind of service the site logs in to"),
  method: field("text", "How the site logs in (the provider's first method by default)")
}

/** Core's fields that every provider has: a static token, where tokens are kept, how the network is reached. */
const tail: Provider.Fields = {
  token: field("secret", "A static access token, for method \"token\"", { identity: true }),
  storage: field("text", "Where tokens are kept: auto (keyring, else a private file; decided once), keyring, file, redis, memory", {
    choices: storageKinds
  }),
  state_dir: field("path", "The directory of the private credentials file"),
  redis_url: field("url", "The Redis server of storage \"redis\" (redis://...)", { protocols: ["redis:", "rediss:"] }),
  redis_prefix: field("text", "The prefix of the site's Redis keys"),
  proxy: field(
    "secret",
    "The site's HTTP proxy (http://host:port, http://user:password@host:port), overriding HTTPS_PROXY and HTTP_PROXY; \"none\" goes direct"
  ),
  ca_file: field("path", "A PEM bundle of certificate authorities trusted in addition to Node's (a TLS-inspecting proxy's)"),
  tls_verify: field("text", "false skips certificate checks: test deployments only, warns, refused for Anaplan's public hosts", {
    choices: ["true", "false"]
  }),
  allow_insecure_http: field(
    "text",
    "Accept plain http:// endpoints on hosts that are not loopback (secrets travel in clear; warns): true or false",
    { choices: ["true", "false"] }
  )
}

/** @internal */
export interface Registry {
  readonly providers: ReadonlyArray<Provider.Provider>
  /** The provider of a site that names none: the first of the list. */
  readonly defaultProvider: Provider.Provider
  readonly providerNames: ReadonlyArray<string>
  /** Every provider's methods, in list order, once each. */
  readonly methods: ReadonlyArray<string>
  /** Every field (core's and the providers'), in the order tables and `sites show` list them. */
  readonly fields: ReadonlyMap<string, Provider.Field>
  readonly fieldNames: ReadonlyArray<string>
  readonly secretFieldNames: ReadonlyArray<string>
  readonly provider: (name: string) => Provider.Provider | undefined
}

const registries = new WeakMap<ReadonlyArray<Provider.Provider>, Registry>()

/**
 * Joins providers into a registry. A field two providers share (`client_id`) must have the same
 * kind in both; a provider name may appear once.
 *
 * @internal
 */
export const registry = (providers: ReadonlyArray<Provider.Provider>): Registry => {
  const cached = registries.get(providers)
  if (cached !== undefined) return cached
  if (providers.length === 0) throw new Error("A site registry needs at least one provider")
  const byName = new Map<string, Provider.Provider>()
  const fields = new Map<string, Provider.Field>(Object.entries(head))
  const methods: Array<string> = []
  const add = (name: string, value: Provider.Field, owner: string) => {
    const existing = fields.get(name)
    if (existing !== undefined && existing.kind !== value.kind) {
      throw new Error(`Field ${name} of provider ${owner} is a ${value.kind}, but another field of that name is a ${existing.kind}`)
    }
    if (existing === undefined) fields.set(name, value)
  }
  for (const provider of providers) {
    if (byName.has(provider.name)) throw new Error(`Provider ${provider.name} is registered twice`)
    byName.set(provider.name, provider)
    for (const method of provider.methods) if (!methods.includes(method)) methods.push(method)
    for (const [name, value] of Object.entries(provider.fields)) add(name, value, provider.name)
  }
  for (const [name, value] of Object.entries(tail)) add(name, value, "core")
  const fieldNames = [...fields.keys()]
  const result: Registry = {
    providers,
    defaultProvider: providers[0],
    providerNames: [...byName.keys()],
    methods,
    fields,
    fieldNames,
    secretFieldNames: fieldNames.filter((name) => fields.get(name)?.kind === "secret"),
    provider: (name) => byName.get(name)
  }
  registries.set(providers, result)
  return result
}

/** @internal */
export const isSecret = (registry: Registry, name: string): boolean => registry.fields.get(name)?.kind === "secret"

/** @internal */
export const envVar = (field: string): string => `EFFECT_AUTH_${field.toUpperCase()}`

const siteNamePattern = /^[A-Za-z0-9_-]+$/

/** @internal */
export const isSiteName = (name: string): boolean => siteNamePattern.test(name)

/** @internal */
export const describeType = (value: unknown): string =>
  Array.isArray(value) ?
    "an array" :
    value instanceof Date ?
    "a date" :
    typeof value === "object" && value !== null ?
    "a table" :
    typeof value === "number" || typeof value === "bigint" ?
    "a number" :
    typeof value === "boolean" ?
    "a boolean" :
    `a ${typeof value}`

const oneOf = (value: string, allowed: ReadonlyArray<string>, what: string) => {
  if (allowed.includes(value)) return undefined
  const suggestion = closest(value, allowed)
  return `${JSON.stringify(value)} is not a ${what}; allowed: ${allowed.join(", ")}${
    suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`
  }`
}

const checkUrl = (value: string, protocols: ReadonlyArray<string>, echo: boolean): string | undefined => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return `${echo ? JSON.stringify(value) : "the value"} is not an absolute URL; expected ${
      protocols.map((p) => `${p}//...`).join(" or ")
    }`
  }
  return protocols.includes(url.protocol) ?
    undefined :
    `${echo ? JSON.stringify(value) : "the value"} has scheme ${url.protocol}; expected ${protocols.join(" or ")}`
}

/** @internal */
export type Checked = { readonly value: Value | undefined } | { readonly error: string }

/**
 * Checks one value for `name`, whatever its origin. Returns the value to use (`undefined` for an
 * empty string: not set) or a message that never contains a secret's value.
 *
 * @internal
 */
export const checkValue = (registry: Registry, name: string, value: unknown): Checked => {
  const spec = registry.fields.get(name)
  if (spec === undefined) return { error: "unknown key" }
  if (spec.kind === "list") {
    if (typeof value === "string") {
      const items = value.split(/\s+/).filter((item) => item !== "")
      return { value: items.length === 0 ? undefined : items }
    }
    if (Array.isArray(value) && value.every((item): item is string => typeof item === "string")) {
      return { value: value.slice() }
    }
    return {
      error: `expected an array of strings (${name} = ["openid", "email"]) or a space-separated string, got ${
        Array.isArray(value) ? "an array with a non-string item" : describeType(value)
      }`
    }
  }
  if (spec.kind === "boolean") {
    if (typeof value === "boolean") return { value: String(value) }
    const word = typeof value === "string" ? value.trim().toLowerCase() : undefined
    if (word === "") return { value: undefined }
    if (word === "true" || word === "1" || word === "yes") return { value: "true" }
    if (word === "false" || word === "0" || word === "no") return { value: "false" }
    return { error: `expected true or false, got ${typeof value === "string" ? JSON.stringify(value) : describeType(value)}` }
  }
  if (typeof value === "boolean" && spec.choices?.includes(String(value)) === true) return { value: String(value) }
  if (typeof value !== "string") {
    return { error: `expected a string in quotes, got ${describeType(value)}` }
  }
  if (value === "") return { value: undefined }
  if (spec.kind === "secret") return { value: Redacted.make(value) }
  const error = name === "provider" ?
    oneOf(value, registry.providerNames, "provider") :
    name === "method" ?
    oneOf(value, registry.methods, "method") :
    spec.choices !== undefined ?
    oneOf(value, spec.choices, name === "storage" ? "storage kind" : `value of ${name}`) :
    spec.kind === "url" ?
    checkUrl(value, spec.protocols ?? ["http:", "https:"], spec.protocols === undefined) :
    spec.check?.(value)
  return error === undefined ? { value } : { error }
}
