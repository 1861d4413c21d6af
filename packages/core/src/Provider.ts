/**
 * The plug-in contract for the services sites log in to. A provider says its name, its methods,
 * its site fields (each with its `EFFECT_AUTH_*` variable, and whether it is a secret) and how a
 * site and a method become an `AuthStrategy`; optionally how to ask "who am I".
 *
 * Core knows no provider: `@effect-auth/anaplan` exports `AnaplanProvider`, core's OAuth 2 module
 * has the generic OAuth 2 / OpenID provider and the Foundry and Anaconda presets beside it, and a
 * program (or the CLI, through `Cli.run({ providers })`) picks the list it knows.
 *
 * ```ts
 * const Acme = Provider.make({
 *   name: "acme",
 *   description: "Acme API keys",
 *   methods: ["api_key"],
 *   fields: { api_key: Provider.field.secret("The API key", { identity: true }) },
 *   plan: (site) => ({ strategy: Effect.succeed(...) })
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { AuthError, LoginCancelled } from "./AuthError.js"
import type * as AuthStrategy from "./AuthStrategy.js"
import * as internal from "./internal/provider.js"
import type * as LoginAgent from "./LoginAgent.js"
import type { Token } from "./Token.js"

/**
 * How a field's value is read and checked: `text` (a string, optionally one of `choices`), `url`
 * (an absolute URL, `http:`/`https:` unless `protocols` says otherwise), `path` (`~` expanded,
 * relative to the config file when written there), `secret` (kept `Redacted`), `list` (an array
 * of strings, or a space-separated string).
 *
 * @since 0.1.0
 * @category models
 */
export type FieldKind = "text" | "url" | "path" | "secret" | "list"

/**
 * One key of a `[sites.NAME]` table. Its environment variable is `EFFECT_AUTH_<NAME UPPERCASE>`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Field<K extends FieldKind = FieldKind> {
  readonly kind: K
  /** One line for `sites add --help` and the docs. */
  readonly description: string
  /** Names an account or a service: with one of these set, the environment alone makes a site. */
  readonly identity?: boolean | undefined
  /** `text`: the allowed values. */
  readonly choices?: ReadonlyArray<string> | undefined
  /** `url`: the allowed schemes (default `http:` and `https:`). */
  readonly protocols?: ReadonlyArray<string> | undefined
  /** `path`: the file holds the value of this secret field (`password_file` holds `password`). */
  readonly holds?: string | undefined
}

/**
 * A provider's fields, by their names in the file (snake_case).
 *
 * @since 0.1.0
 * @category models
 */
export type Fields = { readonly [name: string]: Field }

/**
 * The value a field of kind `K` has in a resolved site.
 *
 * @since 0.1.0
 * @category models
 */
export type FieldValue<K extends FieldKind = FieldKind> = K extends "secret" ? Redacted.Redacted<string>
  : K extends "list" ? ReadonlyArray<string>
  : string

/**
 * The values of a site's fields, typed by the provider's field table.
 *
 * @since 0.1.0
 * @category models
 */
export type Values<F extends Fields> = { readonly [K in keyof F]?: FieldValue<F[K]["kind"]> | undefined }

/**
 * Field constructors.
 *
 * @since 0.1.0
 * @category constructors
 */
export const field = {
  text: internal.fieldOf("text"),
  url: internal.fieldOf("url"),
  path: internal.fieldOf("path"),
  secret: internal.fieldOf("secret"),
  list: internal.fieldOf("list")
} as const

/**
 * The Schema of a field table: every field optional, secrets `Redacted`, lists arrays.
 *
 * @since 0.1.0
 * @category schemas
 */
export const schema = <F extends Fields>(fields: F): Schema.Schema<Values<F>, { readonly [K in keyof F]?: unknown }> =>
  internal.schema(fields)

/**
 * The environment variable of a field: `EFFECT_AUTH_<FIELD UPPERCASE>`.
 *
 * @since 0.1.0
 * @category fields
 */
export const envVar = (name: string): string => `EFFECT_AUTH_${name.toUpperCase()}`

/**
 * A condition a resolved site must meet: one of `fields` must be set. `scope` says whether the
 * method or the provider asks for it (it words the message).
 *
 * @since 0.1.0
 * @category models
 */
export interface Requirement {
  readonly fields: ReadonlyArray<string>
  readonly scope: "method" | "provider"
}

/**
 * The user (or, for a client-credentials site, the client) a token belongs to.
 *
 * @since 0.1.0
 * @category models
 */
export interface User {
  readonly email?: string | undefined
  readonly name?: string | undefined
  readonly id?: string | undefined
  /** Set when the token belongs to an OAuth 2 client rather than a person. */
  readonly client?: {
    readonly clientId: string
    readonly subject?: string | undefined
    readonly scopes?: ReadonlyArray<string> | undefined
  } | undefined
}

