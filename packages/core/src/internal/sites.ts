/**
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Paths from "../Paths.js"
import * as Path from "node:path"
import * as TOML from "smol-toml"
import { InvalidConfiguration } from "../AuthError.js"
import * as Doc from "./sitesDocument.js"

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** @internal */
export const providers = ["anaplan", "oauth2", "foundry", "anaconda"] as const
/** @internal */
export type Provider = typeof providers[number]
/** @internal */
export const methods = ["basic", "certificate", "token", "oauth", "device", "refresh_token", "client_credentials"] as const
/** @internal */
export type Method = typeof methods[number]
/** @internal */
export const storageKinds = ["auto", "keyring", "file", "redis", "memory"] as const
/** @internal */
export type StorageKind = typeof storageKinds[number]

/** @internal */
export const fieldNames = [
  "provider",
  "method",
  "auth_url",
  "api_url",
  "oauth_url",
  "issuer",
  "hostname",
  "authorization_url",
  "token_url",
  "device_url",
  "revocation_url",
  "userinfo_url",
  "client_id",
  "client_secret",
  "scopes",
  "redirect_uri",
  "email",
  "password",
  "password_file",
  "token",
  "refresh_token",
  "certificate",
  "private_key",
  "private_key_passphrase",
  "storage",
  "state_dir",
  "redis_url",
  "redis_prefix",
  "proxy",
  "ca_file",
  "tls_verify"
] as const

/** @internal */
export type FieldName = typeof fieldNames[number]

/** @internal */
export const secretFieldNames = [
  "client_secret",
  "proxy",
  "password",
  "token",
  "refresh_token",
  "private_key_passphrase"
] as const satisfies ReadonlyArray<FieldName>

/** @internal */
export type SecretField = typeof secretFieldNames[number]

const pathFields: ReadonlySet<FieldName> = new Set(["password_file", "certificate", "private_key", "state_dir", "ca_file"])
const urlFields: ReadonlySet<FieldName> = new Set([
  "auth_url",
  "api_url",
  "oauth_url",
  "issuer",
  "authorization_url",
  "token_url",
  "device_url",
  "revocation_url",
  "userinfo_url",
  "redirect_uri"
])
/** Fields that say which account or service to log in to: enough to build a site from the environment. */
const identityFields: ReadonlyArray<FieldName> = [
  "email",
  "password",
  "password_file",
  "token",
  "refresh_token",
  "certificate",
  "private_key",
  "client_id",
  "client_secret",
  "issuer",
  "token_url",
  "authorization_url",
  "device_url",
  "hostname"
]

/** @internal */
export const isFieldName = (u: string): u is FieldName => (fieldNames as ReadonlyArray<string>).includes(u)

/** @internal */
export const isSecretField = (field: FieldName): field is SecretField =>
  (secretFieldNames as ReadonlyArray<string>).includes(field)

/** @internal */
export const envVar = (field: FieldName): string => `EFFECT_AUTH_${field.toUpperCase()}`

type Camel<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S

type ValueOf<K extends FieldName> = K extends SecretField ? Redacted.Redacted<string>
  : K extends "scopes" ? ReadonlyArray<string>
  : K extends "provider" ? Provider
  : K extends "method" ? Method
  : K extends "storage" ? StorageKind
  : string

/** @internal */
export type Value = string | ReadonlyArray<string> | Redacted.Redacted<string>

/** @internal */
export type FieldValues = { readonly [K in FieldName]?: ValueOf<K> }

/** The properties of a `Site`. @internal */
export type SiteProps =
  & { readonly name: string; readonly provider: Provider; readonly method: Method; readonly storage: StorageKind }
  & { readonly [K in Exclude<FieldName, "provider" | "method" | "storage"> as Camel<K>]?: ValueOf<K> | undefined }

/** @internal */
export const propertyName = (field: FieldName): string =>
  field.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())

/** @internal */
export interface Raw {
  readonly defaults: FieldValues
  readonly tables: ReadonlyMap<string, FieldValues>
}

/** @internal */
export interface Config {
  readonly path: string
  readonly exists: boolean
  readonly defaultSite: Option.Option<string>
  readonly sites: ReadonlyArray<SiteProps>
  readonly warnings: ReadonlyArray<string>
  readonly raw?: Raw | undefined
}

const defaultMethod = (provider: Provider): Method => provider === "anaplan" ? "basic" : "oauth"

const methodsOf: Record<Provider, ReadonlyArray<Method>> = {
  anaplan: ["basic", "certificate", "token", "oauth", "device", "refresh_token"],
  oauth2: ["oauth", "device", "refresh_token", "client_credentials", "token"],
  foundry: ["oauth", "refresh_token", "client_credentials", "token"],
  anaconda: ["oauth", "refresh_token", "token"]
}

const siteNamePattern = /^[A-Za-z0-9_-]+$/

/** @internal */
export const isSiteName = (name: string): boolean => siteNamePattern.test(name)

// ---------------------------------------------------------------------------------------------
// values
// ---------------------------------------------------------------------------------------------

const levenshtein = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

/** @internal */
export const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let distance = Infinity
  for (const candidate of candidates) {
    const d = levenshtein(word.toLowerCase(), candidate)
    if (d < distance) {
      distance = d
      best = candidate
    }
  }
  return best !== undefined && distance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined
}

const describeType = (value: unknown): string =>
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

/**
 * Checks one value for `field`, whatever its origin. Returns the value to use (`undefined` for an
 * empty string: not set) or a message that never contains a secret's value.
 */
