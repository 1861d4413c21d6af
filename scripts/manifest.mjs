/**
 * `prepack` / `postpack` of every package: the tarball's package.json has no `source` export
 * condition (the repository's scripts and tests resolve our packages to their TypeScript sources
 * with `--conditions=source`; in a consumer that condition would point plain `node` at `.ts`
 * files) and no `scripts` (they refer to this repository). `postpack` puts the file back.
 *
 *   node ../../scripts/manifest.mjs prepack|postpack     (run in a package's directory)
 */
import * as Fs from "node:fs"

const file = "package.json"
const saved = ".package.json.repo"

const strip = (exports) =>
  exports === null || typeof exports !== "object"
    ? exports
    : Object.fromEntries(Object.entries(exports).filter(([key]) => key !== "source").map(([key, value]) => [key, strip(value)]))

const restore = () => {
  if (Fs.existsSync(saved)) Fs.renameSync(saved, file)
}

switch (process.argv[2]) {
  case "prepack": {
    restore() // a pack that failed half-way left the stripped file
    const text = Fs.readFileSync(file, "utf8")
    const { scripts: _scripts, ...manifest } = JSON.parse(text)
    Fs.writeFileSync(saved, text)
    Fs.writeFileSync(file, JSON.stringify({ ...manifest, exports: strip(manifest.exports) }, null, 2) + "\n")
    break
  }
  case "postpack":
    restore()
    break
  default:
    process.stderr.write("usage: node scripts/manifest.mjs prepack|postpack\n")
    process.exit(2)
}
