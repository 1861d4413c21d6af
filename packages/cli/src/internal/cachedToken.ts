/**
 * The cache hit of `effect-auth token`, without loading Effect: when the stored token is
 * comfortably fresh, read it from the secure file or the system keyring and print it. This is what
 * a script calls before every request, so it must start about as fast as Node itself.
 *
 * It only ever answers when the answer is certain, and it never interprets the configuration
 * itself: the full command, after it has loaded, validated and resolved the configuration and
 * printed a token, records where that token lives (`remember`), together with the identity of the
 * configuration file (device, inode, size, modification and change times) and of this program
 * (its `package.json`).
 * The cache hit follows that record only while both are unchanged, so a config with an unknown key
 * or a wrong type, a new site, or an upgrade goes to the full command, which reports what it
 * reports. Anything else it does not fully understand (a `.env` file, an `EFFECT_AUTH_*` variable
 * that could change the site, `--json`, a file with loose permissions, a token within the refresh
 * margin, a keyring that does not answer at once, any parse error) also returns `undefined`, and
 * the full command runs, with its refresh, locking and error messages.
 *
 * @internal
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, type Stats } from "node:fs"
import { dirname, join, resolve } from "node:path"
import * as Paths from "@effect-auth/core/Paths"
import type { Globals } from "./globalsType.js"
import { nearest } from "./packageManifest.js"
import type * as SecretService from "./secretService.js"

/**
 * Variables read only at login time: they cannot change which token `token` prints.
 */
const loginOnly = new Set([
  "EFFECT_AUTH_CONFIG",
  "EFFECT_AUTH_SITE",
  "EFFECT_AUTH_PASSWORD",
  "EFFECT_AUTH_PASSWORD_FILE",
  "EFFECT_AUTH_PRIVATE_KEY_PASSPHRASE",
  "EFFECT_AUTH_CLIENT_SECRET",
  "EFFECT_AUTH_REFRESH_TOKEN"
])

/**
 * The refresh policy of the CLI's commands (`tokenPolicy.ts` builds its `RefreshPolicy` from
 * these numbers): a stored token is renewed when less than the smaller of `margin` and
 * `marginRatio` of its lifetime, plus the smaller of `expirySkew` and `skewRatio` of it, is left.
 *
 * @internal
 */
export const commandPolicy = {
  marginMillis: 5 * 60_000,
  marginRatio: 0.2,
  expirySkewMillis: 10_000,
  skewRatio: 1
} as const

/** How long the cache hit waits for the keyring before leaving the answer to the full command. */
const keyringTimeoutMillis = 250

/** The record's file, in the default state directory. */
const recordFile = (env: NodeJS.ProcessEnv) => join(Paths.stateDirectory(env), "token-cache.json")

type Table = Record<string, unknown>

const isTable = (value: unknown): value is Table =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const text = (value: unknown): string | undefined => typeof value === "string" && value !== "" ? value : undefined

/** `Sites.configPath` with `--config` first, as the full command reads it. */
const configPath = (globals: Globals, env: NodeJS.ProcessEnv): string =>
  globals.config !== undefined ? resolve(globals.config) : Paths.configFile(env)

const private0600 = (stat: Stats) =>
  (stat.mode & 0o077) === 0 && (typeof process.getuid !== "function" || stat.uid === process.getuid())

/** The identity of a file: any write, replacement or `touch` changes it (`undefined`: no such file). */
const identityOf = (file: string): string | undefined => {
  try {
    const s = statSync(file, { bigint: true, throwIfNoEntry: false })
    return s === undefined ? undefined : `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`
  } catch {
    return undefined
  }
}

const identity = (file: string): string => {
  const found = identityOf(file)
  if (found === undefined) throw new Error(`${file} is missing`)
  return found
}

/**
 * This program: the identity of the package's `package.json`, the nearest above this module (in
 * the bundle and in the source alike), which an install or upgrade rewrites, so that a new version
 * answers nothing from an old version's record.
 */
const program = (): string => nearest(identityOf, 5) ?? "unknown"

/** The record's entry for one command line: which config file, and which site it selects (or the default). */
const entryKey = (globals: Globals, env: NodeJS.ProcessEnv, site: string | undefined = globals.at ?? env.EFFECT_AUTH_SITE): string =>
  `${configPath(globals, env)}\n${site ?? ""}`

/**
 * Where the full command found the token, as {@link remember} records it. For storage `auto`, the
 * decision `auto` keeps beside the file (`storage.json`) says which, read anew every time: the
 * file, or the keyring with the file behind it (the freshest entry of the two).
 */
export type Location =
  | { readonly storage: "file"; readonly key: string; readonly file: string }
  | { readonly storage: "keyring"; readonly key: string; readonly service: string }
  | { readonly storage: "auto"; readonly key: string; readonly file: string; readonly service: string }