const checkValue = (
  field: FieldName,
  value: unknown
): { readonly value: Value | undefined } | { readonly error: string } => {
  if (field === "scopes") {
    if (typeof value === "string") {
      const scopes = value.split(/\s+/).filter((scope) => scope !== "")
      return { value: scopes.length === 0 ? undefined : scopes }
    }
    if (Array.isArray(value) && value.every((scope): scope is string => typeof scope === "string")) {
      return { value: value.slice() }
    }
    return {
      error: `expected an array of strings (scopes = ["openid", "email"]) or a space-separated string, got ${
        Array.isArray(value) ? "an array with a non-string item" : describeType(value)
      }`
    }
  }
  if (field === "tls_verify") {
    const text = typeof value === "boolean" ? String(value) : value
    return text === "true" || text === "false"
      ? { value: text }
      : { error: `expected true or false (tls_verify = false), got ${typeof text === "string" ? JSON.stringify(text) : describeType(text)}` }
  }
  if (typeof value !== "string") {
    return { error: `expected a string in quotes, got ${describeType(value)}` }
  }
  if (value === "") return { value: undefined }
  if (isSecretField(field)) return { value: Redacted.make(value) }
  const error = field === "provider" ?
    oneOf(value, providers, "provider") :
    field === "method" ?
    oneOf(value, methods, "method") :
    field === "storage" ?
    oneOf(value, storageKinds, "storage kind") :
    urlFields.has(field) ?
    checkUrl(value, ["http:", "https:"], true) :
    field === "redis_url" ?
    checkUrl(value, ["redis:", "rediss:"], false) :
    undefined
  return error === undefined ? { value } : { error }
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

// ---------------------------------------------------------------------------------------------
// parse
// ---------------------------------------------------------------------------------------------

const configError = (detail: string, hint: string, site?: string) =>
  new InvalidConfiguration({ detail, hint, ...(site === undefined ? {} : { site }) })

const isTable = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date)

const tomlErrorText = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  // smol-toml appends a code block with the offending lines: it may hold a secret, so drop it.
  return message.split("\n")[0].replace(/^Invalid TOML document: /, "")
}

/** smol-toml's syntax check, as an `Either`-like result. @internal */
export const parseToml = (
  text: string,
  path: string
): { readonly data: Record<string, unknown> } | { readonly error: InvalidConfiguration } => {
  try {
    return { data: TOML.parse(text) }
  } catch (error) {
    const where = error instanceof TOML.TomlError ? `${path}:${error.line}:${error.column}` : path
    return {
      error: configError(
        `${where}: ${tomlErrorText(error)}`,
        `Fix the TOML syntax at that position in ${path} and try again.`
      )
    }
  }
}

const emptyValues: FieldValues = {}

/** Builds a site's properties from layers, highest precedence first. */
const buildProps = (name: string, layers: ReadonlyArray<FieldValues>): SiteProps => {
  const props: Record<string, unknown> = { name }
  for (const field of fieldNames) {
    for (const layer of layers) {
      const value = layer[field]
      if (value !== undefined) {
        props[propertyName(field)] = value
        break
      }
    }
  }
  const provider = (props.provider ?? "anaplan") as Provider
  return {
    ...props,
    name,
    provider,
    method: (props.method ?? defaultMethod(provider)) as Method,
    storage: (props.storage ?? "auto") as StorageKind
  }
}

/** @internal */
export const parse = (text: string, path: string): Effect.Effect<Config, InvalidConfiguration> =>
  Effect.suspend(() => {
    const parsed = parseToml(text, path)
    if ("error" in parsed) return Effect.fail(parsed.error)
    const data = parsed.data
    let document: Doc.Document | undefined
    try {
      document = Doc.scan(text)
    } catch {
      document = undefined
    }
    const at = (keyPath: ReadonlyArray<string>) => {
      const line = document === undefined ? undefined : Doc.lineOf(document, keyPath)
      return line === undefined ? path : `${path}:${line}`
    }
    const errors: Array<string> = []
    const warnings: Array<string> = []
    const topLevel = [...fieldNames, "default_site", "sites"]

    const readFields = (
      entries: ReadonlyArray<readonly [string, unknown]>,
      prefix: ReadonlyArray<string>
    ): FieldValues => {
      const values: Record<string, Value> = {}
      const label = (key: string) => [...prefix, key].join(".")
      for (const [key, raw] of entries) {
        if (!isFieldName(key)) {
          const suggestion = closest(key, prefix.length === 0 ? topLevel : fieldNames)
          errors.push(
            `${at([...prefix, key])}: ${label(key)}: unknown key; ${
              suggestion === undefined ? `valid keys: ${fieldNames.join(", ")}` : `did you mean ${suggestion}?`
            }`
          )
          continue
        }
        const checked = checkValue(key, raw)
        if ("error" in checked) {
          errors.push(`${at([...prefix, key])}: ${label(key)}: ${checked.error}`)
          continue
        }
        if (checked.value === undefined) continue
        values[key] = checked.value
        // A proxy URL is a secret only when it carries a user and password.
        if (isSecretField(key) && (key !== "proxy" || /\/\/[^/@]*@/.test(String(raw)))) {
          warnings.push(
            `${at([...prefix, key])}: ${label(key)} is written in the config file in plain text; it works, ` +
              `but prefer the ${envVar(key)} environment variable${
                key === "password" ? " or password_file" : ""
              }, and keep the file private.`
          )
        }
      }
      return values
    }

    let defaultSite: Option.Option<string> = Option.none()
    const tables = new Map<string, FieldValues>()
    const defaults = readFields(
      Object.entries(data).filter(([key]) => key !== "default_site" && key !== "sites"),
      []
    )
    for (const [key, value] of Object.entries(data)) {
      if (key === "default_site") {
        if (typeof value !== "string") {
          errors.push(`${at([key])}: default_site: expected a site name in quotes, got ${describeType(value)}`)
        } else if (!isSiteName(value)) {
          errors.push(
            `${at([key])}: default_site: ${
              JSON.stringify(value)
            } is not a valid site name (letters, digits, "_" and "-" only)`
          )
        } else {
          defaultSite = Option.some(value)
        }
      } else if (key === "sites") {
        if (!isTable(value)) {
          errors.push(
            `${at([key])}: sites: expected a table of sites ([sites.NAME] headers), got ${describeType(value)}`
          )
          continue
        }
        for (const [name, table] of Object.entries(value)) {
          if (!isSiteName(name)) {
            errors.push(
              `${at(["sites", name])}: sites.${
                JSON.stringify(name)
              }: site names may contain only letters, digits, "_" and "-"`
            )
            continue
          }
          if (!isTable(table)) {
            errors.push(
              `${at(["sites", name])}: sites.${name}: expected a table ([sites.${name}]), got ${describeType(table)}`
            )
            continue
          }
          tables.set(name, readFields(Object.entries(table), ["sites", name]))
        }
      }
    }
    if (errors.length > 0) {
      return Effect.fail(configError(errors.join("\n"), `Edit ${path} and try again.`))
    }
    const names = [...tables.keys()]
    if (Option.isSome(defaultSite) && !tables.has(defaultSite.value)) {
      warnings.push(
        `${at(["default_site"])}: default_site names ${JSON.stringify(defaultSite.value)}, which is not a site in ${path} (${
          names.length === 0 ? "there are none" : `known: ${names.join(", ")}`
        }).`
      )
    }
    return Effect.succeed<Config>({
      path,
      exists: true,
      defaultSite,
      sites: names.map((name) => buildProps(name, [tables.get(name) ?? emptyValues, defaults])),
      warnings,
      raw: { defaults, tables }
    })
  })

