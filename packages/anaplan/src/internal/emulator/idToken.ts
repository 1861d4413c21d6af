/**
 * The ID token of Anaplan's OAuth answers: a signed JWT (ES256 here) with `iss`, `sub`, `aud` (the
 * client id), `email`, `iat`, `exp`, and the authorization request's `nonce` only when the emulator
 * is told to echo it (no source says Anaplan does).
 *
 * @internal
 */
import { sign } from "node:crypto"
import type { State, UserRecord } from "./state.js"

const part = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url")

/** @internal */
export const issueIdToken = (
  state: State,
  grant: { readonly clientId: string; readonly user: UserRecord; readonly nonce?: string | undefined },
  now: number
): string => {
  const iat = Math.floor(now / 1000)
  const claims = {
    iss: state.url,
    sub: grant.user.id,
    aud: grant.clientId,
    email: grant.user.email,
    iat,
    exp: iat + Math.floor(state.lifetimeMillis / 1000),
    ...(state.echoNonce && grant.nonce !== undefined ? { nonce: grant.nonce } : {})
  }
  const signingInput = `${part({ alg: "ES256", typ: "JWT" })}.${part(claims)}`
  const signature = sign("sha256", Buffer.from(signingInput), { key: state.signingKey, dsaEncoding: "ieee-p1363" })
  return `${signingInput}.${signature.toString("base64url")}`
}
