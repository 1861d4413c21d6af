/**
 * The files around the configuration: the `.env` of the working directory (read with `dotenv`)
 * and the atomic write of the config file.
 *
 * @internal
 */
import * as DotEnv from "dotenv"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs/promises"
import type { InvalidConfiguration } from "../AuthError.js"
import { writeFileAtomic } from "./atomicFile.js"
import { configError, isMissing, reason } from "./sitesParse.js"

/** `dotenv`'s parse, into an object without a prototype (a `__proto__` key is just a key). @internal */
export const parseDotEnv = (text: string): Record<string, string> =>
  Object.assign(Object.create(null) as Record<string, string>, DotEnv.parse(text))

/** @internal */
export const loadDotEnv = (path = ".env"): Effect.Effect<Record<string, string>, InvalidConfiguration> =>
  Effect.tryPromise({
    try: () =>
      Fs.readFile(path, "utf8").then(parseDotEnv, (error) => {
        if (isMissing(error)) return parseDotEnv("")
        throw error
      }),
    catch: (error) =>
      configError(`Cannot read ${path}: ${reason(error)}`, "Fix its permissions or remove it, then try again.")
  })

/** @internal */
export const write = (path: string, text: string): Effect.Effect<void, InvalidConfiguration> =>
  Effect.tryPromise({
    try: () => writeFileAtomic(path, text, { followSymlink: true, createDirectory: true, keepMode: true }),
    catch: (error) =>
      configError(
        `Cannot write the config file ${path}: ${reason(error)}`,
        "Check that its directory is writable, or point EFFECT_AUTH_CONFIG (or --config) at another file."
      )
  })