/** @internal */
export const empty = (path: string): Config => ({
  path,
  exists: false,
  defaultSite: Option.none(),
  sites: [],
  warnings: [],
  raw: { defaults: {}, tables: new Map() }
})

// ---------------------------------------------------------------------------------------------
// paths and files
// ---------------------------------------------------------------------------------------------

const nonEmpty = (value: string | undefined): value is string => value !== undefined && value !== ""

const homeOf = Paths.home

/** @internal */
export const configPath = (env: Record<string, string | undefined> = process.env): string => Paths.configFile(env)

const reason = (error: unknown): string => {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined
  switch (code) {
    case "ENOENT":
      return "no such file or directory (ENOENT)"
    case "EACCES":
    case "EPERM":
      return `permission denied (${code})`
    case "EISDIR":
      return "it is a directory (EISDIR)"
    case "ENOTDIR":
      return "a parent is not a directory (ENOTDIR)"
    case "EROFS":
      return "read-only file system (EROFS)"
    case "ENOSPC":
      return "no space left on device (ENOSPC)"
    default:
      return code ?? (error instanceof Error ? error.message : String(error))
  }
}

const isMissing = (error: unknown) =>
  typeof error === "object" && error !== null && "code" in error && error.code === "ENOENT"

/** @internal */
export const load = (path?: string): Effect.Effect<Config, InvalidConfiguration> =>
  Effect.suspend(() => {
    const file = path ?? configPath()
    return Effect.tryPromise({
      try: () => Fs.readFile(file, "utf8").then((text): string | undefined => text, (error) => {
        if (isMissing(error)) return undefined
        throw error
      }),
      catch: (error) =>
        configError(
          `Cannot read the config file ${file}: ${reason(error)}`,
          "Fix its permissions, or point EFFECT_AUTH_CONFIG (or --config) at another file."
        )
    }).pipe(Effect.flatMap((text) => text === undefined ? Effect.succeed(empty(file)) : parse(text, file)))
  })

/** @internal */
export const loadDotEnv = (path = ".env"): Effect.Effect<Record<string, string>, InvalidConfiguration> =>
  Effect.tryPromise({
    try: () =>
      Fs.readFile(path, "utf8").then(parseDotEnv, (error) => {
        if (isMissing(error)) return {}
        throw error
      }),
    catch: (error) =>
      configError(`Cannot read ${path}: ${reason(error)}`, "Fix its permissions or remove it, then try again.")
  })

