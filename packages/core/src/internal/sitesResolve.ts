/**
 * Precedence: which site, and where each of its fields comes from. Both are an ordered list of
 * sources, highest first; the first that has a value wins.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import type { InvalidConfiguration } from "../AuthError.js"
import * as Paths from "../Paths.js"
import * as Fields from "./sitesFields.js"
import { buildProps, type Config, configError, reason, type SiteProps } from "./sitesParse.js"

/** @internal */
export interface ResolveInput {
  readonly site?: string | undefined
  readonly flags?: Partial<Record<string, string | undefined>> | undefined
  readonly env?: Record<string, string | undefined> | undefined
  readonly dotenv?: Record<string, string> | undefined
}

/** One place a field's value may come from. */
interface Source {
  /** Where the value came from, in messages (`--auth-url`, `EFFECT_AUTH_AUTH_URL in .env`, ...). */
  readonly label: (field: string) => string
  readonly get: (field: string) => unknown
  /** Values from the file were checked when it was parsed; the others are checked here. */
  readonly checked: boolean
  /** Whether paths from it are relative to the config file's directory. */
  readonly inFile: boolean
}

const own = (record: Partial<Record<string, string | undefined>>, key: string): string | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined

const nonEmpty = (value: string | undefined): value is string => value !== undefined && value !== ""

/** @internal */
export const addSiteHint = (registry: Fields.Registry): string => {
  const provider = registry.defaultProvider
  const example = provider.example ?? { flags: "...", env: "its EFFECT_AUTH_* variables" }
  return `Add one with \`effect-auth sites add NAME --provider ${provider.name} ${example.flags}\` ` +
    `(or set ${example.env} for a one-off site).`
}

const overrides = (input: ResolveInput, env: Record<string, string | undefined>): ReadonlyArray<Source> => {
  const flags = input.flags ?? {}
  const dotenv = input.dotenv ?? {}
  return [
    { label: (field) => `--${field.replace(/_/g, "-")}`, get: (field) => own(flags, field), checked: false, inFile: false },
    { label: Fields.envVar, get: (field) => own(env, Fields.envVar(field)), checked: false, inFile: false },
    {
      label: (field) => `${Fields.envVar(field)} in .env`,
      get: (field) => own(dotenv, Fields.envVar(field)),
      checked: false,
      inFile: false
    }
  ]
}

const fileSource = (values: Fields.Values, label: (field: string) => string): Source => ({
  label,
  get: (field) => values.get(field),
  checked: true,
  inFile: true
})

/** Which site: the first of these that names one. */
const chooseSite = (config: Config, input: ResolveInput, env: Record<string, string | undefined>) => {
  const names = config.sites.map((site) => site.name)
  const choices: ReadonlyArray<readonly [string | undefined, string]> = [
    [input.site, "--at"],
    [own(env, "EFFECT_AUTH_SITE"), "EFFECT_AUTH_SITE"],
    [own(input.dotenv ?? {}, "EFFECT_AUTH_SITE"), "EFFECT_AUTH_SITE in .env"],
    [Option.getOrUndefined(config.defaultSite), `default_site in ${config.path}`],
    [names.length === 1 ? names[0] : undefined, "the only site"]
  ]
  const chosen = choices.find(([name]) => nonEmpty(name))
  return chosen === undefined ? undefined : { name: chosen[0]!, chosenBy: chosen[1] }
}

/** The sources of a site's fields, highest first, or the error saying why there is no site. */
const sourcesOf = (
  config: Config,
  input: ResolveInput,
  env: Record<string, string | undefined>
): Effect.Effect<{ readonly name: string; readonly sources: ReadonlyArray<Source> }, InvalidConfiguration> => {
  const registry = Fields.registry(config.providers)
  const path = config.path
  const names = config.sites.map((site) => site.name)
  const defaults = fileSource(
    config.raw?.defaults ?? new Map(),
    (field) => `${field} (top-level default) in ${path}`
  )
  const fromEnvironment = [...overrides(input, env), defaults]
  const hasIdentity = fromEnvironment.some((source) =>
    registry.fieldNames.some((field) => {
      if (registry.fields.get(field)?.identity !== true) return false
      const value = source.get(field)
      return value !== undefined && value !== ""
    })
  )
  const chosen = chooseSite(config, input, env)
  if (chosen === undefined) {
    if (names.length > 1) {
      return Effect.fail(configError(
        `${names.length} sites are configured in ${path} (${names.join(", ")}) and none is chosen`,
        `Pass --at NAME, set EFFECT_AUTH_SITE=NAME, or set default_site = "NAME" in ${path}.`
      ))
    }
    if (!hasIdentity) {
      return Effect.fail(configError(
        config.exists ?
          `No site is configured: ${path} has no [sites.NAME] table` :
          `No site is configured: ${path} does not exist and no EFFECT_AUTH_* variable names an account`,
        addSiteHint(registry)
      ))
    }
    return Effect.succeed({ name: "default", sources: fromEnvironment })
  }
  const { chosenBy, name } = chosen
  const site = config.sites.find((candidate) => candidate.name === name)
  if (site !== undefined) {
    const table = fileSource(
      config.raw?.tables.get(site.name) ?? site.values,
      (field) => `sites.${name}.${field} in ${path}`
    )
    return Effect.succeed({ name, sources: [...overrides(input, env), table, defaults] })
  }
  if (name === "default" && hasIdentity) return Effect.succeed({ name, sources: fromEnvironment })
  const known = names.length === 0 ? `no sites are configured in ${path}` : `known sites: ${names.join(", ")}`
  return Effect.fail(configError(
    `There is no site named ${JSON.stringify(name)} (chosen by ${chosenBy}); ${known}`,
    names.length === 0 ?
      addSiteHint(registry) :
      `Use one of: ${names.join(", ")}, or add it with \`effect-auth sites add ${
        Fields.isSiteName(name) ? name : "NAME"
      } ...\`.`
  ))
}

