/**
 * A D-Bus session bus and an unlocked gnome-keyring on it, started by the test and shared by the
 * test process and the binaries it runs (`DBUS_SESSION_BUS_ADDRESS`), in a throw-away directory
 * so the user's keyring is never touched. The keyring can be paused (SIGSTOP) to play a hung one.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

/** The programs' paths; a missing one fails the test, naming the Debian package to install. */
const find = (name: string, debianPackage: string): { readonly path: string | undefined; readonly missing: string } => {
  let path: string | undefined
  try {
    path = execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined
  } catch {
    path = undefined
  }
  return { path, missing: `${name} is not installed: install the Debian package ${debianPackage}` }
}

const programs = [
  find("dbus-daemon", "dbus"),
  find("dbus-send", "dbus"),
  find("gnome-keyring-daemon", "gnome-keyring")
] as const

export interface KeyringSession {
  /** `DBUS_SESSION_BUS_ADDRESS` of the session. */
  readonly address: string
  /** Stops (`true`) or resumes (`false`) the keyring daemon: a keyring that never answers. */
  readonly pause: (paused: boolean) => Effect.Effect<void>
}

const started = (child: ChildProcess): Effect.Effect<ChildProcess, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.succeed(child), (c) =>
    Effect.sync(() => {
      if (c.pid !== undefined) {
        try {
          process.kill(c.pid, "SIGCONT")
        } catch {
          // gone already
        }
      }
      c.kill("SIGKILL")
    }))

const firstLine = (child: ChildProcess): Effect.Effect<string> =>
  Effect.async<string>((resume) => {
    let out = ""
    child.stdout!.setEncoding("utf8")
    child.stdout!.on("data", (chunk: string) => {
      out += chunk
      const newline = out.indexOf("\n")
      if (newline >= 0) resume(Effect.succeed(out.slice(0, newline).trim()))
    })
    child.on("exit", (code) => resume(Effect.die(new Error(`dbus-daemon exited (${code})`))))
  })

const secretsOwned = (env: NodeJS.ProcessEnv): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    execFile(
      programs[1].path ?? "dbus-send",
      [
        "--session",
        "--print-reply",
        "--dest=org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus.NameHasOwner",
        "string:org.freedesktop.secrets"
      ],
      { env, encoding: "utf8" },
      (error, stdout) => resume(Effect.succeed(error === null && stdout.includes("boolean true")))
    )
  })

/** Starts the bus and the keyring; both are killed when the scope closes. */
export const make: Effect.Effect<KeyringSession, never, Scope.Scope> = Effect.gen(function*() {
  const missing = programs.filter((p) => p.path === undefined)
  if (missing.length > 0) return yield* Effect.dieMessage(missing.map((p) => p.missing).join("; "))
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-keyring-session-"))),
    (d) => Effect.sync(() => Fs.rmSync(d, { recursive: true, force: true }))
  )
  const daemon = yield* started(spawn(
    programs[0].path!,
    ["--session", "--nofork", "--nopidfile", `--address=unix:path=${Path.join(dir, "bus")}`, "--print-address=1"],
    { stdio: ["ignore", "pipe", "ignore"] }
  ))
  const address = yield* firstLine(daemon)
  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_DATA_HOME: Path.join(dir, "data"),
    XDG_RUNTIME_DIR: dir,
    DBUS_SESSION_BUS_ADDRESS: address
  }
  const keyring = yield* started(spawn(
    programs[2].path!,
    ["--foreground", "--unlock", "--components=secrets"],
    { stdio: ["pipe", "ignore", "ignore"], env }
  ))
  // a non-empty password: with an empty one gnome-keyring creates no login collection
  keyring.stdin!.end("effect-auth-test")
  for (let i = 0; i < 200 && !(yield* secretsOwned(env)); i++) yield* Effect.sleep("50 millis")
  if (!(yield* secretsOwned(env))) return yield* Effect.dieMessage("gnome-keyring did not start on the test bus")
  return {
    address,
    pause: (paused) => Effect.sync(() => void process.kill(keyring.pid!, paused ? "SIGSTOP" : "SIGCONT"))
  }
})

/**
 * A unix socket that accepts D-Bus connections and never answers: a hung bus. `connections`
 * counts the connections it accepted.
 */
export const countingBus: Effect.Effect<
  { readonly address: string; readonly connections: () => number },
  never,
  Scope.Scope
> = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-silent-bus-"))),
    (d) => Effect.sync(() => Fs.rmSync(d, { recursive: true, force: true }))
  )
  const path = Path.join(dir, "bus")
  const sockets = new Set<Net.Socket>()
  let accepted = 0
  yield* Effect.acquireRelease(
    Effect.async<Net.Server>((resume) => {
      const server = Net.createServer((socket) => {
        accepted++
        sockets.add(socket)
        socket.on("error", () => {})
        socket.on("close", () => sockets.delete(socket))
      })
      server.listen(path, () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.sync(() => {
        for (const socket of sockets) socket.destroy()
        server.close()
      })
  )
  return { address: `unix:path=${path}`, connections: () => accepted }
})

/** {@link countingBus}'s address. */
export const silentBus: Effect.Effect<string, never, Scope.Scope> = Effect.map(countingBus, (bus) => bus.address)