const writeFile = async (path: string, text: string): Promise<void> => {
  let target = path
  try {
    // Write through a symbolic link (dotfile managers link config files) instead of replacing it.
    target = await Fs.realpath(path)
  } catch (error) {
    if (!isMissing(error)) throw error
  }
  const directory = Path.dirname(target)
  await Fs.mkdir(directory, { recursive: true, mode: 0o700 })
  let mode = 0o600
  try {
    mode = (await Fs.stat(target)).mode & 0o7777
  } catch (error) {
    if (!isMissing(error)) throw error
  }
  const temporary = Path.join(directory, `.${Path.basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`)
  try {
    const handle = await Fs.open(temporary, "wx", 0o600)
    try {
      await handle.writeFile(text, "utf8")
      await handle.chmod(mode)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await Fs.rename(temporary, target)
  } catch (error) {
    await Fs.rm(temporary, { force: true }).catch(() => undefined)
    throw error
  }
  try {
    const handle = await Fs.open(directory, "r")
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // Not every platform can fsync a directory; the rename is atomic all the same.
  }
}

/** @internal */
export const write = (path: string, text: string): Effect.Effect<void, InvalidConfiguration> =>
  Effect.tryPromise({
    try: () => writeFile(path, text),
    catch: (error) =>
      configError(
        `Cannot write the config file ${path}: ${reason(error)}`,
        "Check that its directory is writable, or point EFFECT_AUTH_CONFIG (or --config) at another file."
      )
  })

// ---------------------------------------------------------------------------------------------
// .env
// ---------------------------------------------------------------------------------------------

const unescapeDouble = (value: string) =>
  value.replace(/\\([nrt"\\$])/g, (_, char: string) =>
    char === "n" ? "\n" : char === "r" ? "\r" : char === "t" ? "\t" : char)

/** @internal */
export const parseDotEnv = (text: string): Record<string, string> => {
  const result: Record<string, string> = {}
  const source = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n")
  const pattern = /^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*/gm
  const lines = source.split("\n")
  let index = 0
  while (index < lines.length) {
    const line = lines[index]
    index++
    pattern.lastIndex = 0
    const match = pattern.exec(line)
    if (match === null || match[1] === "__proto__") continue
    const key = match[1]
    const rest = line.slice(match[0].length)
    const quote = rest[0]
    if (quote === "\"" || quote === "'" || quote === "`") {
      // A quoted value may span lines until its closing quote.
      let body = rest.slice(1)
      let consumed = index
      let close = findClose(body, quote)
      while (close === -1 && consumed < lines.length) {
        body += `\n${lines[consumed]}`
        consumed++
        close = findClose(body, quote)
      }
      if (close === -1) {
        // No closing quote: take the rest of the line as written.
        result[key] = rest.trim()
        continue
      }
      index = consumed
      const inner = body.slice(0, close)
      result[key] = quote === "\"" ? unescapeDouble(inner) : inner
      continue
    }
    const comment = rest.search(/(^|[ \t])#/)
    result[key] = (comment === -1 ? rest : rest.slice(0, comment)).trim()
  }
  return result
}

const findClose = (body: string, quote: string): number => {
  for (let index = 0; index < body.length; index++) {
    if (quote === "\"" && body[index] === "\\") {
      index++
      continue
    }
    if (body[index] === quote) return index
  }
  return -1
}

// ---------------------------------------------------------------------------------------------
// resolve
// ---------------------------------------------------------------------------------------------

/** @internal */
export interface ResolveInput {
  readonly site?: string | undefined
  readonly flags?: Partial<Record<FieldName, string | undefined>> | undefined
  readonly env?: Record<string, string | undefined> | undefined
  readonly dotenv?: Record<string, string> | undefined
}

type Origin = "flag" | "env" | "dotenv" | "table" | "defaults"

interface Layer {
  readonly origin: Origin
  readonly get: (field: FieldName) => unknown
}

const flagName = (field: FieldName) => `--${field.replace(/_/g, "-")}`

const siteValues = (site: SiteProps): FieldValues => {
  const values: Record<string, Value> = {}
  for (const field of fieldNames) {
    const value = (site as Record<string, unknown>)[propertyName(field)]
    if (value !== undefined) values[field] = value as Value
  }
  return values
}

const expandHome = (path: string, env: Record<string, string | undefined>) =>
  path === "~" ? homeOf(env) : path.startsWith("~/") ? Path.join(homeOf(env), path.slice(2)) : path

const readPasswordFile = (file: string, label: string, site: string) =>
  Effect.tryPromise({
    try: () => Fs.readFile(file, "utf8"),
    catch: (error) =>
      configError(
        `Cannot read the password file ${file} (from ${label}): ${reason(error)}`,
        "Create the file with the password on one line (chmod 600), or set EFFECT_AUTH_PASSWORD instead.",
        site
      )
  }).pipe(
    Effect.flatMap((text) => {
      const password = text.replace(/\r?\n$/, "")
      return password === "" ?
        Effect.fail(
          configError(
            `The password file ${file} (from ${label}) is empty`,
            "Write the password into it, or set EFFECT_AUTH_PASSWORD instead.",
            site
          )
        ) :
        Effect.succeed(Redacted.make(password))
    })
  )

const addSiteHint = "Add one with `effect-auth sites add NAME --provider anaplan --email you@example.com` " +
  "(or set EFFECT_AUTH_EMAIL and EFFECT_AUTH_PASSWORD for a one-off site)."

/** @internal */
export const resolve = (config: Config, input: ResolveInput): Effect.Effect<SiteProps, InvalidConfiguration> =>
  Effect.gen(function*() {
    const env = input.env ?? process.env
    const dotenv = input.dotenv ?? {}
    const flags = input.flags ?? {}
    const path = config.path
    const names = config.sites.map((site) => site.name)
    const known = names.length === 0 ? `no sites are configured in ${path}` : `known sites: ${names.join(", ")}`

    const overrides: ReadonlyArray<Layer> = [
      { origin: "flag", get: (field) => flags[field] },
      { origin: "env", get: (field) => env[envVar(field)] },
      { origin: "dotenv", get: (field) => dotenv[envVar(field)] }
    ]
    const defaultsValues = config.raw?.defaults ?? emptyValues
    const defaultsLayer: Layer = { origin: "defaults", get: (field) => defaultsValues[field] }
    const hasIdentity = [...overrides, defaultsLayer].some((layer) =>
      identityFields.some((field) => {
        const value = layer.get(field)
        return value !== undefined && value !== ""
      })
    )

    let name: string | undefined
    let chosenBy = ""
    if (nonEmpty(input.site)) [name, chosenBy] = [input.site, "--at"]
    else if (nonEmpty(env.EFFECT_AUTH_SITE)) [name, chosenBy] = [env.EFFECT_AUTH_SITE, "EFFECT_AUTH_SITE"]
    else if (nonEmpty(dotenv.EFFECT_AUTH_SITE)) [name, chosenBy] = [dotenv.EFFECT_AUTH_SITE, "EFFECT_AUTH_SITE in .env"]
    else if (Option.isSome(config.defaultSite)) [name, chosenBy] = [config.defaultSite.value, `default_site in ${path}`]
    else if (names.length === 1) [name, chosenBy] = [names[0], "the only site"]

    let layers: ReadonlyArray<Layer>
    if (name === undefined) {
      if (names.length > 1) {
        return yield* Effect.fail(configError(
          `${names.length} sites are configured in ${path} (${names.join(", ")}) and none is chosen`,
          `Pass --at NAME, set EFFECT_AUTH_SITE=NAME, or set default_site = "NAME" in ${path}.`
        ))
      }
      if (!hasIdentity) {
        return yield* Effect.fail(configError(
          config.exists ?
            `No site is configured: ${path} has no [sites.NAME] table` :
            `No site is configured: ${path} does not exist and no EFFECT_AUTH_* variable names an account`,
          addSiteHint
        ))
      }
      name = "default"
      layers = [...overrides, defaultsLayer]
    } else {
      const site = config.sites.find((candidate) => candidate.name === name)
      if (site === undefined) {
        if (name === "default" && hasIdentity) {
          layers = [...overrides, defaultsLayer]
        } else {
          return yield* Effect.fail(configError(
            `There is no site named ${JSON.stringify(name)} (chosen by ${chosenBy}); ${known}`,
            names.length === 0 ? addSiteHint : `Use one of: ${names.join(", ")}, or add it with \`effect-auth sites add ${
              isSiteName(name) ? name : "NAME"
            } ...\`.`
          ))
        }
      } else {
        const table = config.raw?.tables.get(site.name) ?? siteValues(site)
        layers = [...overrides, { origin: "table", get: (field) => table[field] }, defaultsLayer]
      }
    }
    const siteName = name

    const label = (field: FieldName, origin: Origin) => {
      switch (origin) {
        case "flag":
          return flagName(field)
        case "env":
          return envVar(field)
        case "dotenv":
          return `${envVar(field)} in .env`
        case "table":
          return `sites.${siteName}.${field} in ${path}`
        case "defaults":
          return `${field} (top-level default) in ${path}`
      }
    }

    const errors: Array<string> = []
    const values: Record<string, Value> = {}
    const origins = new Map<FieldName, { readonly origin: Origin; readonly rank: number }>()
    for (const field of fieldNames) {
      for (let rank = 0; rank < layers.length; rank++) {
        const layer = layers[rank]
        const raw = layer.get(field)
        if (raw === undefined || raw === "") continue
        if (layer.origin === "table" || layer.origin === "defaults") {
          values[field] = raw as Value
        } else {
          const checked = checkValue(field, raw)
          if ("error" in checked) {
            errors.push(`${label(field, layer.origin)}: ${checked.error}`)
            break
          }
          if (checked.value === undefined) continue
          values[field] = checked.value
        }
        origins.set(field, { origin: layer.origin, rank })
        break
      }
    }
    if (errors.length > 0) {
      return yield* Effect.fail(configError(errors.join("\n"), "Correct the value and try again.", siteName))
    }

    const fileDirectory = Path.dirname(Path.resolve(path))
    for (const field of pathFields) {
      const value = values[field]
      const origin = origins.get(field)
      if (typeof value !== "string" || origin === undefined) continue
      const expanded = expandHome(value, env)
      values[field] = origin.origin === "table" || origin.origin === "defaults" ?
        Path.resolve(fileDirectory, expanded) :
        Path.resolve(expanded)
    }

    const passwordFile = origins.get("password_file")
    const password = origins.get("password")
    if (passwordFile !== undefined && (password === undefined || passwordFile.rank < password.rank)) {
      values.password = yield* readPasswordFile(
        values.password_file as string,
        label("password_file", passwordFile.origin),
        siteName
      )
      origins.set("password", passwordFile)
    }

    const props = buildProps(siteName, [values])
    const has = (field: FieldName) => values[field] !== undefined
    const where = (field: FieldName) =>
      `${field} (in [sites.${siteName}] of ${path}, or ${envVar(field)}${
        field === "password" ? ", or password_file" : ""
      })`
    const providerFrom = origins.get("provider")
    const methodFrom = origins.get("method")
    const allowed = methodsOf[props.provider]
    if (!allowed.includes(props.method)) {
      errors.push(
        `method ${props.method}${methodFrom ? ` (from ${label("method", methodFrom.origin)})` : ""} does not work with provider ${props.provider}${
          providerFrom ? ` (from ${label("provider", providerFrom.origin)})` : " (the default)"
        }; methods for ${props.provider}: ${allowed.join(", ")}`
      )
    } else {
      const needs = (field: FieldName, why: string) => {
        if (!has(field)) errors.push(`${why} needs ${where(field)}`)
      }
      const needsOne = (fields: ReadonlyArray<FieldName>, why: string) => {
        if (!fields.some(has)) {
          errors.push(
            `${why} needs ${fields.join(" or ")} (in [sites.${siteName}] of ${path}, or ${
              fields.map(envVar).join(" or ")
            })`
          )
        }
      }
      const method = `method ${props.method}`
      switch (props.method) {
        case "certificate":
          needs("certificate", method)
          needs("private_key", method)
          break
        case "token":
          needs("token", method)
          break
        // refresh_token is needed only to log in (a stored token refreshes with its own), so the
        // login checks it, not every command.
        case "client_credentials":
          needs("client_secret", method)
          break
        default:
          break
      }
      const oauth = props.method !== "basic" && props.method !== "certificate" && props.method !== "token"
      if (oauth) {
        const provider = `provider ${props.provider} with ${method}`
        switch (props.provider) {
          case "anaplan":
            needs("client_id", provider)
            break
          case "oauth2":
            needs("client_id", provider)
            needsOne(["issuer", "token_url"], provider)
            if (props.method === "oauth") needsOne(["issuer", "authorization_url"], provider)
            if (props.method === "device") needsOne(["issuer", "device_url"], provider)
            break
          case "foundry":
            needs("hostname", provider)
            needs("client_id", provider)
            break
          case "anaconda":
            break
        }
      }
    }
    if (props.storage === "redis" && !has("redis_url")) {
      errors.push(`storage redis needs ${where("redis_url")}`)
    }
    if (errors.length > 0) {
      return yield* Effect.fail(configError(
        `Site ${siteName} is incomplete: ${errors.join("; ")}`,
        "Set the missing values in the site's table or in the environment, then try again.",
        siteName
      ))
    }
    return props
  })

// ---------------------------------------------------------------------------------------------
// editing
// ---------------------------------------------------------------------------------------------

/** @internal */
export type EditValue = string | ReadonlyArray<string>

const editLabel = "config.toml"

/** Checks the values to write; scopes may be a list or a space-separated string. */
const checkEdits = (
  name: string,
  fields: Partial<Record<FieldName, EditValue>>
): Effect.Effect<
  { readonly edits: ReadonlyArray<readonly [FieldName, EditValue]>; readonly cleared: ReadonlyArray<FieldName> },
  InvalidConfiguration
> => {
  const errors: Array<string> = []
  const result: Array<readonly [FieldName, EditValue]> = []
  const cleared: Array<FieldName> = []
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    if (!isFieldName(key)) {
      const suggestion = closest(key, fieldNames)
      errors.push(`sites.${name}.${key}: unknown key${suggestion === undefined ? "" : `; did you mean ${suggestion}?`}`)
      continue
    }
    if (typeof value !== "string" && key !== "scopes") {
      errors.push(`sites.${name}.${key}: takes one value, not a list`)
      continue
    }
    const checked = checkValue(key, value)
    if ("error" in checked) {
      errors.push(`sites.${name}.${key}: ${checked.error}`)
      continue
    }
    if (value === "" || (key === "scopes" && typeof value === "string" && checked.value === undefined)) {
      cleared.push(key)
      continue
    }
    result.push([key, key === "scopes" && typeof value === "string" ? value.split(/\s+/).filter((s) => s !== "") : value])
  }
  result.sort((a, b) => fieldNames.indexOf(a[0]) - fieldNames.indexOf(b[0]))
  return errors.length > 0 ?
    Effect.fail(configError(errors.join("\n"), "Correct the values and try again.", name)) :
    Effect.succeed({ edits: result, cleared })
}

const checkName = (name: string) =>
  isSiteName(name) ?
    Effect.void :
    Effect.fail(configError(
      `${JSON.stringify(name)} is not a valid site name`,
      "Use only letters, digits, \"_\" and \"-\" (for example prod-eu)."
    ))

/** Parses the text to edit: it must be a valid config file already. */
const open = (text: string) =>
  parse(text, editLabel).pipe(
    Effect.map((config) => ({ config, document: Doc.scan(text) })),
    Effect.mapError((error) =>
      configError(
        `The config file cannot be edited while it has errors: ${error.detail}`,
        "Fix those errors by hand first (or move the file away), then try again."
      )
    )
  )

/** Re-parses the result of an edit, so that no edit ever writes a file that does not load. */
const validated = (text: string) =>
  parse(text, editLabel).pipe(
    Effect.as(text),
    Effect.mapError((error) =>
      configError(`The edit would make the config file invalid: ${error.detail}`, "Correct the values and try again.")
    )
  )

const requireSite = (config: Config, name: string) =>
  config.sites.some((site) => site.name === name) ?
    Effect.void :
    Effect.fail(configError(
      `There is no site named ${JSON.stringify(name)}; ${
        config.sites.length === 0 ? "no sites are configured" : `known sites: ${config.sites.map((s) => s.name).join(", ")}`
      }`,
      config.sites.length === 0 ? addSiteHint : "Check the name (`effect-auth sites list`)."
    ))

const withNewline = (text: string, newline: string) => text === "" || text.endsWith("\n") ? text : text + newline

/** @internal */
export const addSite = (
  text: string,
  name: string,
  fields: Partial<Record<FieldName, EditValue>>
): Effect.Effect<string, InvalidConfiguration> =>
  Effect.gen(function*() {
    yield* checkName(name)
    const { edits } = yield* checkEdits(name, fields)
    const { config, document } = yield* open(text)
    if (config.sites.some((site) => site.name === name)) {
      return yield* Effect.fail(configError(
        `A site named ${name} already exists`,
        `Change it with \`effect-auth sites modify ${name} ...\`, or pick another name.`,
        name
      ))
    }
    const nl = document.newline
    const block = [`[sites.${name}]`, ...edits.map(([key, value]) => `${key} = ${Doc.formatValue(value)}`)]
      .map((line) => line + nl).join("")
    const base = withNewline(text, nl)
    const separator = base === "" || base.endsWith(`${nl}${nl}`) || base.trim() === "" ? "" : nl
    return yield* validated(base + separator + block)
  })

const siteStatements = (document: Doc.Document, name: string) =>
  document.statements.filter((statement) => Doc.startsWith(statement.path, ["sites", name]))

const notEditable = (name: string) =>
  configError(
    `sites.${name} is written as an inline table, which this command does not rewrite`,
    `Edit the file by hand, or write the site as a [sites.${name}] table first.`,
    name
  )

/** @internal */
export const modifySite = (
  text: string,
  name: string,
  set: Partial<Record<FieldName, EditValue>>,
  unsetFields: ReadonlyArray<FieldName> = []
): Effect.Effect<string, InvalidConfiguration> =>
  Effect.gen(function*() {
    yield* checkName(name)
    const { cleared, edits } = yield* checkEdits(name, set)
    const unset = [...unsetFields, ...cleared]
    const { config, document } = yield* open(text)
    yield* requireSite(config, name)
    const both = edits.filter(([field]) => unset.includes(field)).map(([field]) => field)
    if (both.length > 0) {
      return yield* Effect.fail(configError(
        `${both.join(", ")} cannot be both set and unset`,
        "Pass each field to either set or unset.",
        name
      ))
    }
    const unknown = unset.filter((field) => !isFieldName(field))
    if (unknown.length > 0) {
      return yield* Effect.fail(configError(
        `Cannot unset ${unknown.join(", ")}: not a site field`,
        `Valid fields: ${fieldNames.join(", ")}.`,
        name
      ))
    }
    const statements = siteStatements(document, name)
    if (
      statements.some((statement) => statement.kind === "keyValue" && statement.path.length === 2) ||
      !statements.some((statement) => statement.kind === "header" || statement.path.length > 2)
    ) {
      return yield* Effect.fail(notEditable(name))
    }
    const nl = document.newline
    const find = (field: FieldName) =>
      statements.find((statement) => statement.kind === "keyValue" && Doc.samePath(statement.path, ["sites", name, field]))
    const result: Array<Doc.Edit> = []
    const inserts: Array<string> = []
    for (const [field, value] of edits) {
      const existing = find(field)
      if (existing === undefined) inserts.push(field)
      if (existing !== undefined) {
        result.push({ start: existing.valueStart, end: existing.valueEnd, text: Doc.formatValue(value) })
      }
    }
    for (const field of unset) {
      const existing = find(field)
      if (existing !== undefined) result.push({ start: existing.lineStart, end: existing.lineEnd, text: "" })
    }
    if (inserts.length > 0) {
      const header = statements.find((statement) => statement.kind === "header" && statement.path.length === 2)
      const keyValues = statements.filter((statement) =>
        statement.kind === "keyValue" && (header === undefined || statement.start > header.start)
      )
      const anchor = keyValues.length > 0 ? keyValues[keyValues.length - 1] : header
      if (anchor === undefined) return yield* Effect.fail(notEditable(name))
      const prefix = anchor.kind === "keyValue" ? anchor.path.slice(anchor.table.length, 2) : []
      const indent = anchor.kind === "keyValue" ? text.slice(anchor.lineStart, anchor.start) : ""
      const lines = inserts.map((field) => {
        const value = edits.find(([candidate]) => candidate === field)![1]
        return `${indent}${[...prefix, field].map(Doc.formatKey).join(".")} = ${Doc.formatValue(value)}${nl}`
      }).join("")
      const needsNewline = anchor.lineEnd === text.length && !text.endsWith("\n")
      result.push({ start: anchor.lineEnd, end: anchor.lineEnd, text: (needsNewline ? nl : "") + lines })
    }
    return yield* validated(Doc.applyEdits(text, result))
  })

const defaultSiteStatement = (document: Doc.Document) =>
  document.statements.find((statement) =>
    statement.kind === "keyValue" && statement.table.length === 0 && Doc.samePath(statement.path, ["default_site"])
  )

/** @internal */
export const removeSite = (
  text: string,
  name: string,
  options: { readonly newDefault?: string | undefined; readonly force?: boolean | undefined } = {}
): Effect.Effect<string, InvalidConfiguration> =>
  Effect.gen(function*() {
    const { config, document } = yield* open(text)
    yield* requireSite(config, name)
    const isDefault = Option.contains(config.defaultSite, name)
    const newDefault = options.newDefault
    if (newDefault !== undefined) {
      if (newDefault === name) {
        return yield* Effect.fail(configError(
          `The new default site cannot be ${name}, the site being removed`,
          "Name another site as the new default.",
          name
        ))
      }
      yield* requireSite(config, newDefault)
    } else if (isDefault && options.force !== true) {
      const others = config.sites.map((site) => site.name).filter((other) => other !== name)
      return yield* Effect.fail(configError(
        `${name} is the default site`,
        `Name a new default (--new-default ${others[0] ?? "NAME"}) or pass --force to remove it and clear default_site.`,
        name
      ))
    }
    const edits: Array<Doc.Edit> = []
    const headers = document.statements.filter((statement) => statement.kind !== "keyValue")
    const removedHeaders = headers.filter((statement) => Doc.startsWith(statement.path, ["sites", name]))
    const sections: Array<readonly [number, number]> = []
    for (const header of removedHeaders) {
      const next = headers.find((candidate) => candidate.start > header.start)
      let start = Doc.attachedStart(text, header.lineStart)
      const end = next === undefined ? text.length : Doc.attachedStart(text, next.lineStart)
      if (end === text.length) start = Doc.blankLinesBefore(text, start)
      sections.push([start, end])
      edits.push({ start, end, text: "" })
    }
    for (const statement of document.statements) {
      if (
        statement.kind === "keyValue" && Doc.startsWith(statement.path, ["sites", name]) &&
        !sections.some(([start, end]) => statement.start >= start && statement.start < end)
      ) {
        edits.push({ start: statement.lineStart, end: statement.lineEnd, text: "" })
      }
    }
    const current = defaultSiteStatement(document)
    if (newDefault !== undefined) {
      edits.push(...setDefaultEdits(text, document, newDefault))
    } else if (isDefault && current !== undefined) {
      edits.push({ start: current.lineStart, end: current.lineEnd, text: "" })
    }
    return yield* validated(Doc.applyEdits(text, edits))
  })

const setDefaultEdits = (text: string, document: Doc.Document, name: string): ReadonlyArray<Doc.Edit> => {
  const current = defaultSiteStatement(document)
  if (current !== undefined) return [{ start: current.valueStart, end: current.valueEnd, text: Doc.quote(name) }]
  const nl = document.newline
  const line = `default_site = ${Doc.quote(name)}${nl}`
  const first = document.statements[0]
  if (first === undefined) {
    const base = withNewline(text, nl)
    return [{ start: 0, end: text.length, text: base + line }]
  }
  const at = Doc.attachedStart(text, first.lineStart)
  return [{ start: at, end: at, text: first.kind === "keyValue" ? line : line + nl }]
}

/** @internal */
export const setDefault = (text: string, name: string): Effect.Effect<string, InvalidConfiguration> =>
  Effect.gen(function*() {
    const { config, document } = yield* open(text)
    yield* requireSite(config, name)
    return yield* validated(Doc.applyEdits(text, setDefaultEdits(text, document, name)))
  })

// ---------------------------------------------------------------------------------------------
// diff
// ---------------------------------------------------------------------------------------------

const secretMask = "\"********\""

/**
 * The lines of `text`, with the values of secret keys masked. A value that differs from the one
 * at the same key in `previous` is marked as changed, so that a changed secret still shows.
 */
const maskedLines = (
  text: string,
  previous?: ReadonlyMap<string, string>
): { readonly lines: Array<string>; readonly secrets: ReadonlyMap<string, string> } => {
  const secrets = new Map<string, string>()
  const lines = text.split(/\r?\n/)
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop()
  let document: Doc.Document
  try {
    TOML.parse(text)
    document = Doc.scan(text)
  } catch {
    const secret = new RegExp(`^(\\s*(?:[^=#]*\\.)?(?:${secretFieldNames.join("|")})\\s*=\\s*).*$`)
    return { lines: lines.map((line) => line.replace(secret, `$1${secretMask}`)), secrets }
  }
  for (const statement of document.statements) {
    const last = statement.path[statement.path.length - 1]
    if (statement.kind !== "keyValue" || last === undefined || !isFieldName(last) || !isSecretField(last)) continue
    const first = Doc.lineNumber(text, statement.start) - 1
    const final = Doc.lineNumber(text, statement.valueEnd) - 1
    const key = JSON.stringify(statement.path)
    const value = text.slice(statement.valueStart, statement.valueEnd)
    secrets.set(key, value)
    const changed = previous !== undefined && previous.get(key) !== value
    lines[first] = text.slice(statement.lineStart, statement.valueStart) + secretMask +
      (changed ? "  # (secret changed)" : "")
    for (let index = first + 1; index <= final && index < lines.length; index++) lines[index] = "********"
  }
  return { lines, secrets }
}

/** @internal */
export const diff = (before: string, after: string): string => {
  const masked = maskedLines(before)
  const a = masked.lines
  const b = maskedLines(after, masked.secrets).lines
  if (a.length * b.length > 4_000_000) {
    return [`@@ -1,${a.length} +1,${b.length} @@`, ...a.map((line) => `-${line}`), ...b.map((line) => `+${line}`)]
      .join("\n") + "\n"
  }
  // Longest common subsequence, then walk it into - / + / context lines.
  const table: Array<Uint32Array> = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1))
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i][j] = a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1])
    }
  }
  type Line = { readonly op: " " | "-" | "+"; readonly text: string; readonly oldLine: number; readonly newLine: number }
  const ops: Array<Line> = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ op: " ", text: a[i], oldLine: i, newLine: j })
      i++
      j++
    } else if (i < a.length && (j >= b.length || table[i + 1][j] >= table[i][j + 1])) {
      ops.push({ op: "-", text: a[i], oldLine: i, newLine: j })
      i++
    } else {
      ops.push({ op: "+", text: b[j], oldLine: i, newLine: j })
      j++
    }
  }
  const context = 3
  const changed = ops.map((line, index) => line.op === " " ? -1 : index).filter((index) => index >= 0)
  if (changed.length === 0) return ""
  const hunks: Array<[number, number]> = []
  for (const index of changed) {
    const start = Math.max(0, index - context)
    const end = Math.min(ops.length, index + context + 1)
    const last = hunks[hunks.length - 1]
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end)
    else hunks.push([start, end])
  }
  const out: Array<string> = []
  for (const [start, end] of hunks) {
    const slice = ops.slice(start, end)
    const oldCount = slice.filter((line) => line.op !== "+").length
    const newCount = slice.filter((line) => line.op !== "-").length
    const oldStart = oldCount === 0 ? slice[0].oldLine : slice[0].oldLine + 1
    const newStart = newCount === 0 ? slice[0].newLine : slice[0].newLine + 1
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`)
    for (const line of slice) out.push(`${line.op}${line.text}`)
  }
  return out.join("\n") + "\n"
}
