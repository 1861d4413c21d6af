import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as SecureFileStore from "../src/SecureFileStore.js"
import * as Token from "../src/Token.js"
import * as TokenStore from "../src/TokenStore.js"
import * as Processes from "./support/processes.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-file-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const mode = (path: string) => Fs.statSync(path).mode & 0o777

const token = Token.make({
  accessToken: "access-secret-1",
  issuedAt: 1_700_000_000_000,
  expiresIn: "35 minutes",
  refreshToken: "refresh-secret-1"
})

describe("SecureFileStore", () => {
  it.scoped("creates the directory 0700 and the file 0600, and round-trips entries", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const directory = Path.join(root, "state", "effect-auth")
      const { file, store } = yield* SecureFileStore.make({ directory })
      assert.isTrue(Option.isNone(yield* store.get("missing")))
      yield* store.set("site-a", "one")
      yield* store.set("site-b", "two")
      assert.strictEqual(mode(directory), 0o700)
      assert.strictEqual(mode(file), 0o600)
      assert.deepStrictEqual(yield* store.get("site-a"), Option.some("one"))
      assert.strictEqual(yield* store.size, 2)
      yield* store.remove("site-a")
      assert.isFalse(yield* store.has("site-a"))
      assert.deepStrictEqual(JSON.parse(Fs.readFileSync(file, "utf8")).entries, { "site-b": "two" })
      // no temp or lock file is left behind
      assert.deepStrictEqual(Fs.readdirSync(directory), ["credentials.json"])
    }))

  it.scoped("the file is 0600 from creation even with a permissive umask", () =>
    Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "d")
      const previous = process.umask(0)
      try {
        const { file, store } = yield* SecureFileStore.make({ directory })
        yield* store.set("k", "v")
        assert.strictEqual(mode(file), 0o600)
        assert.strictEqual(mode(directory), 0o700)
      } finally {
        process.umask(previous)
      }
    }))

  it.scoped("refuses a credential file others can read, naming the file and the fix", () =>
    Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "d")
      const tokens = TokenStore.make((yield* SecureFileStore.make({ directory })).store, "file under test")
      yield* tokens.save("site", token)
      const file = Path.join(directory, "credentials.json")
      Fs.chmodSync(file, 0o644)
      const error = yield* Effect.flip(tokens.load("site"))
      assert.strictEqual(error._tag, "CredentialStoreError")
      assert.include(error.message, file)
      assert.include(error.message, `chmod 600 ${file}`)
      assert.strictEqual(error.key, "site")
      // no secret in the message
      assert.notInclude(error.message, "secret")
    }))

  it.scoped("refuses a credential directory others can read", () =>
    Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "d")
      Fs.mkdirSync(directory, { mode: 0o755 })
      Fs.chmodSync(directory, 0o755)
      const exit = yield* Effect.exit(SecureFileStore.make({ directory }))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(SecureFileStore.make({ directory }))
      assert.include(error.message, `chmod 700 ${directory}`)
    }))

  it.scoped("a corrupt or truncated entry fails naming store and key, stays, and remove works", () =>
    Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "d")
      const secure = yield* SecureFileStore.make({ directory })
      const tokens = TokenStore.make(secure.store, secure.describe)
      yield* tokens.save("good", token)
      const encoded = Option.getOrThrow(yield* secure.store.get("good"))
      yield* secure.store.set("truncated", encoded.slice(0, encoded.length / 2))
      yield* secure.store.set("corrupt", "{\"accessToken\":42}")
      for (const key of ["truncated", "corrupt"]) {
        const error = yield* Effect.flip(tokens.load(key))
        assert.strictEqual(error._tag, "CredentialStoreError")
        assert.strictEqual(error.key, key)
        assert.include(error.message, secure.describe)
        assert.include(error.message, `"${key}"`)
        assert.notInclude(error.message, "access-secret")
        assert.isTrue(yield* secure.store.has(key))
        yield* tokens.remove(key)
        assert.isFalse(yield* secure.store.has(key))
      }
      const loaded = Option.getOrThrow(yield* tokens.load("good"))
      assert.strictEqual(Redacted.value(loaded.accessToken), "access-secret-1")
      assert.deepStrictEqual(Option.map(loaded.refreshToken, Redacted.value), Option.some("refresh-secret-1"))
    }))

  it.scoped("a file that is not JSON fails with an error naming the file", () =>
    Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "d")
      const secure = yield* SecureFileStore.make({ directory })
      Fs.writeFileSync(secure.file, "{\"entries\": {\"a\": ", { mode: 0o600 })
      const error = yield* Effect.flip(TokenStore.make(secure.store, secure.describe).load("a"))
      assert.include(error.message, secure.file)
      assert.include(error.message, "not valid JSON")
    }))

  it.live("a lock left by a dead process is taken over", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "d")
      const secure = yield* SecureFileStore.make({ directory, lockTimeout: "5 seconds" })
      // pid 2^22 + 1 is above Linux's pid_max default ceiling, so no such process exists
      Fs.writeFileSync(
        `${secure.file}.lock`,
        JSON.stringify({ pid: 4_194_305, host: Os.hostname(), owner: "dead", at: Date.now() }),
        { mode: 0o600 }
      )
      const started = Date.now()
      yield* secure.store.set("k", "v")
      assert.isBelow(Date.now() - started, 2_000)
      assert.deepStrictEqual(yield* secure.store.get("k"), Option.some("v"))
    })))

  it.scoped("the default directory follows XDG_STATE_HOME, else ~/.local/state", () =>
    Effect.sync(() => {
      assert.strictEqual(SecureFileStore.defaultDirectory({ XDG_STATE_HOME: "/x/state" }), "/x/state/effect-auth")
      assert.strictEqual(
        SecureFileStore.defaultDirectory({ HOME: "/home/u" }),
        "/home/u/.local/state/effect-auth"
      )
    }))

  it.live("16 processes x 200 writes of distinct keys: no key lost, the file always parses, modes kept", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "shared")
      const processes = 16
      const writes = 200
      const writer = yield* Processes.bundle("fileWriter.ts")
      const started = Date.now()
      const finished = yield* Effect.all(
        Array.from({ length: processes }, (_, id) =>
          Processes.run(writer, [directory, String(id), String(writes)], 55_000)),
        { concurrency: "unbounded" }
      )
      const elapsed = Date.now() - started
      const summaries = finished.map((f) =>
        Processes.result<{ written: number; unparsable: number; badModes: number; millis: number }>(f)
      )
      const file = Path.join(directory, "credentials.json")
      const entries: Record<string, string> = JSON.parse(Fs.readFileSync(file, "utf8")).entries
      const missing: Array<string> = []
      for (let id = 0; id < processes; id++) {
        for (let i = 0; i < writes; i++) {
          if (entries[`writer-${id}/key-${i}`] !== `value-${id}-${i}`) missing.push(`writer-${id}/key-${i}`)
        }
      }
      const unparsable = summaries.reduce((n, s) => n + s.unparsable, 0)
      const badModes = summaries.reduce((n, s) => n + s.badModes, 0)
      // eslint-disable-next-line no-console
      console.log(
        `file store: ${processes} x ${writes} writes in ${elapsed} ms; lost ${missing.length}, ` +
          `unparsable reads ${unparsable}, bad modes ${badModes}, entries ${Object.keys(entries).length}`
      )
      assert.deepStrictEqual(missing, [])
      assert.strictEqual(Object.keys(entries).length, processes * writes)
      assert.strictEqual(unparsable, 0)
      assert.strictEqual(badModes, 0)
      assert.strictEqual(mode(file), 0o600)
      assert.strictEqual(mode(directory), 0o700)
      assert.deepStrictEqual(Fs.readdirSync(directory), ["credentials.json"])
    })), 60_000)
})
