/**
 * The configuration model of the CLI: named sites in a TOML file, a default site, overrides from
 * `EFFECT_AUTH_*` environment variables and a `.env` file, and edits that keep the user's
 * comments and layout.
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
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { InvalidConfiguration } from "./AuthError.js"
import * as internal from "./internal/sites.js"

/**
 * The kind of service a site logs in to.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Provider = Schema.Literal(...internal.providers)

/**
 * @since 0.1.0
 * @category models
 */
export type Provider = typeof Provider.Type

/**
 * How a site logs in. Defaults: `basic` for `anaplan`, `oauth` for the others.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Method = Schema.Literal(...internal.methods)

/**
 * @since 0.1.0
 * @category models
 */
export type Method = typeof Method.Type

/**
 * Where a site's tokens are kept. `auto` (the default) uses the system keyring when it works and a
 * private file otherwise.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StorageKind = Schema.Literal(...internal.storageKinds)

/**
 * @since 0.1.0
 * @category models
 */
export type StorageKind = typeof StorageKind.Type

/**
 * The keys of a `[sites.NAME]` table (snake_case, as in the file and in `EFFECT_AUTH_<FIELD>`).
 *
 * @since 0.1.0
 * @category models
 */
export type FieldName = internal.FieldName

/**
 * Every field, in the order the file and `sites show` list them.
 *
 * @since 0.1.0
 * @category constants
 */
export const fieldNames: ReadonlyArray<FieldName> = internal.fieldNames

/**
 * The fields that hold secrets: `client_secret`, `password`, `token`, `refresh_token`,
 * `private_key_passphrase`. They are `Redacted` in a {@link Site}.
 *
 * @since 0.1.0
 * @category constants
 */
export const secretFieldNames: ReadonlyArray<FieldName> = internal.secretFieldNames

/**
 * Whether a field holds a secret.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSecretField = (field: FieldName): boolean => internal.isSecretField(field)

/**
 * The environment variable that overrides a field: `EFFECT_AUTH_<FIELD UPPERCASE>`, e.g.
 * `envVar("auth_url") === "EFFECT_AUTH_AUTH_URL"`.
 *
 * @since 0.1.0
 * @category fields
 */
export const envVar: (field: FieldName) => string = internal.envVar

/**
 * The property of {@link Site} that holds a field (`auth_url` -> `authUrl`).
 *
 * @since 0.1.0
 * @category fields
 */
export const propertyName: (field: FieldName) => string = internal.propertyName

/**
 * One configured site, with defaults applied. Paths are as written in the file in
 * {@link SitesConfig}, and absolute (with `~` expanded) once {@link resolve}d; secrets are
 * `Redacted`, so printing a site never shows them. Encoding a site with its schema
 * (`Schema.encode(Site)`) does reveal them: to display a site, use {@link fields} and show secrets
 * as "(set)".
 *
 * @since 0.1.0
 * @category models
 */
export class Site extends Schema.Class<Site>("@effect-auth/core/Sites/Site")({
  name: Schema.String,
  provider: Provider,
  method: Method,
  authUrl: Schema.optional(Schema.String),
  apiUrl: Schema.optional(Schema.String),
  oauthUrl: Schema.optional(Schema.String),
  issuer: Schema.optional(Schema.String),
  hostname: Schema.optional(Schema.String),
  authorizationUrl: Schema.optional(Schema.String),
  tokenUrl: Schema.optional(Schema.String),
  deviceUrl: Schema.optional(Schema.String),
  revocationUrl: Schema.optional(Schema.String),
  userinfoUrl: Schema.optional(Schema.String),
  clientId: Schema.optional(Schema.String),
  clientSecret: Schema.optional(Schema.Redacted(Schema.String)),
  scopes: Schema.optional(Schema.Array(Schema.String)),
  redirectUri: Schema.optional(Schema.String),
  email: Schema.optional(Schema.String),
  password: Schema.optional(Schema.Redacted(Schema.String)),
  passwordFile: Schema.optional(Schema.String),
  token: Schema.optional(Schema.Redacted(Schema.String)),
  refreshToken: Schema.optional(Schema.Redacted(Schema.String)),
  certificate: Schema.optional(Schema.String),
  privateKey: Schema.optional(Schema.String),
  privateKeyPassphrase: Schema.optional(Schema.Redacted(Schema.String)),
  storage: StorageKind,
  stateDir: Schema.optional(Schema.String),
  redisUrl: Schema.optional(Schema.String),
  redisPrefix: Schema.optional(Schema.String),
  proxy: Schema.optional(Schema.Redacted(Schema.String)),
  caFile: Schema.optional(Schema.String),
  tlsVerify: Schema.optional(Schema.String)
}) {}

/**
 * A field's value in a site: a string, a list (`scopes`) or a `Redacted` secret.
 *
 * @since 0.1.0
 * @category models
 */
export type FieldValue = string | ReadonlyArray<string> | Redacted.Redacted<string>

/**
 * Field values by their file names, each with its type (`scopes` a list, secrets `Redacted`,
 * `provider`/`method`/`storage` their literals).
 *
 * @since 0.1.0
 * @category models
 */
export type FieldValues = internal.FieldValues

/**
 * The fields a site sets, by their file names (for listing: secrets stay `Redacted`).
 *
 * @since 0.1.0
 * @category fields
 */
