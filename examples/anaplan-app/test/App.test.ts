import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as TestCertificates from "@effect-auth/anaplan/TestCertificates"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { main } from "../src/App.js"

/** Runs `effect` with `Console.log` captured into the returned lines. */
const captureLog = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Console.consoleWith((console) => {
    const lines: Array<string> = []
    const captured: Console.Console = {
      ...console,
      log: (...args) => Effect.sync(() => void lines.push(args.map(String).join(" ")))
    }
    return Effect.map(Effect.withConsole(effect, captured), (value) => ({ value, lines }))
  })

/** The program's main effect, configured by `env` only (as `ANAPLAN_*` environment variables would). */
const run = (env: Record<string, string>) =>
  captureLog(main.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))

const live = Layer.merge(NodeContext.layer, NodeHttpClient.layerUndici)

describe("examples/anaplan-app", () => {
  it.scopedLive("certificate login prints whoami; a second run uses the stored token and makes no login", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const certs = yield* TestCertificates.generate(yield* fs.makeTempDirectoryScoped({ prefix: "anaplan-app-certs-" }))
      const server = yield* AnaplanAuthServer.make({ trustedCaPem: certs.caPem })
      const store = yield* fs.makeTempDirectoryScoped({ prefix: "anaplan-app-store-" })
      const env = {
        ANAPLAN_CERTIFICATE: certs.clientCertPath,
        ANAPLAN_PRIVATE_KEY: certs.clientEncryptedKeyPath,
        ANAPLAN_PRIVATE_KEY_PASSPHRASE: Redacted.value(certs.passphrase),
        ANAPLAN_AUTH_URL: server.url,
        ANAPLAN_API_URL: server.url,
        ANAPLAN_STORE_DIR: store
      }

      const first = yield* run(env)
      assert.strictEqual(first.value.email, "demo@example.com")
      assert.match(first.lines[0], /^Signed in to Anaplan as Demo User <demo@example\.com> \(user [0-9a-f]{32}\)$/)
      assert.match(first.lines[1], /^Token valid until \d{4}-\d\d-\d\dT/)
      assert.include(first.lines[1], store)
      const afterFirst = yield* server.counters
      assert.strictEqual(afterFirst.authenticate, 1)
      assert.strictEqual(afterFirst.usersMe, 1)
      const file = `${store}/credentials.json`
      assert.strictEqual((yield* fs.stat(file)).mode & 0o777, 0o600)
      const entries: Record<string, string> = JSON.parse(yield* fs.readFileString(file)).entries
      const stored: { accessToken: string } = JSON.parse(Object.values(entries)[0])
      assert.notInclude(first.lines.join("\n"), stored.accessToken, "the token must never be printed")

      const second = yield* run(env)
      assert.strictEqual(second.lines[0], first.lines[0])
      const afterSecond = yield* server.counters
      assert.strictEqual(afterSecond.authenticate, 1, "the second run logged in again instead of using the stored token")
      assert.strictEqual(afterSecond.refresh, 0)
      assert.strictEqual(afterSecond.usersMe, 2)
      assert.strictEqual(yield* server.activeTokens, 1, "the stored token must stay valid for the next run")
    }).pipe(Effect.provide(live)))

  it.scopedLive("without a certificate it logs in with email and password; a wrong passphrase fails before the network", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const certs = yield* TestCertificates.generate(yield* fs.makeTempDirectoryScoped({ prefix: "anaplan-app-certs-" }))
      const server = yield* AnaplanAuthServer.make({ trustedCaPem: certs.caPem })
      const store = yield* fs.makeTempDirectoryScoped({ prefix: "anaplan-app-store-" })
      const hosts = { ANAPLAN_AUTH_URL: server.url, ANAPLAN_API_URL: server.url, ANAPLAN_STORE_DIR: store }

      const wrong = yield* Effect.flip(run({
        ...hosts,
        ANAPLAN_CERTIFICATE: certs.clientCertPath,
        ANAPLAN_PRIVATE_KEY: certs.clientEncryptedKeyPath,
        ANAPLAN_PRIVATE_KEY_PASSPHRASE: "not-the-passphrase"
      }))
      assert.strictEqual(wrong._tag, "InvalidConfiguration")
      assert.strictEqual((yield* server.counters).authenticate, 0)

      const missing = yield* Effect.flip(run(hosts))
      assert.strictEqual(missing._tag, "ConfigError")
      assert.include(String(missing), "ANAPLAN_EMAIL")

      const basic = yield* run({ ...hosts, ANAPLAN_EMAIL: "demo@example.com", ANAPLAN_PASSWORD: "demo-password" })
      assert.match(basic.lines[0], /^Signed in to Anaplan as Demo User <demo@example\.com>/)
      assert.strictEqual((yield* server.counters).authenticate, 1)
    }).pipe(Effect.provide(live)))
})
