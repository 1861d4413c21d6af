/**
 * The cache hit of `effect-auth token`, without loading Effect: when the site keeps its tokens in
 * the secure file (`storage = "file"`) and the stored token is comfortably fresh, read it and
 * print it. This is what a script calls before every request, so it must start about as fast as
 * Node itself.
 *
 * It only ever answers when the answer is certain: anything it does not fully understand (a
 * `.env` file, an `EFFECT_AUTH_*` variable that could change the site, another storage, a file
 * with loose permissions, a token within the refresh margin, any parse error) returns
 * `undefined`, and the full command runs, with its refresh, locking and error messages.
 *
 * @internal
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Paths from "@effect-auth/core/Paths"
import { parse } from "smol-toml"
import type { Globals } from "./globalsType.js"

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
 * The largest refresh margin of the CLI's policy (`tokenPolicy.ts`: 5 minutes, less for a token
 * that lives under 25 minutes) plus its largest expiry skew (10 s): a token with more than this
 * left is served by the full command too, so both paths print the same token.
 */
const freshFor = 5 * 60_000 + 10_000

type Table = Record<string, unknown>

const isTable = (value: unknown): value is Table =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date)

const text = (value: unknown): string | undefined => typeof value === "string" && value !== "" ? value : undefined

/** `Sites.configPath` with `--config` first, as the full command reads it. */
const configPath = (globals: Globals, env: NodeJS.ProcessEnv): string =>
  globals.config !== undefined ? Path.resolve(globals.config) : Paths.configFile(env)

const private0600 = (stat: Fs.Stats) =>
  (stat.mode & 0o077) === 0 && (typeof process.getuid !== "function" || stat.uid === process.getuid())

/**
 * The stored access token when it can be printed with certainty, else `undefined`.
 *
 * @internal
 */
export const cachedToken = (
  globals: Globals,
  env: NodeJS.ProcessEnv = process.env,
  now: number = Date.now()
): string | undefined => {
  try {
    if (globals.json) return undefined
    for (const name of Object.keys(env)) {
      if (name.startsWith("EFFECT_AUTH_") && !loginOnly.has(name)) return undefined
    }
    if (Fs.existsSync(".env")) return undefined
    const file = configPath(globals, env)
    const document = parse(Fs.readFileSync(file, "utf8"))
    const sites = isTable(document.sites) ? document.sites : {}
    const names = Object.keys(sites)
    const name = globals.at ?? text(env.EFFECT_AUTH_SITE) ?? text(document.default_site) ??
      (names.length === 1 ? names[0] : undefined)
    if (name === undefined) return undefined
    const table = sites[name]
    if (!isTable(table)) return undefined
    const field = (key: string): unknown => key in table ? table[key] : document[key]
    const provider = text(field("provider")) ?? "anaplan"
    const method = text(field("method")) ?? (provider === "anaplan" ? "basic" : "oauth")
    if (text(field("storage")) !== "file" || method === "token") return undefined
    const email = text(field("email"))
    const key = provider === "anaplan" && method === "basic" && email !== undefined ? `${name}/${email}` : name
    const configured = text(field("state_dir"))
    const directory = configured === undefined
      ? Paths.stateDirectory(env)
      : Path.resolve(Path.dirname(file), configured.replace(/^~(?=$|\/)/, Paths.home(env)))
    const credentials = Path.join(directory, "credentials.json")
    if (!private0600(Fs.statSync(directory)) || !private0600(Fs.statSync(credentials))) return undefined
    // The secure file's layout: `{ "version": 1, "entries": { <key>: <encoded Token> } }`.
    const contents: unknown = JSON.parse(Fs.readFileSync(credentials, "utf8"))
    if (!isTable(contents) || contents.version !== 1 || !isTable(contents.entries)) return undefined
    const entry = contents.entries[key]
    if (typeof entry !== "string") return undefined
    const token: unknown = JSON.parse(entry)
    if (!isTable(token)) return undefined
    const value = text(token.accessToken)
    if (value === undefined || /\s/.test(value) || typeof token.tokenType !== "string") return undefined
    if (token.expiresAt !== null) {
      const expires = typeof token.expiresAt === "string" ? Date.parse(token.expiresAt) : Number.NaN
      if (!(expires - now > freshFor)) return undefined
    }
    return value
  } catch {
    return undefined
  }
}
