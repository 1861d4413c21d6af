/** @internal */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as PlatformError from "@effect/platform/Error"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Paths from "../Paths.js"
import * as Path from "node:path"
import { CredentialStoreError } from "../AuthError.js"
import { writeFileAtomic } from "./atomicFile.js"
import * as LockFile from "./lockFile.js"

/** @internal */
export interface Options {
  readonly directory?: string | undefined
  readonly fileName?: string | undefined
  readonly lockTimeout?: Duration.DurationInput | undefined
  readonly lockStaleAfter?: Duration.DurationInput | undefined
  readonly maxBytes?: number | undefined
}

/** @internal */
export const defaultDirectory = (env: NodeJS.ProcessEnv = process.env): string => Paths.stateDirectory(env)

/** A path for messages: under the home directory as `~/...`. @internal */
export const shortPath = (file: string): string => {
  const home = Os.homedir()
  return file.startsWith(home + Path.sep) ? "~" + file.slice(home.length) : file
}

/** @internal */
export const describe = (file: string): string => `file ${shortPath(file)}`

const code = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

const reasonOf = (error: unknown): PlatformError.SystemErrorReason => {
  switch (code(error)) {
    case "ENOENT":
      return "NotFound"
    case "EACCES":
    case "EPERM":
      return "PermissionDenied"
    case "EEXIST":
      return "AlreadyExists"
    default:
      return "Unknown"
  }
}

/** A platform error carrying the `CredentialStoreError` to show, so `TokenStore` can surface it. */
const failure = (
  method: string,
  store: string,
  detail: string,
  options: { readonly hint?: string; readonly reason?: PlatformError.SystemErrorReason; readonly path?: string } = {}
): PlatformError.PlatformError =>
  new PlatformError.SystemError({
    module: "KeyValueStore",
    method,
    reason: options.reason ?? "Unknown",
    pathOrDescriptor: options.path,
    description: detail,
    cause: new CredentialStoreError({ store, detail, hint: options.hint })
  })

/** The entries by key: a `Map`, so a key such as `constructor` or `__proto__` is a key like any other. */
type Entries = Map<string, string>

/** @internal */
export const maxFileBytes = 8 * 1024 * 1024

const parse = (text: string): Entries | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== "object" || value === null || !("entries" in value) || !Object.hasOwn(value, "entries")) {
      return undefined
    }
    const entries: unknown = value.entries
    if (typeof entries !== "object" || entries === null || Array.isArray(entries)) return undefined
    // `JSON.parse` makes `"__proto__"` an own property, and `Object.entries` lists own properties only.
    const out: Entries = new Map()
    for (const [key, entry] of Object.entries(entries)) {
      if (typeof entry !== "string") return undefined
      out.set(key, entry)
    }
    return out
  } catch {
    return undefined
  }
}

/** `Object.fromEntries` defines own properties, so a `__proto__` key is written like any other. */
const serialize = (entries: Entries): string => JSON.stringify({ version: 1, entries: Object.fromEntries(entries) })

/** @internal */
export interface SecureFile {
  readonly store: KeyValueStore.KeyValueStore
  readonly file: string
  readonly directory: string
  readonly describe: string
}

const uid = process.getuid?.()

/** Why a credential file or directory with this `stat` may not be used: open to others, or someone else's. */
const problemOf = (path: string, kind: "file" | "directory", stat: { readonly mode: number; readonly uid: number }) => {
  if ((stat.mode & 0o077) !== 0) {
    const want = kind === "file" ? "600" : "700"
    return `The credential ${kind} ${path} is readable or writable by other users (mode ${
      (stat.mode & 0o777).toString(8)
    }); refusing to use it. Run \`chmod ${want} ${path}\``
  }
  if (uid !== undefined && stat.uid !== uid) {
    return `The credential ${kind} ${path} belongs to another user (uid ${stat.uid}, not ${uid}); refusing to use it. ` +
      `Run \`chown ${uid} ${path}\` if it is yours, or remove it`
  }
  return undefined
}

/**
 * Checks that `path` exists with no group/other permission bits and is ours; fails naming the fix.
 */
const checkMode = async (path: string, kind: "file" | "directory"): Promise<string | undefined> =>
  problemOf(path, kind, await Fs.stat(path))

/** Reads at most `limit + 1` bytes: `undefined` past `limit`, so a huge file is refused without reading it whole. */
const readBounded = async (handle: Fs.FileHandle, limit: number): Promise<string | undefined> => {
  const chunks: Array<Buffer> = []
  let length = 0
  while (length <= limit) {
    const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, limit + 1 - length))
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, length)
    if (bytesRead === 0) break
    chunks.push(chunk.subarray(0, bytesRead))
    length += bytesRead
  }
  return length > limit ? undefined : Buffer.concat(chunks, length).toString("utf8")
}

