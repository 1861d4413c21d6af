import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as CredentialStorage from "../src/CredentialStorage.js"
import * as Token from "../src/Token.js"
import { TokenLock } from "../src/TokenLock.js"
import { TokenStore } from "../src/TokenStore.js"
import * as Keyring from "./support/keyring.js"
import * as Processes from "./support/processes.js"
import * as Programs from "./support/programs.js"
import * as RedisServer from "../../redis/test/support/redisServer.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-storage-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const token = Token.make({ accessToken: "storage-access-secret", issuedAt: 1_700_000_000_000, expiresIn: "1 hour" })

/** Builds the layer in the current scope and returns both services. */
const services = (options: CredentialStorage.Options) =>
  Effect.map(Layer.build(CredentialStorage.layer(options)), (context) => ({
    store: Context.get(context, TokenStore),
    lock: Context.get(context, TokenLock)
  }))

interface AutoResult {
  readonly first: { readonly describe: string; readonly loaded: boolean }
  readonly second: { readonly describe: string; readonly loaded: boolean }
  readonly selection: CredentialStorage.Selection
  readonly warnings: ReadonlyArray<string>
  readonly millis: number
}

describe("CredentialStorage", () => {
  it.scoped("memory: an in-process store and lock", () =>
    Effect.gen(function*() {
      const { lock, store } = yield* services({ kind: "memory" })
      assert.strictEqual(store.describe, "memory")
      assert.strictEqual(lock.describe, "memory")
      yield* store.save("site", token)
      assert.isTrue(Option.isSome(yield* store.load("site")))
    }))

  it.scoped("file: the secure file and lock files in the same state directory", () =>
    Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "state")
      const { lock, store } = yield* services({ kind: "file", directory })
      assert.include(store.describe, Path.join(directory, "credentials.json"))
      assert.include(lock.describe, directory)
      yield* lock.withLock("site", store.save("site", token))
      const loaded = Option.getOrThrow(yield* store.load("site"))
      assert.strictEqual(Redacted.value(loaded.accessToken), "storage-access-secret")
      assert.strictEqual(Fs.statSync(Path.join(directory, "credentials.json")).mode & 0o777, 0o600)
      const selection = yield* CredentialStorage.select({ kind: "file", directory })
      assert.deepStrictEqual(selection, { kind: "file", describe: store.describe })
    }))

  it.scoped("redis without a URL, or with another scheme, is an InvalidConfiguration naming the setting", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(services({ kind: "redis" }))
      assert.strictEqual(missing._tag, "InvalidConfiguration")
      assert.include(missing.message, "redis_url")
      assert.include(missing.message, "EFFECT_AUTH_REDIS_URL")
      const wrong = yield* Effect.flip(services({ kind: "redis", redisUrl: "http://user:pw@example.com:6379" }))
      assert.strictEqual(wrong._tag, "InvalidConfiguration")
      assert.include(wrong.message, "redis://")
      assert.notInclude(wrong.message, "pw")
    }))

  it.scoped("keyring: the keyring store with lock files in the state directory (nothing opened before use)", () =>
    Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "state")
      const { lock, store } = yield* services({ kind: "keyring", directory, keyringService: "effect-auth-test" })
      assert.strictEqual(store.describe, "system keyring (service \"effect-auth-test\")")
      assert.include(lock.describe, directory)
    }))

  const noBus = { DBUS_SESSION_BUS_ADDRESS: undefined, DISPLAY: undefined, WAYLAND_DISPLAY: undefined }

  /** The decision file of a state directory, parsed. */
  const decisionIn = (directory: string) => {
    const file = Path.join(directory, "storage.json")
    assert.strictEqual(Fs.statSync(file).mode & 0o777, 0o600)
    assert.strictEqual(Fs.statSync(directory).mode & 0o777, 0o700)
    return JSON.parse(Fs.readFileSync(file, "utf8")).services["effect-auth-test"] as {
      storage: string
      reason?: string
      timedOut: boolean
      decidedAt: string
    }
  }

  it.live("auto without a D-Bus session falls back to the secure file with one warning, and the next process follows silently", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "state")
      const script = yield* Processes.bundle("storageAuto.ts")
      const finished = yield* Processes.run(script, ["auto", directory, "effect-auth-test"], 20_000, { env: noBus })
      const result = Processes.result<AutoResult>(finished)
      const file = Path.join(directory, "credentials.json")
      // eslint-disable-next-line no-console
      console.log(`auto without D-Bus: file chosen in ${result.millis} ms; warning: ${result.warnings[0]}`)
      assert.strictEqual(result.selection.kind, "file")
      assert.isDefined(result.selection.decision?.reason)
      assert.strictEqual(result.warnings.length, 1)
      assert.include(result.warnings[0], "system keyring")
      assert.include(result.warnings[0], file)
      assert.include(result.warnings[0], result.selection.decision!.reason!)
      // it says how to get the keyring back
      assert.include(result.warnings[0], Path.join(directory, "storage.json"))
      assert.isTrue(result.first.loaded && result.second.loaded)
      assert.include(result.first.describe, file)
      assert.strictEqual(Fs.statSync(file).mode & 0o777, 0o600)
      assert.deepStrictEqual(Object.keys(JSON.parse(Fs.readFileSync(file, "utf8")).entries).sort(), [
        "site-one",
        "site-two"
      ])
      const decision = decisionIn(directory)
      assert.deepInclude(decision, { storage: "file", reason: result.selection.decision?.reason, timedOut: false })

      // The next process reads the decision: the same file, no probe, no warning.
      const next = Processes.result<AutoResult>(
        yield* Processes.run(script, ["auto", directory, "effect-auth-test"], 20_000, { env: noBus })
      )
      assert.deepStrictEqual(next.warnings, [])
      assert.strictEqual(next.selection.kind, "file")
      assert.strictEqual(next.first.describe, result.first.describe)
      assert.isTrue(next.first.loaded && next.second.loaded)
      assert.deepStrictEqual(decisionIn(directory), decision)
    })), 40_000)

  it.live("auto with a keyring that hangs falls back to the file after the timeout, warning once; the next process never connects", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "state")
      const bus = yield* Keyring.silentBus
      const script = yield* Processes.bundle("storageAuto.ts")
      const env = { DBUS_SESSION_BUS_ADDRESS: `unix:path=${bus.path}`, DISPLAY: undefined }
      const finished = yield* Processes.run(script, ["auto", directory, "effect-auth-test"], 20_000, { env })
      const result = Processes.result<AutoResult>(finished)
      // eslint-disable-next-line no-console
      console.log(`auto with a hung keyring: file chosen, both layers built in ${result.millis} ms (keyring timeout 2 s)`)
      assert.strictEqual(result.selection.kind, "file")
      assert.strictEqual(result.warnings.length, 1)
      assert.include(result.warnings[0], "did not answer within 2s")
      assert.isTrue(result.first.loaded && result.second.loaded)
      // one probe, bounded by the timeout, not one per layer
      assert.isBelow(result.millis, 3_500)
      assert.isAbove(bus.connections(), 0, "the probe reached the bus")
      assert.deepInclude(decisionIn(directory), {
        storage: "file",
        reason: "the system keyring did not answer within 2s",
        timedOut: true
      })

      const before = bus.connections()
      const next = Processes.result<AutoResult>(
        yield* Processes.run(script, ["auto", directory, "effect-auth-test"], 20_000, { env })
      )
      assert.deepStrictEqual(next.warnings, [])
      assert.strictEqual(next.selection.kind, "file")
      assert.isTrue(next.first.loaded && next.second.loaded)
      assert.strictEqual(bus.connections(), before, "the second process never connected to the bus")
    })), 40_000)

  describe.skipIf(!Programs.shouldRun(...Keyring.programs))("with a working keyring", () => {
    it.live("auto uses the keyring, warns nothing and writes no file", () =>
      Effect.scoped(Effect.gen(function*() {
        const directory = Path.join(yield* tempDir, "state")
        const script = yield* Processes.bundle("storageAuto.ts")
        const finished = yield* Keyring.runInSession(script, ["auto", directory, "effect-auth-test"], 25_000)
        const result = Processes.result<AutoResult>(finished)
        // eslint-disable-next-line no-console
        console.log(`auto with gnome-keyring: keyring chosen in ${result.millis} ms (both layers)`)
        assert.strictEqual(result.selection.kind, "keyring", finished.stderr)
        assert.deepStrictEqual(result.warnings, [])
        assert.isTrue(result.first.loaded && result.second.loaded)
        assert.strictEqual(result.first.describe, "system keyring (service \"effect-auth-test\")")
        assert.isFalse(Fs.existsSync(Path.join(directory, "credentials.json")))
        assert.deepInclude(decisionIn(directory), { storage: "keyring", timedOut: false })
      })), 30_000)

    it.live("auto reads the freshest entry of the keyring and the file (later issuedAt, then later expiry)", () =>
      Effect.scoped(Effect.gen(function*() {
        const directory = Path.join(yield* tempDir, "state")
        const script = yield* Processes.bundle("storageAuto.ts")
        const finished = yield* Keyring.runInSession(script, ["auto", directory, "effect-auth-test", "freshest"], 25_000)
        const result = Processes.result<{
          loads: ReadonlyArray<string | null>
          selection: CredentialStorage.Selection
          warnings: ReadonlyArray<string>
        }>(finished)
        assert.strictEqual(result.selection.kind, "keyring", finished.stderr)
        assert.deepStrictEqual(result.warnings, [])
        assert.deepStrictEqual(result.loads, ["file-newer", "keyring-newest", "file-longer"])
      })), 30_000)

    it.live("a keyring decided on that fails later: that process falls back to the file, warning once; the next follows", () =>
      Effect.scoped(Effect.gen(function*() {
        const directory = Path.join(yield* tempDir, "state")
        const script = yield* Processes.bundle("storageAuto.ts")
        const decided = Processes.result<AutoResult>(
          yield* Keyring.runInSession(script, ["auto", directory, "effect-auth-test"], 25_000)
        )
        assert.strictEqual(decided.selection.kind, "keyring")
        // The same state directory without the keyring's session: the decision (keyring) is not probed,
        // the first call fails and the file takes over.
        const failed = Processes.result<AutoResult>(
          yield* Processes.run(script, ["auto", directory, "effect-auth-test"], 20_000, { env: noBus })
        )
        assert.strictEqual(failed.warnings.length, 1, failed.warnings.join("\n"))
        assert.include(failed.warnings[0], Path.join(directory, "credentials.json"))
        assert.strictEqual(failed.selection.kind, "file")
        assert.isTrue(failed.first.loaded && failed.second.loaded)
        assert.include(failed.second.describe, "credentials.json")
        assert.deepInclude(decisionIn(directory), { storage: "file", timedOut: false })
        const next = Processes.result<AutoResult>(
          yield* Processes.run(script, ["auto", directory, "effect-auth-test"], 20_000, { env: noBus })
        )
        assert.deepStrictEqual(next.warnings, [])
        assert.strictEqual(next.selection.kind, "file")
      })), 60_000)
  })

  describe.skipIf(!Programs.shouldRun(RedisServer.program))("with a real redis-server", () => {
    it.live("redis: the store and the locks share one connection under the prefix", () =>
      Effect.scoped(Effect.gen(function*() {
        const redis = yield* RedisServer.start
        const { lock, store } = yield* services({ kind: "redis", redisUrl: redis.url, redisPrefix: "team-a:" })
        assert.strictEqual(store.describe, `redis ${redis.url}`)
        yield* lock.withLock("site", store.save("site", token))
        assert.isTrue(Option.isSome(yield* store.load("site")))
        assert.include(yield* redis.command("EXISTS", "team-a:site"), ":1")
        const clients = yield* redis.command("CLIENT", "LIST")
        // our connection plus the one that asked
        assert.strictEqual(clients.split("\n").filter((line) => line.includes("addr=")).length, 2)
      })), 30_000)
  })
})
