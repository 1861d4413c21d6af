/**
 * Cookie values signed with HMAC-SHA256 (`node:crypto`): the browser keeps the value, the server
 * can tell whether it comes back untouched. Signing is not encryption: sign identifiers (the OAuth
 * `state`), never secrets.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHmac, timingSafeEqual } from "node:crypto"

const mac = (secret: Redacted.Redacted<string>, name: string, value: string): string =>
  createHmac("sha256", Redacted.value(secret)).update(`${name}=${value}`).digest("base64url")

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
  const given = Buffer.from(signed.slice(dot + 1))
  const expected = Buffer.from(mac(secret, name, value))
  return given.length === expected.length && timingSafeEqual(given, expected) ? Option.some(value) : Option.none()
}