/** @internal */
export const make = (options: Options = {}): Effect.Effect<SecureFile, CredentialStoreError> =>
  Effect.gen(function*() {
    const directory = Path.resolve(options.directory ?? defaultDirectory())
    const file = Path.join(directory, options.fileName ?? "credentials.json")
    const lockPath = `${file}.lock`
    const maxBytes = options.maxBytes ?? maxFileBytes
    const name = describe(file)
    const lockOptions: LockFile.LockFileOptions = {
      staleAfter: Duration.decode(options.lockStaleAfter ?? Duration.seconds(10)),
      timeout: Duration.decode(options.lockTimeout ?? Duration.seconds(15)),
      poll: Duration.millis(1)
    }

    const io = <A>(method: string, f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (error) =>
          failure(method, name, `${method} failed: ${error instanceof Error ? error.message : String(error)}`, {
            reason: reasonOf(error),
            path: file
          })
      })

    const refuse = (method: string, problem: string) =>
      Effect.fail(
        failure(method, name, problem, {
          reason: "PermissionDenied",
          path: file,
          hint: "Fix the permissions as shown, then try again."
        })
      )

    // The directory is created 0700 (mkdir applies the mode at creation) and checked every time.
    const prepare = Effect.tryPromise({
      try: async () => {
        await Fs.mkdir(directory, { recursive: true, mode: 0o700 })
        return checkMode(directory, "directory")
      },
      catch: (error) =>
        new CredentialStoreError({
          store: name,
          detail: `Cannot create the credential directory ${directory}: ${error instanceof Error ? error.message : String(error)}`
        })
    })
    const problem = yield* prepare
    if (problem !== undefined) {
      return yield* Effect.fail(
        new CredentialStoreError({ store: name, detail: problem, hint: "Fix the permissions as shown, then try again." })
      )
    }

    type ReadResult =
      | { readonly problem: string }
      | { readonly tooLarge: true }
      | { readonly text: string | undefined }

    /** Reads the whole file (atomic renames make every read see a complete version). */
    const read = (method: string): Effect.Effect<Entries, PlatformError.PlatformError> =>
      Effect.flatMap(
        io(method, async (): Promise<ReadResult> => {
          const dirProblem = await checkMode(directory, "directory")
          if (dirProblem !== undefined) return { problem: dirProblem }
          let handle: Fs.FileHandle
          try {
            handle = await Fs.open(file, "r")
          } catch (error) {
            if (code(error) === "ENOENT") return { text: undefined }
            throw error
          }
          try {
            const stat = await handle.stat()
            const problem = problemOf(file, "file", stat)
            if (problem !== undefined) return { problem }
            const text = stat.size > maxBytes ? undefined : await readBounded(handle, maxBytes)
            return text === undefined ? { tooLarge: true } : { text }
          } finally {
            await handle.close()
          }
        }),
        (result): Effect.Effect<Entries, PlatformError.PlatformError> => {
          if ("problem" in result) return refuse(method, result.problem)
          if ("tooLarge" in result) {
            return Effect.fail(
              failure(method, name, `The credential file ${file} is larger than ${maxBytes} bytes; refusing to read it`, {
                reason: "InvalidData",
                path: file,
                hint: `Move it aside or delete it (\`rm ${file}\`), then log in again.`
              })
            )
          }
          if (result.text === undefined) return Effect.succeed(new Map())
          const entries = parse(result.text)
          return entries === undefined
            ? Effect.fail(
              failure(method, name, `The credential file ${file} is not valid JSON`, {
                reason: "InvalidData",
                path: file,
                hint: `Move it aside or delete it (\`rm ${file}\`), then log in again.`
              })
            )
            : Effect.succeed(entries)
        }
      )

    /**
     * Writes a new version: temp file (0600, `wx`) + fsync + rename + fsync of the directory. A
     * write that fails (a full disk) removes its temp file.
     */
    const write = (method: string, entries: Entries) => io(method, () => writeFileAtomic(file, serialize(entries)))

    /** Read-modify-write under the exclusive lock, so concurrent writers never lose each other's keys. */
    const update = <A>(
      method: string,
      f: (entries: Entries) => readonly [A, Entries | undefined]
    ): Effect.Effect<A, PlatformError.PlatformError> =>
      LockFile.withLock(
        lockPath,
        lockOptions,
        Effect.flatMap(read(method), (entries) => {
          const [result, next] = f(entries)
          return next === undefined ? Effect.succeed(result) : Effect.as(write(method, next), result)
        })
      ).pipe(
        Effect.catchTags({
          LockTimeout: (error) =>
            Effect.fail(failure(method, name, error.message, {
              reason: "TimedOut",
              path: error.path,
              hint: "Another process holds the credential file lock; if none is running, delete the lock file."
            })),
          LockIOError: (error) => Effect.fail(failure(method, name, error.message, { path: error.path }))
        })
      )

    const store = KeyValueStore.makeStringOnly({
      get: (key) => Effect.map(read("get"), (entries) => Option.fromNullable(entries.get(key))),
      set: (key, value) =>
        update("set", (entries) => {
          entries.set(key, value)
          return [undefined, entries] as const
        }),
      remove: (key) =>
        update("remove", (entries) => [undefined, entries.delete(key) ? entries : undefined] as const),
      clear: update("clear", () => [undefined, new Map()] as const),
      size: Effect.map(read("size"), (entries) => entries.size),
      has: (key) => Effect.map(read("has"), (entries) => entries.has(key))
    })
    return { store, file, directory, describe: name }
  })