interface Entry {
  readonly config: string
  readonly program: string
  readonly location: Location
}

/** Whether the environment leaves the answer to the config file alone (no variable, no `.env`). */
const plainEnvironment = (env: NodeJS.ProcessEnv): boolean => {
  for (const name of Object.keys(env)) {
    if (name.startsWith("EFFECT_AUTH_") && !loginOnly.has(name)) return false
  }
  return !existsSync(".env")
}

const readRecord = (env: NodeJS.ProcessEnv): Table => {
  const file = recordFile(env)
  if (!private0600(statSync(file))) return {}
  const record: unknown = JSON.parse(readFileSync(file, "utf8"))
  return isTable(record) && record.version === 1 && isTable(record.entries) ? record.entries : {}
}

const asLocation = (value: unknown): Location | undefined => {
  if (!isTable(value)) return undefined
  const key = text(value.key)
  if (key === undefined) return undefined
  if (value.storage === "file" && text(value.file) !== undefined) return { storage: "file", key, file: String(value.file) }
  if (value.storage === "keyring" && text(value.service) !== undefined) {
    return { storage: "keyring", key, service: String(value.service) }
  }
  if (value.storage === "auto" && text(value.file) !== undefined && text(value.service) !== undefined) {
    return { storage: "auto", key, file: String(value.file), service: String(value.service) }
  }
  return undefined
}

/**
 * Records, after the full command printed a token of `site`, where it lives, for the cache hit of
 * the same command line (and of `--at site`, which selects the same). Only when the environment
 * left the answer to the config file alone; best effort (a failure only means the next call takes
 * the full path too).
 *
 * @internal
 */
export const remember = (
  globals: Globals,
  site: string,
  location: Location,
  env: NodeJS.ProcessEnv = process.env
): void => {
  try {
    if (!plainEnvironment(env)) return
    const file = recordFile(env)
    let entries: Table = {}
    try {
      entries = readRecord(env)
    } catch {
      // none yet, or unreadable: start afresh
    }
    const entry: Entry = { config: identity(configPath(globals, env)), program: program(), location }
    const keys = new Set([entryKey(globals, env), entryKey(globals, env, site)])
    // a handful of entries (config files x sites) at most: keep the latest 16
    const kept = Object.entries(entries).filter(([key]) => !keys.has(key)).slice(-14)
    const contents = JSON.stringify({
      version: 1,
      entries: Object.fromEntries([...kept, ...[...keys].map((key) => [key, entry] as const)])
    })
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    const temporary = `${file}.${process.pid}.tmp`
    writeFileSync(temporary, contents, { mode: 0o600 })
    renameSync(temporary, file)
  } catch {
    // best effort
  }
}

/**
 * Where the token lives when the record still holds for this command line, else `undefined`.
 *
 * @internal
 */
export const locate = (globals: Globals, env: NodeJS.ProcessEnv = process.env): Location | undefined => {
  try {
    if (globals.json || !plainEnvironment(env)) return undefined
    const entry = readRecord(env)[entryKey(globals, env)]
    if (!isTable(entry) || entry.config !== identity(configPath(globals, env)) || entry.program !== program()) {
      return undefined
    }
    return asLocation(entry.location)
  } catch {
    return undefined
  }
}

/** The stored entry's access token when it is printable and fresh under {@link commandPolicy}. */
const freshValue = (entry: unknown, now: number): string | undefined => {
  if (typeof entry !== "string") return undefined
  const token: unknown = JSON.parse(entry)
  if (!isTable(token)) return undefined
  const value = text(token.accessToken)
  if (value === undefined || /\s/.test(value) || typeof token.tokenType !== "string") return undefined
  if (token.expiresAt === null) return value
  const expires = typeof token.expiresAt === "string" ? Date.parse(token.expiresAt) : Number.NaN
  const issued = typeof token.issuedAt === "string" ? Date.parse(token.issuedAt) : Number.NaN
  const lifetime = Math.max(0, expires - issued)
  if (!Number.isFinite(lifetime)) return undefined
  const due = Math.min(commandPolicy.marginMillis, lifetime * commandPolicy.marginRatio) +
    Math.min(commandPolicy.expirySkewMillis, lifetime * commandPolicy.skewRatio)
  // a second more than the full command's own rule, so that both print the same token
  return expires - now > due + 1_000 ? value : undefined
}