export const fields = (site: Site): Partial<Record<FieldName, FieldValue>> => {
  const result: Partial<Record<FieldName, FieldValue>> = {}
  for (const field of internal.fieldNames) {
    const value: unknown = site[internal.propertyName(field) as keyof Site]
    if (typeof value === "string") result[field] = value
    else if (Array.isArray(value)) result[field] = value.filter((item): item is string => typeof item === "string")
    else if (Redacted.isRedacted(value)) result[field] = Redacted.make(String(Redacted.value(value)))
  }
  return result
}

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
    readonly defaults: FieldValues
    readonly tables: ReadonlyMap<string, FieldValues>
  }
}

const toConfig = (config: internal.Config): SitesConfig => ({
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
export const configPath: (env?: Record<string, string | undefined>) => string = internal.configPath

/**
 * Parses a configuration file's text. Syntax errors read `<path>:<line>:<col>: <what>`; unknown
 * keys, wrong types and unknown providers, methods or storage kinds read
 * `<path>:<line>: sites.<name>.<key>: <what is wrong and the allowed values>` (every problem, one
 * per line). Secret values are never repeated in a message; a secret written in the file works but
 * adds a warning.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string, path: string): Effect.Effect<SitesConfig, InvalidConfiguration> =>
  Effect.map(internal.parse(text, path), toConfig)

/**
 * Reads and parses the configuration file (default {@link configPath}). A missing file is an empty
 * configuration with `exists: false`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const load = (path?: string): Effect.Effect<SitesConfig, InvalidConfiguration> => Effect.map(internal.load(path), toConfig)

/**
 * Parses a `.env` file: `KEY=VALUE` lines, an optional `export ` prefix, `#` comments, values in
 * single quotes (literal), double quotes (`\n`, `\t`, `\"`, `\\` escapes; may span lines) or
 * backquotes, and unquoted values up to a ` #` comment. Later keys win.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDotEnv: (text: string) => Record<string, string> = internal.parseDotEnv

/**
 * Reads and parses a `.env` file (default `.env` in the working directory); a missing file gives
 * no variables.
 *
 * @since 0.1.0
 * @category parsing
 */
export const loadDotEnv: (path?: string) => Effect.Effect<Record<string, string>, InvalidConfiguration> =
  internal.loadDotEnv

/**
 * What selects and overrides a site.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolveInput {
  /** `--at`: the site to use. */
  readonly site?: string | undefined
  /** Command-line values, highest precedence. Scopes are space-separated. */
  readonly flags?: Partial<Record<FieldName, string | undefined>> | undefined
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
 * name an account (an email, a token, a certificate, a client id, ...).
 *
 * Each field, highest first: `flags`, `EFFECT_AUTH_<FIELD>` in the environment, the same in `.env`,
 * the site's table, the file's top-level defaults. Empty values count as not set. A
 * `password_file` is read (one trailing newline dropped) into `password` when it comes from a
 * higher layer than `password`. Paths get `~` expanded; relative paths from the file are relative
 * to the file's directory, others to the working directory. Then the site is checked: the method
 * must suit the provider and what it needs must be there (e.g. `certificate` needs `certificate`
 * and `private_key`); errors name the field and its environment variable.
 *
 * @since 0.1.0
 * @category resolving
 */
export const resolve = (config: SitesConfig, input: ResolveInput = {}): Effect.Effect<Site, InvalidConfiguration> =>
  Effect.map(internal.resolve(config, input), (props) => new Site(props))

/**
 * A field value to write: a string, or for `scopes` a list (a string is split on spaces).
 *
 * @since 0.1.0
 * @category models
 */
export type EditValue = string | ReadonlyArray<string>

/**
 * Appends a `[sites.NAME]` table with `fields` to the file's text. Fails when the site exists.
 * Everything already in the text is kept byte for byte.
 *
 * @since 0.1.0
 * @category editing
 */
export const addSite: (
  text: string,
  name: string,
  fields: Partial<Record<FieldName, EditValue>>
) => Effect.Effect<string, InvalidConfiguration> = internal.addSite

/**
 * Sets and unsets fields of an existing site. A value already in the file is replaced in place
 * (its key, indentation and trailing comment kept); a new one goes after the site's last key; an
 * unset field's line is removed. Every other line is kept byte for byte.
 *
 * @since 0.1.0
 * @category editing
 */
export const modifySite: (
  text: string,
  name: string,
  set: Partial<Record<FieldName, EditValue>>,
  unset?: ReadonlyArray<FieldName>
) => Effect.Effect<string, InvalidConfiguration> = internal.modifySite

/**
 * Removes a site's table (with the comment lines directly above its header). Removing the default
 * site needs `newDefault` (another site) or `force` (which removes `default_site`).
 *
 * @since 0.1.0
 * @category editing
 */
export const removeSite: (
  text: string,
  name: string,
  options?: { readonly newDefault?: string | undefined; readonly force?: boolean | undefined }
) => Effect.Effect<string, InvalidConfiguration> = internal.removeSite

/**
 * Sets `default_site`, in place when the file has it, else as the first line before the first
 * statement.
 *
 * @since 0.1.0
 * @category editing
 */
export const setDefault: (text: string, name: string) => Effect.Effect<string, InvalidConfiguration> =
  internal.setDefault

/**
 * Writes the file atomically: creates missing directories (0700), writes a temporary file (0600)
 * in the same directory, syncs it and renames it over the file. An existing file keeps its mode;
 * a symbolic link is written through.
 *
 * @since 0.1.0
 * @category editing
 */
export const write: (path: string, text: string) => Effect.Effect<void, InvalidConfiguration> = internal.write

/**
 * A small unified diff (3 lines of context) of two versions of the file, to show a change before
 * writing it. Values of secret keys are masked. Empty when nothing changed.
 *
 * @since 0.1.0
 * @category editing
 */
export const diff: (before: string, after: string) => string = internal.diff
