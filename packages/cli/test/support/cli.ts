/**
 * Runs the `effect-auth` binary as a real process: bundled once with esbuild (as it ships), in a
 * temporary HOME with its own config and state directories, with a clean environment.
 */
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { execFile, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Bundle from "../../scripts/bundle.mjs"

const here = Path.dirname(fileURLToPath(import.meta.url))
const packageDir = Path.join(here, "..", "..")

let bundled: Promise<string> | undefined

/** Bundles the binary as it ships (`scripts/bundle.mjs`) into `build/effect-auth/` once per test process: its `bin.cjs`. */
export const bundle: Effect.Effect<string> = Effect.promise(() => {
  // Below package.json's directory, so that `--version` finds the package version.
  bundled ??= Bundle.bundle(Path.join(packageDir, "build", "effect-auth"))
  return bundled
})

export interface Home {
  readonly dir: string
  readonly config: string
  readonly state: string
  /** The environment every run gets: nothing of the test runner's EFFECT_AUTH_* or HOME. */
  readonly env: Record<string, string>
}

/** A temporary HOME with XDG dirs, removed with the scope. */
export const home: Effect.Effect<Home, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-cli-"))
    const config = Path.join(dir, "config", "effect-auth", "config.toml")
    const state = Path.join(dir, "state")
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir,
      XDG_CONFIG_HOME: Path.join(dir, "config"),
      XDG_STATE_HOME: state,
      XDG_CACHE_HOME: Path.join(dir, "cache"),
      LANG: "C.UTF-8",
      // No D-Bus session: a site with storage "auto" must not reach the desktop's keyring.
      DBUS_SESSION_BUS_ADDRESS: "disabled:"
    }
    return { dir, config, state, env }
  }),
  ({ dir }) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

/**
 * Runs the binary to completion (asynchronously: the emulator serving it lives in this process).
 * stdin is empty and nothing is a terminal.
 */
