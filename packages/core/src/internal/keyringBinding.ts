/**
 * `@napi-rs/keyring`, the native keyring binding: an optional peer dependency of
 * `@effect-auth/core`, looked up (not loaded) here.
 *
 * @internal
 */
import * as Module from "node:module"

/** @internal */
export const packageName = "@napi-rs/keyring"

/** The binding's entry file, or `undefined` when the package is not installed. @internal */
export const resolve = (): string | undefined => {
  try {
    return Module.createRequire(import.meta.url).resolve(packageName)
  } catch {
    return undefined
  }
}

/** @internal */
export const missing = `the optional package ${packageName} is not installed`

/** @internal */
export const installHint = `Install it next to @effect-auth/core (npm install ${packageName}), ` +
  "or use file storage (storage = \"file\", or EFFECT_AUTH_STORAGE=file)."
