/**
 * `storage = "auto"` decides once (issue 15.9): the bundled binary in a temporary HOME against
 * the emulator, without a keyring and with one that hangs, warns once, prints the same token
 * every time, and never waits on a hung keyring again.
 */
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { cachedAnswer, cachedToken } from "../src/internal/cachedToken.js"
import * as Cli from "./support/cli.js"
import * as KeyringSession from "./support/keyringSession.js"

const password = AnaplanAuthServer.demoUser.password ?? "demo-password"
const globals = { at: undefined, config: undefined, json: false, verbose: false }

/** The stderr lines about the keyring. */
const keyringWarnings = (stderr: string) => stderr.split("\n").filter((line) => /^warning: .*keyring/.test(line))

const setup = (env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const server = yield* AnaplanAuthServer.AnaplanAuthServer
    const home = yield* Cli.home
    const homeEnv = { ...home.env, ...env }
    Cli.writeConfig(home, Cli.emulatorSite(server.url, "auto"))
    const run = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
      Cli.run(args, { env: { ...homeEnv, ...extra }, timeoutMillis: 30_000 })
    return { home, env: homeEnv, run, file: Path.join(home.state, "effect-auth", "credentials.json") }
  })

layer(AnaplanAuthServer.layer(), { excludeTestServices: true, timeout: "120 seconds" })("storage = \"auto\"", (it) => {
  it.scoped("without a keyring: login warns once, naming the file; three token calls warn nothing and print one token", () =>
    Effect.gen(function*() {
      const { env, file, home, run } = yield* setup()
      const login = yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })
      assert.strictEqual(login.code, 0, login.stderr)
      const warned = keyringWarnings(login.stderr)
      assert.strictEqual(warned.length, 1, login.stderr)
      assert.include(warned[0], "credentials.json")
      assert.include(warned[0], "storage.json")
      assert.include(login.stdout, "credentials in file")

      const calls = [yield* run(["token"]), yield* run(["token"]), yield* run(["token"])]
      for (const call of calls) {
        assert.strictEqual(call.code, 0, call.stderr)
        assert.deepStrictEqual(keyringWarnings(call.stderr), [], call.stderr)
      }
      const token = calls[0].stdout
      assert.match(token, /^\S+\n$/)
      assert.deepStrictEqual(calls.map((call) => call.stdout), [token, token, token])
      // the token is the file's, and the cache hit follows the decision to the file
      assert.include(Fs.readFileSync(file, "utf8"), "\"emu")
      assert.strictEqual(cachedToken(globals, env), token.trim())

      const status = yield* run(["status"])
      assert.match(status.stdout, /auto \(file: the system keyring failed: [^\n]*, decided \d{4}-\d\d-\d\d \d\d:\d\d\)/)
      assert.deepStrictEqual(keyringWarnings(status.stderr), [])
      const decision = JSON.parse(Fs.readFileSync(Path.join(home.state, "effect-auth", "storage.json"), "utf8"))
      assert.deepInclude(decision.services["effect-auth"], { storage: "file", timedOut: false })
    }))

  it.scoped("with a keyring that hangs: login waits for it once; the token calls never connect to the bus", () =>
    Effect.gen(function*() {
      const bus = yield* KeyringSession.countingBus
      const { run } = yield* setup({ DBUS_SESSION_BUS_ADDRESS: bus.address })
      const login = yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })
      assert.strictEqual(login.code, 0, login.stderr)
      const warned = keyringWarnings(login.stderr)
      assert.strictEqual(warned.length, 1, login.stderr)
      assert.include(warned[0], "did not answer within")
      const afterLogin = bus.connections()
      assert.isAbove(afterLogin, 0, "login's probe reached the bus")

      const outputs: Array<string> = []
      const millis: Array<number> = []
      for (let i = 0; i < 3; i++) {
        const call = yield* run(["token"])
        millis.push(call.millis)
        assert.strictEqual(call.code, 0, call.stderr)
        assert.deepStrictEqual(keyringWarnings(call.stderr), [], call.stderr)
        assert.strictEqual(bus.connections(), afterLogin, `token call ${i + 1} connected to the bus`)
        outputs.push(call.stdout)
      }
      assert.deepStrictEqual(outputs, [outputs[0], outputs[0], outputs[0]])
      // eslint-disable-next-line no-console
      console.log(`auto with a hung keyring: login ${login.millis} ms, then token ${millis.join(", ")} ms`)

      const status = yield* run(["status"])
      assert.match(status.stdout, /auto \(file: the system keyring did not answer within 3s, decided [\d-]+ \d\d:\d\d\)/)
      assert.strictEqual(bus.connections(), afterLogin, "status connected to the bus")
      const json = JSON.parse((yield* run(["status", "--json"])).stdout)
      assert.deepInclude(json.sites[0].storage_decision, {
        storage: "file",
        reason: "the system keyring did not answer within 3s",
        timed_out: true
      })
    }))

  it.scoped("with a working keyring: the keyring, and a fresher login in the file wins in token and its cache hit alike", () =>
    Effect.gen(function*() {
      const session = yield* KeyringSession.make
      const { env, file, run } = yield* setup({ DBUS_SESSION_BUS_ADDRESS: session.address })
      const login = yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })
      assert.strictEqual(login.code, 0, login.stderr)
      assert.deepStrictEqual(keyringWarnings(login.stderr), [])
      assert.include(login.stdout, "credentials in system keyring")
      const first = yield* run(["token"])
      assert.strictEqual(first.code, 0, first.stderr)
      assert.isFalse(Fs.existsSync(file), "nothing in the file")
      assert.strictEqual(yield* Effect.promise(() => cachedAnswer(globals, env)), first.stdout.trim())

      // A later login kept in the file (storage chosen for one command): auto reads the freshest.
      const inFile = yield* run(["login", "--force"], { EFFECT_AUTH_PASSWORD: password, EFFECT_AUTH_STORAGE: "file" })
      assert.strictEqual(inFile.code, 0, inFile.stderr)
      const full = JSON.parse((yield* run(["token", "--json"])).stdout) as { token: string }
      assert.notStrictEqual(full.token, first.stdout.trim())
      assert.include(Fs.readFileSync(file, "utf8"), "\"emu")
      assert.strictEqual(yield* Effect.promise(() => cachedAnswer(globals, env)), full.token)
      const hit = yield* run(["token"])
      assert.deepStrictEqual([hit.code, hit.stdout], [0, `${full.token}\n`])
    }))
})
