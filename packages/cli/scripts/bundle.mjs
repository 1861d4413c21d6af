/**
 * Bundles the `effect-auth` binary with esbuild, the one definition the package's `build:bin`
 * script, the tests and the benchmark share:
 *
 * - `bin.cjs`: the entry, one self-contained CommonJS file (CommonJS starts faster than an ES
 *   module, and one file loads no chunks): `--version` and the cache hit of `token`, which load
 *   no Effect. On every other path it `import()`s `chunks/start.js`.
 * - `chunks/start.js` and its split chunks (ES modules): the commands, each loading its modules
 *   when it runs; and `chunks/keyringHelper.cjs`, the keyring's helper process.
 *
 *   node scripts/bundle.mjs [outdir]     (default dist, in the package's directory)
 *
 * `EFFECT_AUTH_BUNDLE_MINIFY=false` keeps the names, for reading a `--cpu-prof` profile.
 */
import * as esbuild from "esbuild"
import * as Fs from "node:fs"
import * as Module from "node:module"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const packageDir = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "..")

const common = {
  bundle: true,
  minify: process.env.EFFECT_AUTH_BUNDLE_MINIFY !== "false",
  platform: "node",
  target: "node20",
  conditions: ["source"],
  // Native and CommonJS clients load only when a site uses them.
  external: ["ioredis", "@napi-rs/keyring"],
  logLevel: "warning"
}

/** The entry's `import("./internal/start.js")` stays a dynamic import of the ES module chunk. */
const startChunk = {
  name: "start-chunk",
  setup(build) {
    build.onResolve({ filter: /^\.\/internal\/start\.js$/ }, () => ({ path: "./chunks/start.js", external: true }))
  }
}

/**
 * Builds the binary into `outdir` (its previous chunks removed) and returns the entry's path.
 *
 * @param {string} outdir
 * @returns {Promise<string>}
 */
export const bundle = async (outdir) => {
  Fs.rmSync(Path.join(outdir, "chunks"), { recursive: true, force: true })
  const entry = Path.join(outdir, "bin.cjs")
  await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: [Path.join(packageDir, "src", "bin.ts")],
      format: "cjs",
      outfile: entry,
      // the CommonJS entry finds its package by __filename (cachedToken.ts, version.ts)
      define: { "import.meta.url": "undefined" },
      plugins: [startChunk]
    }),
    esbuild.build({
      ...common,
      entryPoints: { "chunks/start": Path.join(packageDir, "src", "internal", "start.ts") },
      // Commands load their modules when they run.
      splitting: true,
      format: "esm",
      outdir,
      chunkNames: "chunks/[name]-[hash]",
      banner: {
        js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
      }
    })
  ])
  const require = Module.createRequire(Path.join(packageDir, "package.json"))
  Fs.copyFileSync(require.resolve("@effect-auth/core/keyringHelper"), Path.join(outdir, "chunks", "keyringHelper.cjs"))
  return entry
}

if (process.argv[1] !== undefined && Path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundle(Path.resolve(packageDir, process.argv[2] ?? "dist"))
}
