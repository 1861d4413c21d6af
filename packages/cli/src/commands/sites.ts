/**
 * `effect-auth sites list | show [NAME] | add NAME ... | modify NAME ... | remove NAME`: the
 * configuration file, edited in place with the user's comments kept.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { InvalidConfiguration } from "@effect-auth/core/AuthError"
import type * as Provider from "@effect-auth/core/Provider"
import * as Sites from "@effect-auth/core/Sites"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import { UsageError } from "../internal/failure.js"
import { Globals } from "../internal/globals.js"
import * as FieldHelp from "../internal/fieldHelp.js"
import * as Output from "../internal/output.js"
import * as Prompt from "../internal/prompt.js"
import * as Session from "../internal/session.js"
import * as Providers from "../Providers.js"

/** Fields settable from the command line: every one but the secrets, which belong in the environment or a file. */
const editableOf = (registry: Sites.Registry) => registry.fieldNames.filter((field) => !registry.isSecretField(field))

const flag = (field: string): string => field.replace(/_/g, "-")

const fieldOptions = (registry: Sites.Registry) =>
  Options.all(
    Object.fromEntries(
      editableOf(registry).map((field) => [
        field,
        Options.text(flag(field)).pipe(
          Options.withPseudoName(FieldHelp.placeholder(field)),
          Options.withDescription(
            registry.field(field)?.kind === "list" ?
              `${registry.field(field)?.description ?? field} (space- or comma-separated)` :
              `${registry.field(field)?.description ?? `Sets ${field}`} (${Sites.envVar(field)} overrides it)`
          ),
          Options.optional
        )
      ])
    ) as Record<string, Options.Options<Option.Option<string>>>
  )

const fieldValues = (
  registry: Sites.Registry,
  parsed: Record<string, Option.Option<string>>
): Partial<Record<string, string | ReadonlyArray<string>>> => {
  const out: Partial<Record<string, string | ReadonlyArray<string>>> = Object.create(null)
  for (const field of editableOf(registry)) {
    const value = parsed[field]
    if (value === undefined || Option.isNone(value)) continue
    out[field] = registry.field(field)?.kind === "list" ?
      value.value.split(/[\s,]+/).filter((item) => item !== "") :
      value.value
  }
  return out
}

const yes = Options.boolean("yes").pipe(Options.withAlias("y"), Options.withDescription("Write the change without asking"))

const siteName = (description: string) => Args.text({ name: "NAME" }).pipe(Args.withDescription(description))

