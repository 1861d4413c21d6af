/**
 * The package's own `package.json`, found from this module: the nearest above it, in the source,
 * in `dist/`, in the binary's CommonJS entry and in its chunks alike (all sit below it).
 *
 * @internal
 */
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/** This module's directory: from `__filename` in the binary's CommonJS entry, else `import.meta.url`. */
const here = (): string => dirname(typeof __filename === "string" ? __filename : fileURLToPath(import.meta.url))

/**
 * The first answer of `read` for the `package.json` files at most `levels` directories above this
 * module, nearest first (`read` returns `undefined` for a file that is missing or not ours).
 *
 * @internal
 */
export const nearest = <A>(read: (file: string) => A | undefined, levels: number): A | undefined => {
  let dir = here()
  for (let i = 0; i < levels; i++) {
    const found = read(join(dir, "package.json"))
    if (found !== undefined) return found
    dir = dirname(dir)
  }
  return undefined
}
