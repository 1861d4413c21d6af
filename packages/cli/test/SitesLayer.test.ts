/**
 * `Sites.layer` and the CLI share a login, both ways, as real processes against the emulator: a
 * CLI login, then a library program's whoami with 0 new logins; a library refresh, then
 * `effect-auth token` prints the refreshed token.
 */
import { assert, describe, layer } from "@effect/vitest"
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as Path from "node:path"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Cli from "./support/cli.js"

const here = Path.dirname(fileURLToPath(import.meta.url))
const password = AnaplanAuthServer.demoUser.password ?? "demo-password"
/** The library program, run as a process (tsx by path: it runs in the temporary HOME). */
const program = Path.join(here, "fixtures", "siteProgram.ts")
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href

const runProgram = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resume) => {
    const child = spawn(process.execPath, ["--conditions=source", "--import", tsx, program, ...args], {
      env,
      cwd: env.HOME,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
    })

const setup = Effect.gen(function*() {
  const server = yield* AnaplanAuthServer.AnaplanAuthServer
  const home = yield* Cli.home
  Cli.writeConfig(
    home,
    `[sites.emu]\nprovider = "anaplan"\nemail = "${AnaplanAuthServer.demoUser.email}"\n` +
      `auth_url = "${server.url}"\napi_url = "${server.url}"\nstorage = "file"\n`
  )
  return { server, home, env: { ...home.env, API_URL: server.url } }
})

describe("Sites.layer and the CLI", () => {
  layer(AnaplanAuthServer.layer(), { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.scoped("a CLI login serves a library program's whoami with 0 new logins", () =>
      Effect.gen(function*() {
        const { env, server } = yield* setup
        const login = yield* Cli.run(["login"], { env: { ...env, EFFECT_AUTH_PASSWORD: password } })
        assert.strictEqual(login.code, 0, login.stderr)
        const before = yield* server.counters
        const whoami = yield* runProgram(["whoami"], env)
        assert.strictEqual(whoami.code, 0, whoami.stderr)
        assert.strictEqual(whoami.stdout, `${AnaplanAuthServer.demoUser.email}\n`)
        const after = yield* server.counters
        assert.strictEqual(after.authenticate, before.authenticate, "no new login")
        assert.strictEqual(after.refresh, before.refresh, "no refresh: the stored token was fresh")
      }), { timeout: 120_000 })

    it.scoped("a library refresh is what `effect-auth token` prints next", () =>
      Effect.gen(function*() {
        const { env, server } = yield* setup
        // A 3-minute token is fresh for the CLI, and due for a program that renews 10 minutes ahead.
        yield* server.setTokenLifetime("3 minutes")
        yield* Effect.addFinalizer(() => server.setTokenLifetime(AnaplanAuthServer.defaultTokenLifetime))
        const login = yield* Cli.run(["token", "--json"], { env: { ...env, EFFECT_AUTH_PASSWORD: password } })
        assert.strictEqual(login.code, 0, login.stderr)
        const loggedIn = JSON.parse(login.stdout)
        yield* server.setTokenLifetime(AnaplanAuthServer.defaultTokenLifetime)
        const before = yield* server.counters
        const refreshed = yield* runProgram(["token", "--refresh-early"], env)
        assert.strictEqual(refreshed.code, 0, refreshed.stderr)
        // Anaplan's refresh extends the token in use: the same value with a later expiry (ANAPLAN.md).
        assert.strictEqual(refreshed.stdout.trim(), loggedIn.token)
        assert.strictEqual((yield* server.counters).refresh - before.refresh, 1, "the program refreshed once")
        const printed = yield* Cli.run(["token", "--json"], { env })
        assert.strictEqual(printed.code, 0, printed.stderr)
        const served = JSON.parse(printed.stdout)
        assert.strictEqual(served.token, loggedIn.token)
        assert.isAbove(Date.parse(served.expires_at), Date.parse(loggedIn.expires_at) + 60_000, "the program's later expiry")
        const after = yield* server.counters
        assert.strictEqual(after.refresh - before.refresh, 1, "the CLI served the program's token")
        assert.strictEqual(after.authenticate, before.authenticate, "no new login")
      }), { timeout: 120_000 })
  })
})
