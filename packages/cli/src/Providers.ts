/**
 * The providers the `effect-auth` CLI knows: the one registration point. The built-in list is
 * Anaplan (the default provider of a site that names none), generic OAuth 2 / OpenID, Foundry and
 * Anaconda; a program that embeds the CLI adds its own with `Cli.main(argv, { providers })`.
 *
 * @since 0.1.0
 */
import * as AnaplanProvider from "@effect-auth/anaplan/AnaplanProvider"
import * as OAuth2Provider from "@effect-auth/core/OAuth2Provider"
import * as Anaconda from "@effect-auth/core/presets/Anaconda"
import * as Foundry from "@effect-auth/core/presets/Foundry"
import type * as Provider from "@effect-auth/core/Provider"
import * as Context from "effect/Context"

/**
 * The built-in providers, the default first.
 *
 * @since 0.1.0
 * @category providers
 */
export const builtin: ReadonlyArray<Provider.Provider> = [
  AnaplanProvider.provider,
  OAuth2Provider.provider,
  Foundry.provider,
  Anaconda.provider
]

/**
 * The built-in providers and `extra` (an extra provider may not reuse a built-in name).
 *
 * @since 0.1.0
 * @category providers
 */
export const withExtra = (extra: ReadonlyArray<Provider.Provider>): ReadonlyArray<Provider.Provider> =>
  extra.length === 0 ? builtin : [...builtin, ...extra]

/**
 * The providers of the running command (the built-in ones unless `Cli.main` was given others).
 *
 * @since 0.1.0
 * @category providers
 */
export class Current extends Context.Reference<Current>()("@effect-auth/cli/Providers/Current", {
  defaultValue: (): ReadonlyArray<Provider.Provider> => builtin
}) {}
