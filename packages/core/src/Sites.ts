/**
 * Sites: named sites in a TOML file, a default site, overrides from `EFFECT_AUTH_*` environment
 * variables and a `.env` file, and edits that keep the user's comments and layout. Which fields a
 * site has comes from its provider ({@link Provider}); {@link layer} gives a program the very
 * `TokenSource` the `effect-auth` CLI uses for a site (same file, precedence, store and key), so
 * one `effect-auth login` serves every program on the machine.
 *
 * ```toml
 * default_site = "prod"
 * storage = "keyring"            # top-level keys are defaults for every site
 *
 * [sites.prod]
 * provider = "anaplan"
 * email = "me@example.com"
 *
 * [sites.ci]
 * method = "certificate"
 * certificate = "~/.anaplan/cert.pem"
 * private_key = "~/.anaplan/key.pem"
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { AuthError, CredentialStoreError, InvalidConfiguration } from "./AuthError.js"
import type { AuthStrategy } from "./AuthStrategy.js"
import * as CredentialStorage from "./CredentialStorage.js"
import * as sitesDiff from "./internal/sitesDiff.js"
import * as sitesEdit from "./internal/sitesEdit.js"
import * as sitesFields from "./internal/sitesFields.js"
import * as sitesFiles from "./internal/sitesFiles.js"
import * as sitesParse from "./internal/sitesParse.js"
import * as sitesPlan from "./internal/sitesPlan.js"
import * as sitesResolve from "./internal/sitesResolve.js"
import * as Provider from "./Provider.js"
import type * as RefreshPolicy from "./RefreshPolicy.js"
import type { Token } from "./Token.js"
import * as TokenLock from "./TokenLock.js"
import * as TokenSource from "./TokenSource.js"
import * as TokenStore from "./TokenStore.js"

/**
 * Where a site's tokens are kept. `auto` (the default) uses the system keyring when it works and a
 * private file otherwise.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StorageKind = Schema.Literal(...sitesFields.storageKinds)

/**
 * @since 0.1.0
 * @category models
 */
export type StorageKind = typeof StorageKind.Type

/**
 * A field's value in a site: a string, a list (`scopes`) or a `Redacted` secret.
 *
 * @since 0.1.0
 * @category models
 */
export type FieldValue = string | ReadonlyArray<string> | Redacted.Redacted<string>

/**
 * @since 0.1.0
 * @category schemas
 */
export const FieldValue: Schema.Schema<FieldValue> = Schema.Union(
  Schema.String,
  Schema.Array(Schema.String),
  Schema.RedactedFromSelf(Schema.String)
)

/**
 * One configured site, with defaults applied. `values` holds every field that is set (`provider`,
 * `method` and `storage` included), by its name in the file, in the registry's order. Paths are as
 * written in the file in {@link SitesConfig}, and absolute (with `~` expanded) once
 * {@link resolve}d; secrets are `Redacted`, so printing a site never shows them.
 *
 * @since 0.1.0
 * @category models
 */
export class Site extends Schema.Class<Site>("@effect-auth/core/Sites/Site")({
  name: Schema.String,
  provider: Schema.String,
  method: Schema.String,
  storage: StorageKind,
  values: Schema.ReadonlyMapFromSelf({ key: Schema.String, value: FieldValue })
}) {}

/**
 * A field's value (`undefined` when not set).
 *
 * @since 0.1.0
 * @category fields
 */
export const value = (site: Site, field: string): FieldValue | undefined => site.values.get(field)

/**
 * A text, URL or path field's value.
 *
 * @since 0.1.0
 * @category fields
 */
export const text = (site: Site, field: string): string | undefined => {
  const found = site.values.get(field)
  return typeof found === "string" ? found : undefined
}

/**
 * A secret field's value, still `Redacted`.
 *
 * @since 0.1.0
 * @category fields
 */
export const secret = (site: Site, field: string): Redacted.Redacted<string> | undefined => {
  const found = site.values.get(field)
  return Redacted.isRedacted(found) ? found as Redacted.Redacted<string> : undefined
}

/**
 * A list field's value (`scopes`).
 *
 * @since 0.1.0
 * @category fields
 */
export const list = (site: Site, field: string): ReadonlyArray<string> | undefined => {
  const found = site.values.get(field)
  return Array.isArray(found) ? found : undefined
}

