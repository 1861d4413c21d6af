#!/usr/bin/env node
/**
 * The `effect-auth` binary. `--version` loads nothing else; `token` answers from the secure file
 * without Effect when the stored token is fresh, else takes a path without the command tree;
 * everything else runs the `@effect/cli` commands (`NodeRuntime.runMain`, exit codes 0 ok,
 * 1 error, 2 usage, 4 a login is needed).
 *
 * @since 0.1.0
 */
import * as Module from "node:module"
import { tokenOnly } from "./internal/argv.js"
import { cachedToken } from "./internal/cachedToken.js"

// Node >= 22.1 keeps compiled code between runs (a third of `token`'s start-up); Node 20 lacks it.
const enableCompileCache: unknown = Reflect.get(Module, "enableCompileCache")
if (typeof enableCompileCache === "function") enableCompileCache.call(Module)

const args = process.argv.slice(2)
if (args.length === 1 && args[0] === "--version") {
  process.stdout.write(`${(await import("./internal/version.js")).version}\n`)
} else {
  // `token` with a comfortably fresh token in the secure file is answered without loading Effect.
  // (argv and cachedToken use no Effect and are bundled into this file: one module to load.)
  const globals = tokenOnly(process.argv)
  const cached = globals === undefined ? undefined : cachedToken(globals)
  if (cached !== undefined) {
    process.stdout.write(`${cached}\n`)
  } else {
    const { start } = await import("./internal/start.js")
    start(process.argv)
  }
}
