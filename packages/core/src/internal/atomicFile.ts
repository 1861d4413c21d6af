/**
 * Atomic file writes, for the sites file and the secure file store: a temporary file in the same
 * directory (created `wx`, 0600), written, synced, renamed over the target, then the directory
 * synced. A failed write leaves neither a partial target nor the temporary file.
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"

/** @internal */
export interface Options {
  /** Write through a symbolic link instead of replacing it (dotfile managers link config files). */
  readonly followSymlink?: boolean | undefined
  /** Create missing parent directories (0700). */
  readonly createDirectory?: boolean | undefined
  /** Keep an existing file's mode; a new file is 0600 either way. */
  readonly keepMode?: boolean | undefined
}

const isMissing = (error: unknown) =>
  typeof error === "object" && error !== null && "code" in error && error.code === "ENOENT"

const targetOf = async (path: string, follow: boolean): Promise<string> => {
  if (!follow) return path
  try {
    return await Fs.realpath(path)
  } catch (error) {
    if (isMissing(error)) return path
    throw error
  }
}

const modeOf = async (path: string, keep: boolean): Promise<number> => {
  if (!keep) return 0o600
  try {
    return (await Fs.stat(path)).mode & 0o7777
  } catch (error) {
    if (isMissing(error)) return 0o600
    throw error
  }
}

const syncDirectory = async (directory: string): Promise<void> => {
  try {
    const handle = await Fs.open(directory, "r")
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // Not every platform can fsync a directory; the rename is atomic all the same.
  }
}

/**
 * Replaces `path` with `text` atomically.
 *
 * @internal
 */
export const writeFileAtomic = async (path: string, text: string, options: Options = {}): Promise<void> => {
  const target = await targetOf(path, options.followSymlink === true)
  const directory = Path.dirname(target)
  if (options.createDirectory === true) await Fs.mkdir(directory, { recursive: true, mode: 0o700 })
  const mode = await modeOf(target, options.keepMode === true)
  const temporary = Path.join(
    directory,
    `.${Path.basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`
  )
  try {
    const handle = await Fs.open(temporary, "wx", 0o600)
    try {
      await handle.writeFile(text, "utf8")
      if (mode !== 0o600) await handle.chmod(mode)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await Fs.rename(temporary, target)
  } catch (error) {
    await Fs.rm(temporary, { force: true }).catch(() => undefined)
    throw error
  }
  await syncDirectory(directory)
}