export const run = (
  args: ReadonlyArray<string>,
  options: { readonly env: Record<string, string>; readonly cwd?: string; readonly timeoutMillis?: number }
): Effect.Effect<Finished> =>
  Effect.flatMap(bundle, (bin) =>
    Effect.async<Finished>((resume) => {
      const started = Date.now()
      const child = spawn(process.execPath, [bin, ...args], {
        env: options.env,
        cwd: options.cwd ?? options.env.HOME,
        stdio: ["ignore", "pipe", "pipe"],
        // A session of its own: no controlling terminal (/dev/tty), as under CI or cron, even when
        // the tests run in one.
        detached: true
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
      const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMillis ?? 20_000)
      child.on("close", (code, signal) => {
        clearTimeout(timer)
        resume(Effect.succeed({ code, signal, stdout, stderr, millis: Date.now() - started }))
      })
      return Effect.sync(() => child.kill("SIGKILL"))
    }))

/** A config whose default site `emu` is the emulator at `url`, the demo user, with `storage`. */
export const emulatorSite = (url: string, storage: string, extra = ""): string =>
  `default_site = "emu"

[sites.emu]
provider = "anaplan"
email = "${AnaplanAuthServer.demoUser.email}"
auth_url = "${url}"
api_url = "${url}"
storage = "${storage}"
${extra}`

/** Writes the config file of `home`. */
export const writeConfig = (h: Home, text: string): void => {
  Fs.mkdirSync(Path.dirname(h.config), { recursive: true })
  Fs.writeFileSync(h.config, text)
}

// ---------------------------------------------------------------------------------------------
// tmux: a real pseudo-terminal
// ---------------------------------------------------------------------------------------------

const hasTmux = (() => {
  try {
    execFileSync("sh", ["-c", "command -v tmux"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

/**
 * Whether the terminal tests run: when tmux is installed, and always under `CI=true` (where a
 * missing tmux fails them). Locally without tmux they are skipped, saying what to install.
 */
export const runTerminalTests = (() => {
  if (hasTmux || process.env.CI === "true") return true
  // eslint-disable-next-line no-console
  console.warn("tmux is not installed: skipping the terminal tests (install the Debian package tmux: apt-get install tmux)")
  return false
})()

const tmux = (args: ReadonlyArray<string>): Effect.Effect<string> =>
  Effect.async<string>((resume) => {
    execFile("tmux", args, { encoding: "utf8" }, (error, stdout, stderr) =>
      resume(error === null ? Effect.succeed(stdout) : Effect.die(new Error(`tmux ${args[0]}: ${stderr || error.message}`))))
  })

/** `word` quoted for sh. */
export const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`

export interface Terminal {
  /** Types `keys` (literally) and optionally Enter. */
  readonly type: (keys: string, options?: { readonly enter?: boolean }) => Effect.Effect<void>
  /** Presses a key by its tmux name (`Tab`, `Enter`, `C-u`). */
  readonly press: (key: string) => Effect.Effect<void>
  /** The visible screen and scrollback. */
  readonly screen: Effect.Effect<string>
  /** The screen with its ANSI styles (colors, bold) kept. */
  readonly styledScreen: Effect.Effect<string>
  /** Waits until the screen matches `pattern` (within `timeoutMillis`), returning the screen. */
  readonly waitFor: (pattern: RegExp, timeoutMillis?: number) => Effect.Effect<string>
  /** The exit code, once the command has finished (it writes it to a file). */
  readonly exitCode: (timeoutMillis?: number) => Effect.Effect<number>
}

/**
 * Runs `program` (a shell command line) in a detached tmux session (a real pty, `width` columns,
 * default 160), closed with the scope. The exit code is written to a file so that the pane's
 * text stays the program's own output.
 */
export const session = (
  program: string,
  options: { readonly env: Record<string, string>; readonly width?: number }
): Effect.Effect<Terminal, never, Scope.Scope> =>
  Effect.gen(function*() {
    const session = `effect-auth-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
    const codeFile = Path.join(options.env.HOME, `.exit-${session}`)
    const env = Object.entries(options.env).map(([key, value]) => `${key}=${quote(value)}`).join(" ")
    const command = `cd ${quote(options.env.HOME)} && env -i ${env} TERM=xterm-256color ${program}; echo $? > ${
      quote(codeFile)
    }; sleep 600`
    yield* Effect.acquireRelease(
      tmux(["new-session", "-d", "-s", session, "-x", String(options.width ?? 160), "-y", "40", "sh", "-c", command]),
      () => Effect.orElse(tmux(["kill-session", "-t", session]), () => Effect.void)
    )
    const screen = tmux(["capture-pane", "-p", "-J", "-S", "-200", "-t", session])
    const poll = <A>(check: Effect.Effect<A | undefined>, what: string, timeoutMillis: number): Effect.Effect<A> =>
      Effect.gen(function*() {
        const deadline = Date.now() + timeoutMillis
        while (Date.now() < deadline) {
          const found = yield* check
          if (found !== undefined) return found
          yield* Effect.sleep("100 millis")
        }
        const last = yield* screen
        return yield* Effect.die(new Error(`timed out waiting for ${what}; the terminal shows:\n${last}`))
      })
    return {
      type: (keys, typeOptions) =>
        Effect.asVoid(tmux(["send-keys", "-t", session, "-l", keys]).pipe(
          Effect.zipRight(typeOptions?.enter === true ? tmux(["send-keys", "-t", session, "Enter"]) : Effect.void)
        )),
      press: (key) => Effect.asVoid(tmux(["send-keys", "-t", session, key])),
      screen,
      styledScreen: tmux(["capture-pane", "-p", "-e", "-S", "-200", "-t", session]),
      waitFor: (pattern, timeoutMillis = 15_000) =>
        poll(Effect.map(screen, (text) => pattern.test(text) ? text : undefined), String(pattern), timeoutMillis),
      exitCode: (timeoutMillis = 15_000) =>
        poll(
          Effect.sync(() => Fs.existsSync(codeFile) ? Number(Fs.readFileSync(codeFile, "utf8").trim()) : undefined),
          "the command to exit",
          timeoutMillis
        )
    } satisfies Terminal
  })

/** Runs the binary with `args` in a tmux session (see {@link session}). */
export const terminal = (
  args: ReadonlyArray<string>,
  options: { readonly env: Record<string, string>; readonly width?: number }
): Effect.Effect<Terminal, never, Scope.Scope> =>
  Effect.flatMap(bundle, (bin) =>
    session(`${quote(process.execPath)} ${quote(bin)} ${args.map(quote).join(" ")}`, options))

/**
 * A directory holding an `effect-auth` command (the bundled binary), to put first on PATH: what
 * the completion scripts call.
 */
export const binDir = (h: Home): Effect.Effect<string> =>
  Effect.map(bundle, (bin) => {
    const dir = Path.join(h.dir, "bin")
    Fs.mkdirSync(dir, { recursive: true })
    const wrapper = Path.join(dir, "effect-auth")
    Fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(bin)} "$@"\n`, { mode: 0o755 })
    return dir
  })

/** Runs `file` with `args` to completion (a shell running a script), with `env`. */
export const runProgram = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly env: Record<string, string> }
): Effect.Effect<Finished> =>
  Effect.async<Finished>((resume) => {
    const started = Date.now()
    execFile(file, args, { env: options.env, cwd: options.env.HOME, encoding: "utf8", timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resume(Effect.succeed({ code, signal: null, stdout, stderr, millis: Date.now() - started }))
    })
  })