/**
 * The fields a site sets, by their file names, in the registry's order (for listing: secrets stay
 * `Redacted`).
 *
 * @since 0.1.0
 * @category fields
 */
export const fields = (site: Site): Record<string, FieldValue> =>
  Object.assign(Object.create(null) as Record<string, FieldValue>, Object.fromEntries(site.values))

/**
 * The environment variable that overrides a field: `EFFECT_AUTH_<FIELD UPPERCASE>`, e.g.
 * `envVar("auth_url") === "EFFECT_AUTH_AUTH_URL"`.
 *
 * @since 0.1.0
 * @category fields
 */
export const envVar: (field: string) => string = sitesFields.envVar

/**
 * A loaded configuration file.
 *
 * @since 0.1.0
 * @category models
 */
export interface SitesConfig {
  /** The file the configuration came from (or would be written to). */
  readonly path: string
  /** `false` when the file does not exist: the configuration is then empty. */
  readonly exists: boolean
  readonly defaultSite: Option.Option<string>
  /** In file order, with the file's top-level defaults applied. */
  readonly sites: ReadonlyArray<Site>
  /** Problems that do not stop the file from working (a secret in the file, a default naming no site). */
  readonly warnings: ReadonlyArray<string>
  /**
   * The values as written (top-level defaults and each site's table), which {@link resolve} layers
   * under the environment; absent in a hand-made configuration, where each site counts as written.
   */
  readonly raw?: SitesConfig.Raw | undefined
  /** The providers the file was read with. */
  readonly providers: ReadonlyArray<Provider.Provider>
}

/**
 * @since 0.1.0
 */
export declare namespace SitesConfig {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Raw {
    readonly defaults: ReadonlyMap<string, FieldValue>
    readonly tables: ReadonlyMap<string, ReadonlyMap<string, FieldValue>>
  }
}

const toConfig = (config: sitesParse.Config): SitesConfig => ({
  ...config,
  sites: config.sites.map((site) => new Site(site))
})

/**
 * Where the configuration file is: `$EFFECT_AUTH_CONFIG`, else
 * `$XDG_CONFIG_HOME/effect-auth/config.toml`, else `~/.config/effect-auth/config.toml`.
 *
 * @since 0.1.0
 * @category paths
 */
export const configPath: (env?: Record<string, string | undefined>) => string = sitesParse.configPath

/**
 * A field value to write: a string, or for a list field a list (a string is split on spaces).
 *
 * @since 0.1.0
 * @category models
 */
export type EditValue = string | ReadonlyArray<string>

/**
 * The sites operations for one list of providers: which fields exist, parsing, editing.
 *
 * @since 0.1.0
 * @category models
 */
export interface Registry {
  readonly providers: ReadonlyArray<Provider.Provider>
  /** Every field (core's and the providers'), in the order tables and `sites show` list them. */
  readonly fieldNames: ReadonlyArray<string>
  readonly secretFieldNames: ReadonlyArray<string>
  /** Every provider's methods, once each. */
  readonly methods: ReadonlyArray<string>
  readonly isSecretField: (field: string) => boolean
  /** A field's description and kind. */
  readonly field: (field: string) => Provider.Field | undefined
  /** The hint that says how to add a first site. */
  readonly addSiteHint: string
  /**
   * Parses a configuration file's text. Syntax errors read `<path>:<line>:<col>: <what>`; unknown
   * keys, wrong types and unknown providers, methods or storage kinds read
   * `<path>:<line>: sites.<name>.<key>: <what is wrong and the allowed values>` (every problem,
   * one per line). Secret values are never repeated in a message; a secret written in the file
   * works but adds a warning.
   */
  readonly parse: (text: string, path: string) => Effect.Effect<SitesConfig, InvalidConfiguration>
  /** Reads and parses the file (default {@link configPath}); a missing file is an empty configuration. */
  readonly load: (path?: string) => Effect.Effect<SitesConfig, InvalidConfiguration>
  /** Appends a `[sites.NAME]` table; everything already in the text is kept byte for byte. */
  readonly addSite: (
    text: string,
    name: string,
    fields: Partial<Record<string, EditValue>>
  ) => Effect.Effect<string, InvalidConfiguration>
  /**
   * Sets and unsets fields of an existing site: a value already in the file is replaced in place
   * (its key, indentation and trailing comment kept), a new one goes after the site's last key,
   * an unset field's line is removed.
   */
  readonly modifySite: (
    text: string,
    name: string,
    set: Partial<Record<string, EditValue>>,
    unset?: ReadonlyArray<string>
  ) => Effect.Effect<string, InvalidConfiguration>
  /**
   * Removes a site's table (with the comment lines directly above its header). Removing the
   * default site needs `newDefault` (another site) or `force` (which removes `default_site`).
   */
  readonly removeSite: (
    text: string,
    name: string,
    options?: { readonly newDefault?: string | undefined; readonly force?: boolean | undefined }
  ) => Effect.Effect<string, InvalidConfiguration>
  /** Sets `default_site`, in place when the file has it, else before the first statement. */
  readonly setDefault: (text: string, name: string) => Effect.Effect<string, InvalidConfiguration>
  /**
   * A small unified diff (3 lines of context) of two versions of the file, to show a change
   * before writing it. Values of secret keys are masked. Empty when nothing changed.
   */
  readonly diff: (before: string, after: string) => string
}

