import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FC from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as SecureFileStore from "../src/SecureFileStore.js"
import * as Token from "../src/Token.js"
import * as TokenLock from "../src/TokenLock.js"
import * as TokenStore from "../src/TokenStore.js"
import * as Processes from "./support/processes.js"

/** Keys that name `Object.prototype` members: a plain object would answer them before anything is stored. */
const prototypeNames = Object.getOwnPropertyNames(Object.prototype)

/** A `tmpfs` of `size` bytes at a fresh directory (CI runs as root), unmounted with the scope. */
const smallDisk = (size: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-full-"))
      ChildProcess.execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir])
      return dir
    }),
    (dir) =>
      Effect.sync(() => {
        ChildProcess.execFileSync("umount", [dir])
        Fs.rmSync(dir, { recursive: true, force: true })
      })
  )

/** Fills the disk of `dir` until at most `leave` bytes are free. */
const fill = (dir: string, leave: number) => {
  const stat = Fs.statfsSync(dir)
  const free = stat.bavail * stat.bsize
  const filler = Path.join(dir, "filler")
  Fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free - leave)))
  try {
    // tmpfs may round up; top up to the brim when asked for a full disk
    if (leave === 0) Fs.appendFileSync(filler, Buffer.alloc(64 * 1024))
  } catch {
    // full
  }
  return filler
}