/**
 * What a provider makes of one site.
 *
 * @since 0.1.0
 * @category models
 */
export interface Plan {
  /** The account the configuration names (an email), when it names one: part of the store key. */
  readonly principal?: string | undefined
  /**
   * The strategy. It asks the person (through {@link Interaction}) for what is missing only when
   * `acquire` runs.
   */
  readonly strategy: Effect.Effect<AuthStrategy.AuthStrategy, never, HttpClient.HttpClient | Interaction>
  /** "Who am I": the site's user API, OpenID userinfo, or the client's own identity. */
  readonly whoami?: ((token: Token) => Effect.Effect<User, AuthError, HttpClient.HttpClient>) | undefined
  /** Variables `effect-auth exec` sets besides `EFFECT_AUTH_TOKEN`. */
  readonly environment?: ((token: Token) => Record<string, string>) | undefined
}

/**
 * A resolved site as a provider sees it: its name, its method and its fields' values.
 *
 * @since 0.1.0
 * @category models
 */
export interface SiteOf<F extends Fields> {
  readonly name: string
  readonly method: string
  readonly values: Values<F>
}

/**
 * A provider.
 *
 * @since 0.1.0
 * @category models
 */
export interface Provider<F extends Fields = Fields> {
  /** The value of `provider = "..."`. */
  readonly name: string
  readonly description: string
  /**
   * The methods, the default first. `token` (a static token from the `token` field) is handled by
   * core for every provider that lists it.
   */
  readonly methods: readonly [string, ...Array<string>]
  /** The provider's own fields (the common ones, `storage`, `token`, ..., are core's). */
  readonly fields: F
  /** What a method needs, checked when a site is resolved. */
  readonly requires?: ((method: string) => ReadonlyArray<Requirement>) | undefined
  /** The `tokenType` of a static token (`method = "token"`); default `Bearer`. */
  readonly tokenType?: string | undefined
  /** How to add a site of this provider, for hints: flags for `sites add` and variables for a one-off. */
  readonly example?: { readonly flags: string; readonly env: string } | undefined
  readonly plan: (site: SiteOf<F>) => Plan
}

/**
 * Builds a provider (an identity function that keeps the field table's types for `plan`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <const F extends Fields>(provider: Provider<F>): Provider<F> => provider

/**
 * Forgets a provider's field types, to put it in a list.
 *
 * @since 0.1.0
 * @category constructors
 */
export const erase = <F extends Fields>(provider: Provider<F>): Provider =>
  provider as unknown as Provider

/**
 * How far a login may go to reach a person: `never` (no prompt: fail with `LoginRequired` saying how
 * to log in), `confirm` (ask "Log in now?" first), `prompt` (ask at once, as `effect-auth login`).
 *
 * @since 0.1.0
 * @category models
 */
export type Ask = "never" | "confirm" | "prompt"

/**
 * The person at the keyboard, as providers reach them: prompts and the login agent (browser,
 * loopback, device codes).
 *
 * @since 0.1.0
 * @category tags
 */
export interface Interaction {
  readonly _: unique symbol
}

/**
 * @since 0.1.0
 */
export declare namespace Interaction {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    readonly ask: Ask
    /** Whether a person is there to answer (a terminal, and prompting not disabled). */
    readonly interactive: boolean
    readonly text: (message: string, site: string) => Effect.Effect<string, LoginCancelled>
    readonly hidden: (message: string, site: string) => Effect.Effect<Redacted.Redacted<string>, LoginCancelled>
    readonly confirm: (message: string) => Effect.Effect<boolean>
    /** The browser, loopback and device-code side of OAuth logins. */
    readonly agent: Effect.Effect<LoginAgent.LoginAgent.Service>
  }
}

/**
 * The tag of {@link Interaction}.
 *
 * @since 0.1.0
 * @category tags
 */
export const Interaction: Context.Tag<Interaction, Interaction.Service> = internal.Interaction

/**
 * No person: nothing is asked, and a login that needs one fails with `LoginRequired` (what library
 * programs and services use).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNoInteraction: Layer.Layer<Interaction> = Layer.succeed(internal.Interaction, internal.noInteraction)

/**
 * A value from the configuration, else asked for (as the {@link Interaction} allows), else the
 * `LoginRequired` error saying how to give it. A "Log in now?" confirmation is asked once per
 * `asker`.
 *
 * @since 0.1.0
 * @category prompts
 */
export const asker: (site: string) => Effect.Effect<internal.Asker, never, Interaction> = internal.asker

/**
 * The interface of {@link asker}.
 *
 * @since 0.1.0
 * @category models
 */
export type Asker = internal.Asker
