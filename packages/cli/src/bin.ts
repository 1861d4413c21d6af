#!/usr/bin/env node
/**
 * The `effect-auth` binary. `--version` loads nothing else; `token` answers from the secure file
 * or the system keyring without Effect when the full command's record says where the token is and
 * it is fresh, else takes a path without the command tree;
 * everything else runs the `@effect/cli` commands (`NodeRuntime.runMain`, exit codes 0 ok,
 * 1 error, 2 usage, 4 a login is needed).
 *
 * @since 0.1.0
 */
import * as Module from "node:module"
import { tokenOnly } from "./internal/argv.js"
import { cachedAnswer } from "./internal/cachedToken.js"

// Node >= 22.1 keeps compiled code between runs (a third of `token`'s start-up); Node 20 lacks it.
const enableCompileCache: unknown = Reflect.get(Module, "enableCompileCache")
if (typeof enableCompileCache === "function") enableCompileCache.call(Module)

const args = process.argv.slice(2)
if (args.length === 1 && args[0] === "--version") {
  process.stdout.write(`${(await import("./internal/version.js")).version}\n`)
} else {
  // `token` with a comfortably fresh token in the secure file or the keyring is answered without
  // loading Effect. (argv and cachedToken use no Effect and are bundled into this file: one module.)
  const globals = tokenOnly(process.argv)
  const cached = globals === undefined ? undefined : await cachedAnswer(globals)
  if (cached !== undefined) {
    process.stdout.write(`${cached}\n`)
  } else {
    const { start } = await import("./internal/start.js")
    start(process.argv)
  }
}
