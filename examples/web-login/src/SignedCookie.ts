/**
 * Cookie values signed with HMAC-SHA256 (`node:crypto`): the browser keeps the value, the server
 * can tell whether it comes back untouched. Signing is not encryption: sign identifiers, never
 * secrets; {@link seal} encrypts (AES-256-GCM) what the browser must keep but not read (a login
 * under way: its `state` and PKCE verifier).
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto"

const mac = (secret: Redacted.Redacted<string>, name: string, value: string): string =>
  createHmac("sha256", Redacted.value(secret)).update(`${name}=${value}`).digest("base64url")

/**
 * The signature alone of `value` under `name`: a token derived from a value the page must not see
 * (the CSRF token of a session, derived from its id).
 *
 * @since 0.1.0
 * @category constructors
 */
export const signature = (secret: Redacted.Redacted<string>, name: string, value: string): string => mac(secret, name, value)

/**
 * Whether `given` is the {@link signature} of `value` (compared in constant time).
 *
 * @since 0.1.0
 * @category utils
 */
export const isSignature = (
  secret: Redacted.Redacted<string>,
  name: string,
  value: string,
  given: string | undefined
): boolean => {
  if (given === undefined) return false
  const a = Buffer.from(given)
  const b = Buffer.from(mac(secret, name, value))
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * `value.signature`, the signature binding the value to the cookie's `name`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sign = (secret: Redacted.Redacted<string>, name: string, value: string): string =>
  `${value}.${mac(secret, name, value)}`

/**
 * The value of a signed cookie, if its signature is right (compared in constant time).
 *
 * @since 0.1.0
 * @category utils
 */
export const verify = (
  secret: Redacted.Redacted<string>,
  name: string,
  signed: string | undefined
): Option.Option<string> => {
  if (signed === undefined) return Option.none()
  const dot = signed.lastIndexOf(".")
  if (dot <= 0) return Option.none()
  const value = signed.slice(0, dot)
  return isSignature(secret, name, value, signed.slice(dot + 1)) ? Option.some(value) : Option.none()
}

const sealKey = (secret: Redacted.Redacted<string>, name: string): Buffer =>
  Buffer.from(hkdfSync("sha256", Redacted.value(secret), "", `web-login sealed cookie ${name}`, 32))

/**
 * `value` encrypted and authenticated (AES-256-GCM, a key derived from `secret` and the cookie's
 * `name`): `iv.ciphertext.tag`, base64url.
 *
 * @since 0.1.0
 * @category constructors
 */
export const seal = (secret: Redacted.Redacted<string>, name: string, value: string): string => {
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", sealKey(secret, name), iv)
  const sealed = Buffer.concat([cipher.update(value, "utf8"), cipher.final()])
  return [iv, sealed, cipher.getAuthTag()].map((part) => part.toString("base64url")).join(".")
}

/**
 * The value of a sealed cookie, if it decrypts and authenticates.
 *
 * @since 0.1.0
 * @category utils
 */
export const unseal = (
  secret: Redacted.Redacted<string>,
  name: string,
  sealed: string | undefined
): Option.Option<string> => {
  const parts = sealed?.split(".") ?? []
  if (parts.length !== 3) return Option.none()
  const [iv, data, tag] = parts.map((part) => Buffer.from(part, "base64url"))
  if (iv.length !== 12 || tag.length !== 16) return Option.none()
  try {
    const decipher = createDecipheriv("aes-256-gcm", sealKey(secret, name), iv)
    decipher.setAuthTag(tag)
    return Option.some(Buffer.concat([decipher.update(data), decipher.final()]).toString("utf8"))
  } catch {
    return Option.none()
  }
}