const readText = (path: string): Effect.Effect<string, InvalidConfiguration> =>
  Effect.zipRight(
    Session.notADirectory(path),
    Effect.try({
      try: () => Fs.existsSync(path) ? Fs.readFileSync(path, "utf8") : "",
      catch: (error) =>
        new InvalidConfiguration({
          detail: `Cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
          hint: "Check the file's permissions, or pass --config FILE."
        })
    })
  )

/** Shows the change, asks on a terminal unless `--yes`, writes atomically. */
const apply = (
  registry: Sites.Registry,
  path: string,
  before: string,
  after: string,
  options: { readonly yes: boolean; readonly json: boolean; readonly done: string }
) =>
  Effect.gen(function*() {
    if (before === after) {
      return yield* options.json ? Output.json({ path, changed: false }) : Output.line(`Nothing to change in ${path}`)
    }
    const change = registry.diff(before, after)
    if (!options.json) yield* Output.line(change.trimEnd())
    if (!options.yes) {
      if (!Prompt.isInteractive()) {
        return yield* new UsageError({
          detail: `Not writing ${path} without a confirmation, and there is no terminal to ask`,
          hint: "Pass --yes to write the change shown above."
        })
      }
      const ok = yield* Prompt.confirm(`Write ${path}?`)
      if (!ok) return yield* Output.line("Nothing written")
    }
    yield* Sites.write(path, after)
    yield* options.json ? Output.json({ path, changed: true, diff: change }) : Output.line(`${options.done} (${path})`)
  })

const list = (registry: Sites.Registry) => Command.make("list", {}, () =>
  Effect.gen(function*() {
    const globals = yield* Globals
    const config = yield* Session.loadConfig(globals)
    const defaultSite = Option.getOrUndefined(config.defaultSite)
    if (globals.json) {
      return yield* Output.json({
        path: config.path,
        default_site: defaultSite ?? null,
        sites: config.sites.map((site) => ({
          name: site.name,
          provider: site.provider,
          method: site.method,
          default: site.name === defaultSite
        }))
      })
    }
    if (config.sites.length === 0) {
      return yield* Output.line(
        `No sites in ${config.path}. ${registry.addSiteHint}`
      )
    }
    yield* Output.line(Output.columns([
      ["  SITE", "PROVIDER", "METHOD"],
      ...config.sites.map((site) => [`${site.name === defaultSite ? "*" : " "} ${site.name}`, site.provider, site.method])
    ]))
  })).pipe(Command.withDescription("List the configured sites (* marks the default)"))

const show = (registry: Sites.Registry) => Command.make(
  "show",
  { name: siteName("The site to show; default: --at, default_site or the only site").pipe(Args.optional) },
  ({ name }) =>
    Effect.gen(function*() {
      const globals = yield* Globals
      const config = yield* Session.loadConfig(globals)
      const named = Option.getOrUndefined(name)
      const known = config.sites.map((site) => site.name)
      if (named !== undefined && named !== "default" && !known.includes(named)) {
        return yield* new InvalidConfiguration({
          detail: `There is no site named ${JSON.stringify(named)} in ${config.path}; ${
            known.length === 0 ? "no site is configured" : `known sites: ${known.join(", ")}`
          }`,
          hint: known.length === 0 ? registry.addSiteHint : `Use one of: ${known.join(", ")}.`
        })
      }
      const site = yield* Session.resolveSite(config, { site: named ?? globals.at })
      const fields: Array<[string, string | ReadonlyArray<string>]> = []
      for (const [field, value] of Object.entries(Sites.fields(site))) {
        if (registry.isSecretField(field) || Redacted.isRedacted(value)) fields.push([field, "(set)"])
        else fields.push([field, value])
      }
      if (globals.json) {
        return yield* Output.json({ name: site.name, ...Object.fromEntries(fields) })
      }
      const width = Math.max(...fields.map(([field]) => field.length))
      yield* Output.line(
        [`[sites.${site.name}]`, ...fields.map(([field, value]) =>
          `${field.padEnd(width)}  ${Array.isArray(value) ? value.join(" ") : value}`)].join("\n")
      )
    })
).pipe(Command.withDescription("Show a site's settings as resolved (file, .env, environment); secrets show as (set)"))

const add = (registry: Sites.Registry) => Command.make(
  "add",
  {
    name: siteName("The new site's name (its table is [sites.NAME])"),
    fields: fieldOptions(registry),
    makeDefault: Options.boolean("default").pipe(
      Options.withDescription("Make it the default site (the first site added always is)")
    ),
    yes
  },
  ({ fields, makeDefault, name, yes }) =>
    Effect.gen(function*() {
      const globals = yield* Globals
      const path = Session.configPathOf(globals)
      const before = yield* readText(path)
      const added = yield* registry.addSite(before, name, fieldValues(registry, fields))
      // The first site becomes the default, so that adding a second one breaks no script.
      const config = yield* registry.parse(before, path)
      const first = config.sites.length === 0 && Option.isNone(config.defaultSite)
      const after = makeDefault || first ? yield* registry.setDefault(added, name) : added
      yield* apply(registry, path, before, after, { yes, json: globals.json, done: `Added site ${name}` })
    })
).pipe(Command.withDescription("Add a site; secrets go in the environment (EFFECT_AUTH_PASSWORD...) or password_file"))

const modify = (registry: Sites.Registry) => Command.make(
  "modify",
  {
    name: siteName("The site to change"),
    fields: fieldOptions(registry),
    unset: Options.choice("unset", registry.fieldNames).pipe(
      Options.withDescription("Remove a setting from the site's table"),
      Options.repeated
    ),
    makeDefault: Options.boolean("default").pipe(Options.withDescription("Make it the default site")),
    yes
  },
  ({ fields, makeDefault, name, unset, yes }) =>
    Effect.gen(function*() {
      const globals = yield* Globals
      const path = Session.configPathOf(globals)
      const before = yield* readText(path)
      const modified = yield* registry.modifySite(before, name, fieldValues(registry, fields), unset)
      const after = makeDefault ? yield* registry.setDefault(modified, name) : modified
      yield* apply(registry, path, before, after, { yes, json: globals.json, done: `Modified site ${name}` })
    })
).pipe(Command.withDescription("Change or --unset a site's settings"))

const remove = (registry: Sites.Registry) => Command.make(
  "remove",
  {
    name: siteName("The site to remove"),
    newDefault: Options.text("new-default").pipe(
      Options.withPseudoName("NAME"),
      Options.withDescription("The default site after removing the default one"),
      Options.optional
    ),
    force: Options.boolean("force").pipe(Options.withDescription("Remove the default site, leaving no default")),
    yes
  },
  ({ force, name, newDefault, yes }) =>
    Effect.gen(function*() {
      const globals = yield* Globals
      const path = Session.configPathOf(globals)
      const before = yield* readText(path)
      const after = yield* registry.removeSite(before, name, { newDefault: Option.getOrUndefined(newDefault), force })
      yield* apply(registry, path, before, after, { yes, json: globals.json, done: `Removed site ${name}` })
    })
).pipe(Command.withDescription("Remove a site (the default one needs --new-default NAME or --force)"))

/**
 * The `sites` command and its subcommands for a list of providers (their fields are the flags of
 * `add` and `modify`).
 *
 * @since 0.1.0
 * @category commands
 */
export const make = (providers: ReadonlyArray<Provider.Provider>) =>
  Command.make("sites").pipe(
    Command.withDescription("List, show, add, modify and remove sites in the configuration file"),
    Command.withSubcommands(subcommands(providers))
  )

/**
 * The subcommands of `sites` for a list of providers (for the help and the completions too).
 *
 * @since 0.1.0
 * @category commands
 */
export const subcommands = (providers: ReadonlyArray<Provider.Provider>) => {
  const registry = Sites.registry(providers)
  return [list(registry), show(registry), add(registry), modify(registry), remove(registry)] as const
}

/**
 * The `sites` command of the built-in providers.
 *
 * @since 0.1.0
 * @category commands
 */
export const sites = make(Providers.builtin)
