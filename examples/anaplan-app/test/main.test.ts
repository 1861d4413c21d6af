/**
 * The example as a user runs it: `node --conditions=source --import tsx examples/anaplan-app/main.ts`
 * as a child process, configured by environment variables only, against the emulator.
 */
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")

const runMain = (env: Record<string, string>) =>
  Effect.async<{ code: number; stdout: string; stderr: string }>((resume) => {
    const child = execFile(
      process.execPath,
      ["--conditions=source", "--import", "tsx", "examples/anaplan-app/main.ts"],
      { cwd: root, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, timeout: 30_000 },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
    )
    return Effect.sync(() => void child.kill())
  })

describe("examples/anaplan-app main.ts", () => {
  it.scopedLive("runs from the command line: signs in with the environment's credentials, or says what is wrong", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const server = yield* AnaplanAuthServer.make()
      const store = yield* fs.makeTempDirectoryScoped({ prefix: "anaplan-app-main-" })
      const user = AnaplanAuthServer.demoUser
      const env = {
        ANAPLAN_EMAIL: user.email,
        ANAPLAN_PASSWORD: user.password ?? "",
        ANAPLAN_AUTH_URL: server.url,
        ANAPLAN_API_URL: server.url,
        ANAPLAN_STORE_DIR: store
      }
      const ok = yield* runMain(env)
      assert.strictEqual(ok.code, 0, ok.stderr)
      assert.match(ok.stdout, /^Signed in to Anaplan as Demo User <demo@example\.com>/)
      assert.notInclude(ok.stdout + ok.stderr, user.password ?? "")
      assert.strictEqual((yield* server.counters).authenticate, 1)

      const wrong = yield* runMain({ ...env, ANAPLAN_PASSWORD: "not-the-password", ANAPLAN_STORE_DIR: Path.join(store, "other") })
      assert.strictEqual(wrong.code, 1)
      assert.match(wrong.stderr, /^anaplan-app: .*password/i)
      assert.notInclude(wrong.stdout + wrong.stderr, "not-the-password")
    }).pipe(Effect.provide(NodeContext.layer)), { timeout: 60_000 })
})
