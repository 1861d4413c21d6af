/**
 * The package's version, read from its `package.json` (the source, `dist/` and a bundle all sit
 * below it). Imports nothing but Node's own modules: `effect-auth --version` loads only this.
 *
 * @internal
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** @internal */
export const version: string = (() => {
  let dir = Path.dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4; i++) {
    try {
      const manifest: unknown = JSON.parse(Fs.readFileSync(Path.join(dir, "package.json"), "utf8"))
      if (
        typeof manifest === "object" && manifest !== null && "name" in manifest &&
        manifest.name === "@effect-auth/cli" && "version" in manifest && typeof manifest.version === "string"
      ) {
        return manifest.version
      }
    } catch {
      // not here; look one level up
    }
    dir = Path.dirname(dir)
  }
  return "0.0.0"
})()