const isRoot = process.getuid?.() === 0

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

  it.effect.prop(
    "any key, Object.prototype member names included, saves, loads, survives a reopen and logs out",
    [FC.array(
      FC.tuple(
        FC.constantFrom("save", "load", "remove"),
        FC.oneof(FC.constantFrom(...prototypeNames), FC.string({ minLength: 1 }))
      ),
      { minLength: 1, maxLength: 12 }
    )],
    ([operations]) =>
      Effect.scoped(Effect.gen(function*() {
        const directory = Path.join(yield* tempDir, "d")
        const tokens = TokenStore.make((yield* SecureFileStore.make({ directory })).store, "file")
        const model = new Map<string, string>()
        for (const [operation, key] of operations) {
          if (operation === "save") {
            const access = `access-${model.size}-${key.length}`
            yield* tokens.save(key, Token.make({ accessToken: access, issuedAt: 1_700_000_000_000, expiresIn: "1 hour" }))
            model.set(key, access)
          } else if (operation === "remove") {
            yield* tokens.remove(key)
            model.delete(key)
          }
          const loaded = yield* tokens.load(key)
          assert.deepStrictEqual(Option.map(loaded, (t) => Redacted.value(t.accessToken)), Option.fromNullable(model.get(key)))
        }
        // a second process's view: the same entries, and nothing else
        const reopened = (yield* SecureFileStore.make({ directory })).store
        assert.strictEqual(yield* reopened.size, model.size)
        for (const [key, access] of model) {
          const loaded = yield* TokenStore.make(reopened, "file").load(key)
          assert.deepStrictEqual(Option.map(loaded, (t) => Redacted.value(t.accessToken)), Option.some(access))
        }
      })),
    { fastCheck: { numRuns: 60, examples: [[[["save", "__proto__"], ["load", "constructor"], ["remove", "__proto__"]]]] } }
  )

  it.scoped("refuses a credential file owned by another user, naming the file and the owner", () =>
    Effect.gen(function*() {
      assert.isTrue(isRoot || !process.env.CI, "CI runs as root, to hand the file to another user")
      if (!isRoot) return
      const directory = Path.join(yield* tempDir, "d")
      const secure = yield* SecureFileStore.make({ directory })
      const tokens = TokenStore.make(secure.store, secure.describe)
      yield* tokens.save("site", token)
      Fs.chownSync(secure.file, 4242, 4242)
      const error = yield* Effect.flip(tokens.load("site"))
      assert.strictEqual(error._tag, "CredentialStoreError")
      assert.include(error.message, secure.file)
      assert.include(error.message, "belongs to another user (uid 4242")
      const write = yield* Effect.flip(tokens.save("other", token))
      assert.include(write.message, "belongs to another user")
      // nothing was replaced
      assert.strictEqual(Fs.statSync(secure.file).uid, 4242)
    }))

  it.scoped("a credential file past the size bound is refused without being read whole", () =>
    Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "d")
      const secure = yield* SecureFileStore.make({ directory })
      // 64 MiB, sparse: reading it whole is what the bound prevents
      Fs.writeFileSync(secure.file, "", { mode: 0o600 })
      Fs.truncateSync(secure.file, 64 * 1024 * 1024)
      const error = yield* Effect.flip(TokenStore.make(secure.store, secure.describe).load("a"))
      assert.include(error.message, secure.file)
      assert.include(error.message, "larger than 8388608 bytes")
      assert.include(error.message, `rm ${secure.file}`)
      // the bound is an option, and a file within it reads
      const small = yield* SecureFileStore.make({ directory: Path.join(directory, "small"), maxBytes: 200 })
      yield* small.store.set("a", "x".repeat(100))
      const tooBig = yield* Effect.flip(small.store.set("b", "x".repeat(100)).pipe(Effect.zipRight(small.store.get("a"))))
      assert.include(String(tooBig.message), "larger than 200 bytes")
    }))

  describe("on a full disk (a small tmpfs)", () => {
    it.scoped("a failed write leaves no temp file and no lock file, loses no entry, and the next write succeeds", () =>
      Effect.gen(function*() {
        assert.isTrue(isRoot || !process.env.CI, "CI runs as root, to mount a tmpfs")
        if (!isRoot) return
        const disk = yield* smallDisk(256 * 1024)
        const directory = Path.join(disk, "state")
        const secure = yield* SecureFileStore.make({ directory })
        const tokens = TokenStore.make(secure.store, secure.describe)
        yield* tokens.save("kept", token)
        const listing = () => Fs.readdirSync(directory).sort()
        // Room for the lock file but not for the new version of the file: the temp file's write fails.
        let filler = fill(disk, 8 * 1024)
        const big = Token.make({ accessToken: "x".repeat(64 * 1024), issuedAt: 1_700_000_000_000, expiresIn: "1 hour" })
        const partial = yield* Effect.flip(tokens.save("big", big))
        assert.strictEqual(partial._tag, "CredentialStoreError")
        assert.include(partial.message, "ENOSPC")
        assert.deepStrictEqual(listing(), ["credentials.json"])
        // No room at all: the lock file's own write fails, and the empty lock file goes too.
        Fs.rmSync(filler)
        filler = fill(disk, 0)
        const full = yield* Effect.flip(tokens.save("other", token))
        assert.include(full.message, "ENOSPC")
        assert.deepStrictEqual(listing(), ["credentials.json"])
        // nothing stored was lost
        assert.isTrue(Option.isSome(yield* tokens.load("kept")))
        // room again: the next write takes the lock at once (no empty lock file to wait out)
        Fs.rmSync(filler)
        yield* tokens.save("other", token)
        assert.deepStrictEqual(listing(), ["credentials.json"])
        assert.strictEqual(yield* secure.store.size, 2)
      }))

    it.scoped("the lock files of TokenLock are cleaned up the same way", () =>
      Effect.gen(function*() {
        assert.isTrue(isRoot || !process.env.CI, "CI runs as root, to mount a tmpfs")
        if (!isRoot) return
        const disk = yield* smallDisk(128 * 1024)
        const directory = Path.join(disk, "locks")
        const lock = yield* Effect.flatMap(Layer.build(TokenLock.layerFile({ directory })), (context) =>
          Effect.succeed(Context.get(context, TokenLock.TokenLock)))
        const filler = fill(disk, 0)
        const error = yield* Effect.flip(lock.withLock("site", Effect.void))
        assert.strictEqual(error._tag, "CredentialStoreError")
        assert.include(error.message, "ENOSPC")
        assert.deepStrictEqual(Fs.readdirSync(directory), [])
        Fs.rmSync(filler)
        yield* lock.withLock("site", Effect.void)
      }))
  })

  it.live("16 processes x 200 writes of distinct keys: no key lost, the file always parses, modes kept", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = Path.join(yield* tempDir, "shared")
      const processes = 16
      const writes = 200
      const writer = yield* Processes.bundle("fileWriter.ts")
      const started = Date.now()
      const finished = yield* Effect.all(
        Array.from({ length: processes }, (_, id) =>
          Processes.run(writer, [directory, String(id), String(writes)], 170_000)),
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
    })), 180_000)
})