/**
 * The sites operations for `providers` (the first is the provider of a site that names none).
 *
 * @since 0.1.0
 * @category constructors
 */
export const registry = (providers: ReadonlyArray<Provider.Provider>): Registry => {
  const fieldsOf = sitesFields.registry(providers)
  return {
    providers,
    fieldNames: fieldsOf.fieldNames,
    secretFieldNames: fieldsOf.secretFieldNames,
    methods: fieldsOf.methods,
    isSecretField: (field) => sitesFields.isSecret(fieldsOf, field),
    field: (field) => fieldsOf.fields.get(field),
    addSiteHint: sitesResolve.addSiteHint(fieldsOf),
    parse: (text, path) => Effect.map(sitesParse.parse(text, path, providers), toConfig),
    load: (path) => Effect.map(sitesParse.load(path, providers), toConfig),
    addSite: (text, name, values) => sitesEdit.addSite(providers, text, name, values),
    modifySite: (text, name, set, unset) => sitesEdit.modifySite(providers, text, name, set, unset),
    removeSite: (text, name, options) => sitesEdit.removeSite(providers, text, name, options),
    setDefault: (text, name) => sitesEdit.setDefault(providers, text, name),
    diff: (before, after) => sitesDiff.diff(fieldsOf.secretFieldNames, before, after)
  }
}

/**
 * Parses a `.env` file with `dotenv`: `KEY=VALUE` lines, an optional `export ` prefix, `#`
 * comments, values in single quotes (literal), double quotes (`\n` expanded; may span lines) or
 * backquotes, and unquoted values up to a `#` comment. Later keys win.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDotEnv: (text: string) => Record<string, string> = sitesFiles.parseDotEnv

/**
 * Reads and parses a `.env` file (default `.env` in the working directory); a missing file gives
 * no variables.
 *
 * @since 0.1.0
 * @category parsing
 */
export const loadDotEnv: (path?: string) => Effect.Effect<Record<string, string>, InvalidConfiguration> =
  sitesFiles.loadDotEnv

/**
 * What selects and overrides a site.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolveInput {
  /** `--at`: the site to use. */
  readonly site?: string | undefined
  /** Command-line values, highest precedence. Lists are space-separated. */
  readonly flags?: Partial<Record<string, string | undefined>> | undefined
  /** The environment (default `process.env`): `EFFECT_AUTH_SITE` and `EFFECT_AUTH_<FIELD>`. */
  readonly env?: Record<string, string | undefined> | undefined
  /** The variables of a `.env` file ({@link parseDotEnv}); below the environment. */
  readonly dotenv?: Record<string, string> | undefined
}

/**
 * Picks the site and merges its fields.
 *
 * The site: `--at`, else `EFFECT_AUTH_SITE` (environment, then `.env`), else `default_site`, else
 * the only site, else a site called `default` made of the defaults and the environment when they
 * name an account (a field its provider marks as `identity`: an email, a token, a client id, ...).
 *
 * Each field, highest first: `flags`, `EFFECT_AUTH_<FIELD>` in the environment, the same in `.env`,
 * the site's table, the file's top-level defaults. Empty values count as not set. A file that
 * holds a secret (`password_file`) is read (one trailing newline dropped) into that secret when
 * it comes from a higher source. Paths get `~` expanded; relative paths from the file are relative
 * to the file's directory, others to the working directory. Then the site is checked: the method
 * must be one of the provider's and what the provider says it needs must be there; errors name the
 * field and its environment variable.
 *
 * @since 0.1.0
 * @category resolving
 */
