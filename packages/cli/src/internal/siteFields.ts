/**
 * The one place that reads a `Sites.Site`'s optional fields for the commands.
 *
 * @internal
 */
import type * as Sites from "@effect-auth/core/Sites"
import type * as Redacted from "effect/Redacted"

/** @internal */
export interface Fields {
  readonly authUrl: string | undefined
  readonly apiUrl: string | undefined
  readonly email: string | undefined
  readonly password: Redacted.Redacted<string> | undefined
  readonly token: Redacted.Redacted<string> | undefined
  readonly certificate: string | undefined
  readonly privateKey: string | undefined
  readonly privateKeyPassphrase: Redacted.Redacted<string> | undefined
  readonly stateDir: string | undefined
  readonly redisUrl: string | undefined
  readonly redisPrefix: string | undefined
}

/** @internal */
export const of = (site: Sites.Site): Fields => ({
  authUrl: site.authUrl,
  apiUrl: site.apiUrl,
  email: site.email,
  password: site.password,
  token: site.token,
  certificate: site.certificate,
  privateKey: site.privateKey,
  privateKeyPassphrase: site.privateKeyPassphrase,
  stateDir: site.stateDir,
  redisUrl: site.redisUrl,
  redisPrefix: site.redisPrefix
})
