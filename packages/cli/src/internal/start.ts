/**
 * The binary's runtime: the fast path for `token`, else the whole command tree.
 *
 * @internal
 */
import * as CredentialStorage from "@effect-auth/core/CredentialStorage"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { tokenOnly } from "./argv.js"

/** @internal */
export const start = (argv: ReadonlyArray<string>): void => {
  const fast = tokenOnly(argv)
  const program = fast !== undefined
    ? Effect.flatMap(Effect.promise(() => import("./fastToken.js")), (module) => module.main(fast))
    : Effect.flatMap(Effect.promise(() => import("../Cli.js")), (module) => module.main(argv))
  // Storage "redis" from the bundle's own copy of @effect-auth/redis (a chunk loaded when used).
  const withRedis = Effect.provideService(program, CredentialStorage.RedisLoader, () => import("@effect-auth/redis"))
  NodeRuntime.runMain(withRedis, {
    disableErrorReporting: true,
    // Logs go to stderr only (finish.ts); runMain's pretty logger would print them on stdout too,
    // into `token`'s output.
    disablePrettyLogger: true,
    teardown: (exit, onExit) => {
      // An interrupted `exec` (a forwarded SIGINT) leaves its child's code in process.exitCode.
      const fallback = typeof process.exitCode === "number" ? process.exitCode : 130
      const code = Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : fallback
      process.exitCode = code
      onExit(code)
    }
  })
}
