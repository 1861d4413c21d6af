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
import * as LockFile from "./lockFile.js"

/** @internal */
export interface Options {
  readonly directory?: string | undefined
  readonly fileName?: string | undefined
  readonly lockTimeout?: Duration.DurationInput | undefined
  readonly lockStaleAfter?: Duration.DurationInput | undefined
}

/** @internal */
export const defaultDirectory = (env: NodeJS.ProcessEnv = process.env): string => Paths.stateDirectory(env)

/** @internal */
export const describe = (file: string): string => {
  const home = Os.homedir()
  return `file ${file.startsWith(home + Path.sep) ? "~" + file.slice(home.length) : file}`
}

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

interface Contents {
  readonly version: 1
  readonly entries: Record<string, string>
}

const parse = (text: string): Contents | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== "object" || value === null || !("entries" in value)) return undefined
    const entries = value.entries
    if (typeof entries !== "object" || entries === null || Array.isArray(entries)) return undefined
    const out: Record<string, string> = {}
    for (const [key, entry] of Object.entries(entries)) {
      if (typeof entry !== "string") return undefined
      out[key] = entry
    }
    return { version: 1, entries: out }
  } catch {
    return undefined
  }
}

/** @internal */
export interface SecureFile {
  readonly store: KeyValueStore.KeyValueStore
  readonly file: string
  readonly directory: string
  readonly describe: string
}

/**
 * Checks that `path` exists with no group/other permission bits; fails naming the fix.
 */
const checkMode = async (path: string, kind: "file" | "directory"): Promise<string | undefined> => {
  const stat = await Fs.stat(path)
  if ((stat.mode & 0o077) !== 0) {
    const want = kind === "file" ? "600" : "700"
    return `The credential ${kind} ${path} is readable or writable by other users (mode ${
      (stat.mode & 0o777).toString(8)
    }); refusing to use it. Run \`chmod ${want} ${path}\``
  }
  if (stat.uid !== process.getuid?.() && process.getuid !== undefined) {
    return `The credential ${kind} ${path} belongs to another user (uid ${stat.uid}); refusing to use it`
  }
  return undefined
}

/** @internal */
export const make = (options: Options = {}): Effect.Effect<SecureFile, CredentialStoreError> =>
  Effect.gen(function*() {
    const directory = Path.resolve(options.directory ?? defaultDirectory())
    const file = Path.join(directory, options.fileName ?? "credentials.json")
    const lockPath = `${file}.lock`
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

    /** Reads the whole file (atomic renames make every read see a complete version). */
    const read = (method: string): Effect.Effect<Contents, PlatformError.PlatformError> =>
      Effect.flatMap(
        io(method, async () => {
          const dirProblem = await checkMode(directory, "directory")
          if (dirProblem !== undefined) return { problem: dirProblem } as const
          let handle: Fs.FileHandle
          try {
            handle = await Fs.open(file, "r")
          } catch (error) {
            if (code(error) === "ENOENT") return { text: undefined } as const
            throw error
          }
          try {
            const stat = await handle.stat()
            if ((stat.mode & 0o077) !== 0) {
              return {
                problem: `The credential file ${file} is readable or writable by other users (mode ${
                  (stat.mode & 0o777).toString(8)
                }); refusing to use it. Run \`chmod 600 ${file}\``
              } as const
            }
            return { text: await handle.readFile("utf8") } as const
          } finally {
            await handle.close()
          }
        }),
        (result): Effect.Effect<Contents, PlatformError.PlatformError> => {
          if ("problem" in result && result.problem !== undefined) return refuse(method, result.problem)
          if (result.text === undefined) return Effect.succeed({ version: 1, entries: {} })
          const contents = parse(result.text)
          return contents === undefined
            ? Effect.fail(
              failure(method, name, `The credential file ${file} is not valid JSON`, {
                reason: "InvalidData",
                path: file,
                hint: `Move it aside or delete it (\`rm ${file}\`), then log in again.`
              })
            )
            : Effect.succeed(contents)
        }
      )

    /** Writes a new version: temp file (0600, `wx`) + fsync + rename + fsync of the directory. */
    const write = (method: string, contents: Contents) =>
      io(method, async () => {
        const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
        const handle = await Fs.open(temp, "wx", 0o600)
        try {
          await handle.writeFile(JSON.stringify(contents))
          await handle.sync()
        } finally {
          await handle.close()
        }
        try {
          await Fs.rename(temp, file)
        } catch (error) {
          await Fs.rm(temp, { force: true })
          throw error
        }
        const dir = await Fs.open(directory, "r")
        try {
          await dir.sync()
        } finally {
          await dir.close()
        }
      })

    /** Read-modify-write under the exclusive lock, so concurrent writers never lose each other's keys. */
    const update = <A>(
      method: string,
      f: (entries: Record<string, string>) => readonly [A, Record<string, string> | undefined]
    ): Effect.Effect<A, PlatformError.PlatformError> =>
      LockFile.withLock(
        lockPath,
        lockOptions,
        Effect.flatMap(read(method), (contents) => {
          const [result, next] = f({ ...contents.entries })
          return next === undefined
            ? Effect.succeed(result)
            : Effect.as(write(method, { version: 1, entries: next }), result)
        })
      ).pipe(
        Effect.catchIf(
          (error): error is LockFile.LockTimeout | LockFile.LockIOError =>
            error instanceof LockFile.LockTimeout || error instanceof LockFile.LockIOError,
          (error) =>
            Effect.fail(
              error instanceof LockFile.LockTimeout
                ? failure(method, name, `Timed out waiting for the lock ${error.path} (${error.holder})`, {
                  reason: "TimedOut",
                  path: error.path,
                  hint: "Another process holds the credential file lock; if none is running, delete the lock file."
                })
                : failure(method, name, `Cannot take the lock ${error.path}: ${String(error.cause)}`, {
                  path: error.path
                })
            )
        )
      )

    const store = KeyValueStore.makeStringOnly({
      get: (key) => Effect.map(read("get"), (contents) => Option.fromNullable(contents.entries[key])),
      set: (key, value) =>
        update("set", (entries) => {
          entries[key] = value
          return [undefined, entries] as const
        }),
      remove: (key) =>
        update("remove", (entries) => {
          if (!(key in entries)) return [undefined, undefined] as const
          delete entries[key]
          return [undefined, entries] as const
        }),
      clear: update("clear", () => [undefined, {}] as const),
      size: Effect.map(read("size"), (contents) => Object.keys(contents.entries).length),
      has: (key) => Effect.map(read("has"), (contents) => key in contents.entries)
    })
    return { store, file, directory, describe: name }
  })