/** The secure file's entry for `key`: `null` when it has none, `undefined` when unsure (loose permissions, too large). */
const fileEntry = (file: string, key: string): unknown => {
  let stat: Stats
  try {
    stat = statSync(file)
  } catch (error) {
    return isTable(error) && error.code === "ENOENT" ? null : undefined
  }
  // past the file store's read bound (8 MiB) the slow path reports it
  if (!private0600(statSync(dirname(file))) || !private0600(stat) || stat.size > 8 * 1024 * 1024) {
    return undefined
  }
  // The secure file's layout: `{ "version": 1, "entries": { <key>: <encoded Token> } }`.
  const contents: unknown = JSON.parse(readFileSync(file, "utf8"))
  if (!isTable(contents) || contents.version !== 1 || !isTable(contents.entries)) return undefined
  return Object.hasOwn(contents.entries, key) ? contents.entries[key] : null
}

const fromFile = (location: { readonly file: string; readonly key: string }, now: number): string | undefined =>
  freshValue(fileEntry(location.file, location.key), now)

/**
 * What `auto` decided for the service (`storage.json` beside the file, as core's
 * `storageDecision.ts` writes it), or `undefined` when the full command would decide again.
 */
const decisionOf = (location: Location & { readonly storage: "auto" }): "file" | "keyring" | undefined => {
  const record: unknown = JSON.parse(readFileSync(join(dirname(location.file), "storage.json"), "utf8"))
  if (!isTable(record) || record.version !== 1 || !isTable(record.services)) return undefined
  const entry = Object.hasOwn(record.services, location.service) ? record.services[location.service] : undefined
  if (!isTable(entry) || typeof entry.decidedAt !== "string" || !Number.isFinite(Date.parse(entry.decidedAt))) return undefined
  if (entry.reason !== undefined && typeof entry.reason !== "string") return undefined
  if (entry.timedOut !== undefined && typeof entry.timedOut !== "boolean") return undefined
  return entry.storage === "file" || entry.storage === "keyring" ? entry.storage : undefined
}

/** An encoded token's issue and expiry times (expiry `Infinity` without one), `undefined` when unreadable. */
const timesOf = (entry: unknown): readonly [number, number] | undefined => {
  if (typeof entry !== "string") return undefined
  const token: unknown = JSON.parse(entry)
  if (!isTable(token) || typeof token.issuedAt !== "string") return undefined
  const issued = Date.parse(token.issuedAt)
  const expires = token.expiresAt === null ? Infinity : typeof token.expiresAt === "string" ? Date.parse(token.expiresAt) : Number.NaN
  return Number.isNaN(issued) || Number.isNaN(expires) ? undefined : [issued, expires]
}

/** The entry `auto` loads when the keyring and the file both hold one: the later `issuedAt`, then the later expiry. */
const freshestEntry = (inKeyring: string, inFile: unknown): unknown => {
  if (inFile === null) return inKeyring
  const [k, f] = [timesOf(inKeyring), timesOf(inFile)]
  if (k === undefined || f === undefined) return undefined
  return f[0] > k[0] || (f[0] === k[0] && f[1] > k[1]) ? inFile : inKeyring
}

/**
 * The stored access token when it can be printed with certainty, else `undefined`: the secure
 * file's answer, synchronously (the keyring's is {@link cachedAnswer}'s).
 *
 * @internal
 */
export const cachedToken = (
  globals: Globals,
  env: NodeJS.ProcessEnv = process.env,
  now: number = Date.now()
): string | undefined => {
  try {
    const location = locate(globals, env)
    if (location?.storage === "auto") return decisionOf(location) === "file" ? fromFile(location, now) : undefined
    return location?.storage === "file" ? fromFile(location, now) : undefined
  } catch {
    return undefined
  }
}

/**
 * {@link cachedToken}, and for a site whose tokens are in the system keyring (the Secret Service
 * on Linux) the keyring's answer, read without `@napi-rs/keyring` and bounded by a short timeout.
 *
 * @internal
 */
export const cachedAnswer = async (
  globals: Globals,
  env: NodeJS.ProcessEnv = process.env,
  now: number = Date.now()
): Promise<string | undefined> => {
  try {
    const location = locate(globals, env)
    if (location === undefined) return undefined
    if (location.storage === "file") return fromFile(location, now)
    if (location.storage === "auto") {
      const decision = decisionOf(location)
      if (decision !== "keyring") return decision === "file" ? fromFile(location, now) : undefined
    }
    if (process.platform !== "linux") return undefined
    // loaded (with `node:net`) only now: the secure file's hit and `--version` need neither
    const secretService: typeof SecretService = await import("./secretService.js")
    const entry = await secretService.read(
      { service: location.service, account: location.key },
      { address: env.DBUS_SESSION_BUS_ADDRESS, timeoutMillis: keyringTimeoutMillis }
    )
    if (location.storage === "keyring") return freshValue(entry, now)
    // `auto` reads the file behind the keyring too; a missing keyring entry looks like a failure: unsure
    return entry === undefined ? undefined : freshValue(freshestEntry(entry, fileEntry(location.file, location.key)), now)
  } catch {
    return undefined
  }
}
