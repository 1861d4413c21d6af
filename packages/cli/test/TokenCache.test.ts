/**
 * `effect-auth token`'s cache hit (no Effect loaded) with the secure file and the system keyring:
 * it gives the full command's answer or leaves the answer to it (issue 15.4), and a hung keyring
 * or bus never hangs it (issue 17.1). Real processes: the bundled binary, the emulator, a D-Bus
 * session with gnome-keyring.
 */
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import { assert, describe, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import { cachedAnswer, cachedToken } from "../src/internal/cachedToken.js"
import * as Cli from "./support/cli.js"
import * as KeyringSession from "./support/keyringSession.js"

const password = AnaplanAuthServer.demoUser.password ?? "demo-password"
const globals = { at: undefined, config: undefined, json: false, verbose: false }

const siteConfig = Cli.emulatorSite

const setup = (storage: string, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const server = yield* AnaplanAuthServer.AnaplanAuthServer
    const home = yield* Cli.home
    const homeEnv = { ...home.env, ...env }
    Cli.writeConfig(home, siteConfig(server.url, storage))
    const run = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
      Cli.run(args, { env: { ...homeEnv, ...extra } })
    const login = yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })
    assert.strictEqual(login.code, 0, login.stderr)
    return { server, home, env: homeEnv, run }
  })

layer(AnaplanAuthServer.layer(), { excludeTestServices: true, timeout: "120 seconds" })("token's cache hit", (it) => {
  describe("secure file", () => {
    it.scoped("answers only after the full command validated this very config; an edited one fails as login and status do", () =>
      Effect.gen(function*() {
        const { env, home, run, server } = yield* setup("file")
        // no record yet: the full command answers first, and records where the token lives
        assert.isUndefined(cachedToken(globals, env))
        const full = yield* run(["token"])
        assert.strictEqual(full.code, 0, full.stderr)
        assert.strictEqual(cachedToken(globals, env), full.stdout.trim())
        assert.strictEqual(yield* Effect.promise(() => cachedAnswer(globals, env)), full.stdout.trim())
        const hit = yield* run(["token"])
        assert.deepStrictEqual([hit.code, hit.stdout, hit.stderr], [0, full.stdout, ""])

        const cases = [
          ["an unknown key", siteConfig(server.url, "file", "colour = \"blue\"\n"), /sites\.emu\.colour: unknown key/],
          ["a wrong type", siteConfig(server.url, "file").replace(`storage = "file"`, "storage = 5"), /sites\.emu\.storage/],
          ["an unknown top-level key", `verbose = true\n${siteConfig(server.url, "file")}`, /verbose: unknown key/]
        ] as const
        for (const [what, text, error] of cases) {
          Cli.writeConfig(home, text)
          assert.isUndefined(cachedToken(globals, env), what)
          const token = yield* run(["token"])
          const status = yield* run(["status"])
          const login = yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })
          assert.strictEqual(token.stdout, "", `${what}: token prints no token`)
          assert.strictEqual(token.code, login.code, `${what}: token exits as login does`)
          assert.notStrictEqual(token.code, 0, what)
          assert.match(token.stderr, error, what)
          assert.strictEqual(token.stderr, status.stderr, `${what}: token and status report the same`)
        }
        // fixed again: the full command answers, then the cache hit
        Cli.writeConfig(home, siteConfig(server.url, "file"))
        assert.isUndefined(cachedToken(globals, env))
        const again = yield* run(["token"])
        assert.strictEqual(again.stdout, full.stdout)
        assert.strictEqual(cachedToken(globals, env), full.stdout.trim())
        // a touch (the same text) is a change too: certainty, not a guess
        const now = new Date()
        Fs.utimesSync(home.config, now, new Date(now.getTime() + 5_000))
        assert.isUndefined(cachedToken(globals, env))
      }))
  })

  describe("system keyring", () => {
    it.scoped("answers from gnome-keyring as the full command does; a hung keyring or bus never hangs token", () =>
      Effect.gen(function*() {
        const session = yield* KeyringSession.make
        const { env, run } = yield* setup("keyring", { DBUS_SESSION_BUS_ADDRESS: session.address })
        const full = yield* run(["token"])
        assert.strictEqual(full.code, 0, full.stderr)
        const token = full.stdout.trim()
        // in this process, over the same bus: the keyring's entry, no @napi-rs/keyring loaded
        assert.strictEqual(yield* Effect.promise(() => cachedAnswer(globals, env)), token)
        // the file path has nothing to say for a keyring site
        assert.isUndefined(cachedToken(globals, env))
        const hit = yield* run(["token"])
        assert.deepStrictEqual([hit.code, hit.stdout, hit.stderr], [0, full.stdout, ""])

        // The keyring daemon stops answering: the cache hit gives up within its bound and the full
        // command runs, whose keyring calls are bounded too. `token` exits by itself either way.
        yield* session.pause(true)
        assert.isUndefined(yield* Effect.promise(() => cachedAnswer(globals, env)))
        const hung = yield* run(["token"], {})
        assert.isNull(hung.signal, "token exited by itself")
        assert.isNotNull(hung.code)
        assert.notInclude(hung.stdout + hung.stderr, password)
        yield* session.pause(false)
        assert.strictEqual(yield* Effect.promise(() => cachedAnswer(globals, env)), token)

        // A bus that accepts the connection and never answers.
        const silent = yield* KeyringSession.silentBus
        const silentEnv = { ...env, DBUS_SESSION_BUS_ADDRESS: silent }
        assert.isUndefined(yield* Effect.promise(() => cachedAnswer(globals, silentEnv)))
        const stuck = yield* run(["token"], { DBUS_SESSION_BUS_ADDRESS: silent })
        assert.isNull(stuck.signal, "token exited by itself")
        assert.isNotNull(stuck.code)
        // no bus at all
        assert.isUndefined(
          yield* Effect.promise(() => cachedAnswer(globals, { ...env, DBUS_SESSION_BUS_ADDRESS: "disabled:" }))
        )
      }))
  })
})
