/**
 * A site's plan for the commands: core's `Sites.plan` (the provider's strategy, the store key,
 * the storage, "who am I", the environment for `exec`), with the CLI's terminal as the person a
 * login may ask.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Terminal from "@effect/platform/Terminal"
import type * as AuthStrategy from "@effect-auth/core/AuthStrategy"
import type * as Provider from "@effect-auth/core/Provider"
import * as Sites from "@effect-auth/core/Sites"
import * as Effect from "effect/Effect"
import * as Interaction from "./interaction.js"

/**
 * How a login may get what is missing: `never` (no terminal: fail with exit 4 and the way to log
 * in), `confirm` (ask "Log in now?" first: `token`, `whoami`, `exec`), `prompt` (`login`).
 *
 * @internal
 */
export type Ask = Provider.Ask

/** @internal */
export type User = Provider.User

/** @internal */
export interface Plan extends Omit<Sites.Plan, "strategy"> {
  /** The strategy; it asks for missing credentials only when `acquire` runs, and only as `ask` allows. */
  readonly strategy: (ask: Ask) => Effect.Effect<AuthStrategy.AuthStrategy, never, HttpClient.HttpClient | Terminal.Terminal>
}

/**
 * The plan for a site of `config`.
 *
 * @internal
 */
export const plan = (config: Sites.SitesConfig, site: Sites.Site): Plan => {
  const planned = Sites.plan(config.providers, site)
  return {
    ...planned,
    strategy: (ask) => Effect.provide(planned.strategy, Interaction.layer(ask))
  }
}

/**
 * Who a token belongs to, in a few words: the email, else the client of a client-credentials
 * token (`client ID`), else `undefined`.
 *
 * @internal
 */
export const principalOf = (user: User): string | undefined =>
  user.email ?? (user.client === undefined ? undefined : `client ${user.client.clientId}`)

/**
 * The client of a client-credentials token: its id, and the subject and scopes the token says.
 *
 * @internal
 */
export const describeClient = (client: NonNullable<User["client"]>): string => {
  const details = [
    client.subject === undefined ? undefined : `subject ${client.subject}`,
    client.scopes === undefined || client.scopes.length === 0 ? undefined : `scopes ${client.scopes.join(" ")}`
  ].filter((part) => part !== undefined)
  return `client ${client.clientId}${details.length === 0 ? "" : ` (${details.join(", ")})`}`
}
