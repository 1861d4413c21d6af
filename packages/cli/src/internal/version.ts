/**
 * The package's version, read from its `package.json`. Imports nothing but Node's own modules:
 * `effect-auth --version` loads only this.
 *
 * @internal
 */
import { readFileSync } from "node:fs"
import { nearest } from "./packageManifest.js"

const ours = (file: string): string | undefined => {
  try {
    const manifest: unknown = JSON.parse(readFileSync(file, "utf8"))
    return typeof manifest === "object" && manifest !== null && "name" in manifest &&
        manifest.name === "@effect-auth/cli" && "version" in manifest && typeof manifest.version === "string"
      ? manifest.version
      : undefined
  } catch {
    // not here; look one level up
    return undefined
  }
}

/** @internal */
export const version = (): string => nearest(ours, 4) ?? "0.0.0"
