#!/usr/bin/env node
/**
 * The `effect-auth` binary. `--version` loads nothing else; `token` answers from the secure file
 * or the system keyring without Effect when the full command's record says where the token is and
 * it is fresh; everything else runs `internal/start` (the `@effect/cli` commands or the path of
 * `token` without the command tree; `NodeRuntime.runMain`, exit codes 0 ok, 1 error, 2 usage,
 * 4 a login is needed).
 *
 * Bundled (`scripts/bundle.mjs`), this file, `argv`, `cachedToken` and `version` are one
 * self-contained CommonJS file, `bin.cjs`, which starts as fast as Node itself; `internal/start`
 * and Effect are ES module chunks it `import()`s on the slow path only.
 *
 * @since 0.1.0
 */
import { writeSync } from "node:fs"
import { tokenOnly } from "./internal/argv.js"
import { cachedAnswer } from "./internal/cachedToken.js"
import { version } from "./internal/version.js"

/**
 * Writes `line` to stdout with write(2), and whether it is written: `process.stdout` would load
 * Node's streams, a tenth of the start-up. (A pipe that takes no more, or a closed one, falls back
 * to `process.stdout`, which writes later.)
 */
const print = (line: string): boolean => {
  const bytes = Buffer.from(`${line}\n`)
  let written = 0
  try {
    while (written < bytes.length) written += writeSync(1, bytes, written)
    return true
  } catch {
    process.stdout.write(bytes.subarray(written))
    return false
  }
}

/** Node >= 22.3 keeps the chunks' compiled code between runs (a third of their start-up); Node 20 lacks it. */
const enableCompileCache = (): void => {
  const builtin: unknown = Reflect.get(process, "getBuiltinModule")
  const module: unknown = typeof builtin === "function" ? builtin.call(process, "node:module") : undefined
  const enable: unknown = typeof module === "object" && module !== null ? Reflect.get(module, "enableCompileCache") : undefined
  if (typeof enable === "function") enable.call(module)
}

const slowPath = (): Promise<void> => {
  enableCompileCache()
  return import("./internal/start.js").then(({ start }) => start(process.argv))
}

const args = process.argv.slice(2)
if (args.length === 1 && args[0] === "--version") {
  print(version())
} else {
  // `token` with a comfortably fresh token in the secure file or the keyring is answered without
  // loading Effect. (No top-level await: CommonJS has none.)
  const globals = tokenOnly(process.argv)
  // Once the token is written, nothing is left to do: exit without closing the keyring's connection.
  void (globals === undefined ? slowPath() : cachedAnswer(globals).then((cached) => {
    if (cached === undefined) return slowPath()
    if (print(cached)) process.exit(0)
  }))
}
