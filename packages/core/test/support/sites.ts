/**
 * The sites API bound to the CLI's providers (Anaplan first), as the CLI and `Sites.layer` use it.
 */
import * as AnaplanProvider from "@effect-auth/anaplan/AnaplanProvider"
import * as OAuth2Provider from "../../src/OAuth2Provider.js"
import * as Anaconda from "../../src/presets/Anaconda.js"
import * as Foundry from "../../src/presets/Foundry.js"
import type * as Provider from "../../src/Provider.js"
import * as SitesModule from "../../src/Sites.js"

export * from "../../src/Sites.js"

export const providers: ReadonlyArray<Provider.Provider> = [
  AnaplanProvider.provider,
  OAuth2Provider.provider,
  Foundry.provider,
  Anaconda.provider
]

const registry = SitesModule.registry(providers)

export const fieldNames = registry.fieldNames
export const secretFieldNames = registry.secretFieldNames
export const isSecretField = registry.isSecretField
export const parse = registry.parse
export const load = registry.load
export const addSite = registry.addSite
export const modifySite = registry.modifySite
export const removeSite = registry.removeSite
export const setDefault = registry.setDefault
export const diff = registry.diff