interface Picked {
  readonly value: Fields.Value
  readonly source: Source
  readonly rank: number
}

const expandHome = (path: string, env: Record<string, string | undefined>) =>
  path === "~" ? Paths.home(env) : path.startsWith("~/") ? Path.join(Paths.home(env), path.slice(2)) : path

/** Reads a file that holds a secret (`password_file`), one trailing newline dropped. */
const readHeldSecret = (file: string, label: string, site: string, secret: string) =>
  Effect.tryPromise({
    try: () => Fs.readFile(file, "utf8"),
    catch: (error) =>
      configError(
        `Cannot read the ${secret} file ${file} (from ${label}): ${reason(error)}`,
        `Create the file with the ${secret} on one line (chmod 600), or set ${Fields.envVar(secret)} instead.`,
        site
      )
  }).pipe(
    Effect.flatMap((text) => {
      const value = text.replace(/\r?\n$/, "")
      return value === "" ?
        Effect.fail(
          configError(
            `The ${secret} file ${file} (from ${label}) is empty`,
            `Write the ${secret} into it, or set ${Fields.envVar(secret)} instead.`,
            site
          )
        ) :
        Effect.succeed(Redacted.make(value))
    })
  )

/** @internal */
export const resolve = (config: Config, input: ResolveInput): Effect.Effect<SiteProps, InvalidConfiguration> =>
  Effect.gen(function*() {
    const registry = Fields.registry(config.providers)
    const env = input.env ?? process.env
    const { name, sources } = yield* sourcesOf(config, input, env)

    const errors: Array<string> = []
    const picked = new Map<string, Picked>()
    for (const field of registry.fieldNames) {
      for (const [rank, source] of sources.entries()) {
        const raw = source.get(field)
        if (raw === undefined || raw === "") continue
        if (source.checked) {
          picked.set(field, { value: raw as Fields.Value, source, rank })
          break
        }
        const checked = Fields.checkValue(registry, field, raw)
        if ("error" in checked) {
          errors.push(`${source.label(field)}: ${checked.error}`)
          break
        }
        if (checked.value === undefined) continue
        picked.set(field, { value: checked.value, source, rank })
        break
      }
    }
    if (errors.length > 0) {
      return yield* Effect.fail(configError(errors.join("\n"), "Correct the value and try again.", name))
    }

    const fileDirectory = Path.dirname(Path.resolve(config.path))
    for (const [field, pick] of picked) {
      const spec = registry.fields.get(field)
      if (spec?.kind !== "path" || typeof pick.value !== "string") continue
      const expanded = expandHome(pick.value, env)
      const absolute = pick.source.inFile ? Path.resolve(fileDirectory, expanded) : Path.resolve(expanded)
      picked.set(field, { ...pick, value: absolute })
      // A file that holds a secret wins over the secret when it comes from a higher source.
      const held = spec.holds
      if (held === undefined) continue
      const secret = picked.get(held)
      if (secret === undefined || pick.rank < secret.rank) {
        const value = yield* readHeldSecret(absolute, pick.source.label(field), name, held)
        picked.set(held, { value, source: pick.source, rank: pick.rank })
      }
    }

    const props = buildProps(registry, name, [new Map([...picked].map(([field, pick]) => [field, pick.value]))])
    yield* check(config, registry, props, picked)
    return props
  })

/** After the merge: the method suits the provider, and what it needs is there. */
const check = (
  config: Config,
  registry: Fields.Registry,
  props: SiteProps,
  picked: ReadonlyMap<string, Picked>
): Effect.Effect<void, InvalidConfiguration> => {
  const errors: Array<string> = []
  const site = props.name
  const has = (field: string) => props.values.has(field)
  const where = (fields: ReadonlyArray<string>) => {
    const holders = fields.flatMap((field) =>
      registry.fieldNames.filter((name) => registry.fields.get(name)?.holds === field)
    )
    return `${fields.join(" or ")} (in [sites.${site}] of ${config.path}, or ${fields.map(Fields.envVar).join(" or ")}${
      holders.map((holder) => `, or ${holder}`).join("")
    })`
  }
  const provider = registry.provider(props.provider) ?? registry.defaultProvider
  const from = (field: string) => {
    const pick = picked.get(field)
    return pick === undefined ? undefined : pick.source.label(field)
  }
  if (!provider.methods.includes(props.method)) {
    const methodFrom = from("method")
    const providerFrom = from("provider")
    errors.push(
      `method ${props.method}${methodFrom ? ` (from ${methodFrom})` : ""} does not work with provider ${props.provider}${
        providerFrom ? ` (from ${providerFrom})` : " (the default)"
      }; methods for ${props.provider}: ${provider.methods.join(", ")}`
    )
  } else {
    const requirements = [
      ...(props.method === "token" ? [{ fields: ["token"], scope: "method" as const }] : []),
      ...(provider.requires?.(props.method) ?? [])
    ]
    for (const requirement of requirements) {
      if (requirement.fields.some(has)) continue
      const why = requirement.scope === "method" ?
        `method ${props.method}` :
        `provider ${props.provider} with method ${props.method}`
      errors.push(`${why} needs ${where(requirement.fields)}`)
    }
  }
  if (props.storage === "redis" && !has("redis_url")) {
    errors.push(`storage redis needs ${where(["redis_url"])}`)
  }
  return errors.length > 0 ?
    Effect.fail(configError(
      `Site ${site} is incomplete: ${errors.join("; ")}`,
      "Set the missing values in the site's table or in the environment, then try again.",
      site
    )) :
    Effect.void
}