export const resolve = (config: SitesConfig, input: ResolveInput = {}): Effect.Effect<Site, InvalidConfiguration> =>
  Effect.map(sitesResolve.resolve(config, input), (props) => new Site(props))

/**
 * Writes the file atomically: creates missing directories (0700), writes a temporary file (0600)
 * in the same directory, syncs it and renames it over the file. An existing file keeps its mode;
 * a symbolic link is written through.
 *
 * @since 0.1.0
 * @category editing
 */
export const write: (path: string, text: string) => Effect.Effect<void, InvalidConfiguration> = sitesFiles.write

/**
 * What a site comes to: its provider's strategy, the store key, the storage, "who am I" and the
 * environment for a child process (what each `effect-auth` command starts from).
 *
 * @since 0.1.0
 * @category models
 */
export interface Plan {
  readonly site: Site
  readonly provider: string
  readonly method: string
  /** The email or other principal, when the configuration names one. */
  readonly principal: string | undefined
  readonly storeKey: string
  /** `None` for methods that keep nothing (a static token). */
  readonly storage: Option.Option<CredentialStorage.Options>
  readonly strategy: Effect.Effect<AuthStrategy, never, HttpClient.HttpClient | Provider.Interaction>
  readonly whoami: (token: Token) => Effect.Effect<Provider.User, AuthError, HttpClient.HttpClient>
  readonly environment: (token: Token) => Record<string, string>
}

/**
 * The plan of a resolved site, with the providers it was resolved with.
 *
 * @since 0.1.0
 * @category resolving
 */
export const plan: (providers: ReadonlyArray<Provider.Provider>, site: Site) => Plan = sitesPlan.plan

/**
 * What selects a site for {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions {
  /** The site's name; default as the CLI chooses (`EFFECT_AUTH_SITE`, `default_site`, the only site). */
  readonly site?: string | undefined
  readonly providers: ReadonlyArray<Provider.Provider>
  /** The configuration file; default {@link configPath}. */
  readonly config?: string | undefined
  /** The environment; default `process.env`. */
  readonly env?: Record<string, string | undefined> | undefined
  /** The `.env` file to read; default `.env` in the working directory, `false` for none. */
  readonly dotenv?: string | false | undefined
  readonly policy?: RefreshPolicy.RefreshPolicy | undefined
}

/**
 * The site's `TokenSource`, exactly as the `effect-auth` CLI builds it: the same configuration
 * file and precedence, the same store and store key, so a login made with `effect-auth login`
 * is reused (and refreshed, and written back) by the program. Nothing prompts: a site that needs
 * a new login fails with `LoginRequired` saying how to log in, unless an `Interaction` layer is
 * given.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: LayerOptions & { readonly interaction?: Layer.Layer<Provider.Interaction> | undefined }
): Layer.Layer<TokenSource.TokenSource, InvalidConfiguration | CredentialStoreError, HttpClient.HttpClient> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const env = options.env ?? process.env
    const config = yield* registry(options.providers).load(options.config ?? configPath(env))
    const dotenv = options.dotenv === false ? {} : yield* loadDotEnv(options.dotenv)
    const site = yield* resolve(config, { site: options.site, env, dotenv })
    const planned = plan(options.providers, site)
    const interaction = options.interaction ?? Provider.layerNoInteraction
    const source = Effect.gen(function*() {
      const strategy = yield* planned.strategy
      const outer = yield* TokenStore.persisted(strategy, { key: planned.storeKey, policy: options.policy })
      return yield* TokenSource.make(outer, { policy: options.policy, revokeOnClose: false })
    })
    const storage = Option.match(planned.storage, {
      onNone: () => Layer.merge(TokenStore.layerMemory, TokenLock.layerMemory),
      onSome: CredentialStorage.layer
    })
    return Layer.scoped(TokenSource.TokenSource, source).pipe(
      Layer.provide(Layer.merge(storage, interaction))
    )
  }))
