/**
 * Reading the configuration file: TOML syntax, then every key and value checked against the
 * registry's fields, each problem reported with its line.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Fs from "node:fs/promises"
import * as TOML from "smol-toml"
import { InvalidConfiguration } from "../AuthError.js"
import * as Paths from "../Paths.js"
import type * as Provider from "../Provider.js"
import * as Doc from "./sitesDocument.js"
import * as Fields from "./sitesFields.js"
import { unknownKeyAdvice } from "./sitesSuggest.js"

/** A site's properties, with defaults applied. @internal */
export interface SiteProps {
  readonly name: string
  readonly provider: string
  readonly method: string
  readonly storage: Fields.StorageKind
  /** Every field that is set (these three too), by its file name, in the registry's order. */
  readonly values: Fields.Values
}

/** @internal */
export interface Raw {
  readonly defaults: Fields.Values
  readonly tables: ReadonlyMap<string, Fields.Values>
}

/** @internal */
export interface Config {
  readonly path: string
  readonly exists: boolean
  readonly defaultSite: Option.Option<string>
  readonly sites: ReadonlyArray<SiteProps>
  readonly warnings: ReadonlyArray<string>
  readonly raw?: Raw | undefined
  readonly providers: ReadonlyArray<Provider.Provider>
}

/** @internal */
export const configError = (detail: string, hint: string, site?: string) =>
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

/** Builds a site's properties from layers of values, highest precedence first. @internal */
export const buildProps = (
  registry: Fields.Registry,
  name: string,
  layers: ReadonlyArray<Fields.Values>
): SiteProps => {
  const pick = (field: string) => {
    for (const layer of layers) {
      const value = layer.get(field)
      if (value !== undefined) return value
    }
    return undefined
  }
  const provider = registry.provider(String(pick("provider") ?? "")) ?? registry.defaultProvider
  const method = pick("method")
  const storage = pick("storage")
  const defaults: Record<string, Fields.Value> = {
    provider: provider.name,
    method: typeof method === "string" ? method : provider.methods[0],
    storage: typeof storage === "string" ? storage : "auto"
  }
  const values = new Map<string, Fields.Value>()
  for (const field of registry.fieldNames) {
    const value = Object.hasOwn(defaults, field) ? defaults[field] : pick(field)
    if (value !== undefined) values.set(field, value)
  }
  return {
    name,
    provider: defaults.provider as string,
    method: defaults.method as string,
    storage: defaults.storage as Fields.StorageKind,
    values
  }
}

/** @internal */
export const parse = (
  text: string,
  path: string,
  providers: ReadonlyArray<Provider.Provider>
): Effect.Effect<Config, InvalidConfiguration> =>
  Effect.suspend(() => {
    const registry = Fields.registry(providers)
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
    const topLevel = [...registry.fieldNames, "default_site", "sites"]

    const readFields = (entries: ReadonlyArray<readonly [string, unknown]>, prefix: ReadonlyArray<string>) => {
      const values = new Map<string, Fields.Value>()
      const label = (key: string) => [...prefix, key].join(".")
      for (const [key, raw] of entries) {
        if (!registry.fields.has(key)) {
          const advice = unknownKeyAdvice(key, prefix.length === 0 ? topLevel : registry.fieldNames, registry.fieldNames)
          errors.push(`${at([...prefix, key])}: ${label(key)}: unknown key; ${advice}`)
          continue
        }
        const checked = Fields.checkValue(registry, key, raw)
        if ("error" in checked) {
          errors.push(`${at([...prefix, key])}: ${label(key)}: ${checked.error}`)
          continue
        }
        if (checked.value === undefined) continue
        values.set(key, checked.value)
        // A proxy URL is a secret only when it carries a user and password.
        if (Fields.isSecret(registry, key) && (key !== "proxy" || /\/\/[^/@]*@/.test(String(raw)))) {
          const holder = registry.fieldNames.find((name) => registry.fields.get(name)?.holds === key)
          warnings.push(
            `${at([...prefix, key])}: ${label(key)} is written in the config file in plain text; it works, ` +
              `but prefer the ${Fields.envVar(key)} environment variable${
                holder === undefined ? "" : ` or ${holder}`
              }, and keep the file private.`
          )
        }
      }
      return values
    }

    let defaultSite: Option.Option<string> = Option.none()
    const tables = new Map<string, Fields.Values>()
    const defaults = readFields(
      Object.entries(data).filter(([key]) => key !== "default_site" && key !== "sites"),
      []
    )
    for (const [key, value] of Object.entries(data)) {
      if (key === "default_site") {
        if (typeof value !== "string") {
          errors.push(`${at([key])}: default_site: expected a site name in quotes, got ${Fields.describeType(value)}`)
        } else if (!Fields.isSiteName(value)) {
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
            `${at([key])}: sites: expected a table of sites ([sites.NAME] headers), got ${Fields.describeType(value)}`
          )
          continue
        }
        for (const [name, table] of Object.entries(value)) {
          if (!Fields.isSiteName(name)) {
            errors.push(
              `${at(["sites", name])}: sites.${
                JSON.stringify(name)
              }: site names may contain only letters, digits, "_" and "-"`
            )
            continue
          }
          if (!isTable(table)) {
            errors.push(
              `${at(["sites", name])}: sites.${name}: expected a table ([sites.${name}]), got ${
                Fields.describeType(table)
              }`
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
    // In file order: an object's integer-like keys ("0", "42") would come first.
    const written = document === undefined ?
      [] :
      document.statements.flatMap((statement) =>
        statement.path[0] === "sites" && statement.path.length >= 2 ? [statement.path[1]] : []
      )
    const rank = (name: string) => {
      const index = written.indexOf(name)
      return index === -1 ? written.length : index
    }
    const names = [...tables.keys()].sort((a, b) => rank(a) - rank(b))
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
      sites: names.map((name) => buildProps(registry, name, [tables.get(name) ?? new Map(), defaults])),
      warnings,
      raw: { defaults, tables },
      providers
    })
  })

/** @internal */
export const empty = (path: string, providers: ReadonlyArray<Provider.Provider>): Config => ({
  path,
  exists: false,
  defaultSite: Option.none(),
  sites: [],
  warnings: [],
  raw: { defaults: new Map(), tables: new Map() },
  providers
})

/** A file system error in words, with its code. @internal */
export const reason = (error: unknown): string => {
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

/** @internal */
export const isMissing = (error: unknown) =>
  typeof error === "object" && error !== null && "code" in error && error.code === "ENOENT"

/** @internal */
export const configPath = (env: Record<string, string | undefined> = process.env): string => Paths.configFile(env)

/** @internal */
export const load = (
  path: string | undefined,
  providers: ReadonlyArray<Provider.Provider>
): Effect.Effect<Config, InvalidConfiguration> =>
  Effect.suspend(() => {
    const file = path ?? configPath()
    return Effect.tryPromise({
      try: () =>
        Fs.readFile(file, "utf8").then((text): string | undefined => text, (error) => {
          if (isMissing(error)) return undefined
          throw error
        }),
      catch: (error) =>
        configError(
          `Cannot read the config file ${file}: ${reason(error)}`,
          "Fix its permissions, or point EFFECT_AUTH_CONFIG (or --config) at another file."
        )
    }).pipe(Effect.flatMap((text) => text === undefined ? Effect.succeed(empty(file, providers)) : parse(text, file, providers)))
  })
