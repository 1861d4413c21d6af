/**
 * Runs a fixture inside its own D-Bus session with a real, unlocked gnome-keyring (Secret
 * Service), in a throw-away HOME so the user's keyring is never touched.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Processes from "./processes.js"
import * as Programs from "./programs.js"

export const programs = [
  Programs.find("dbus-run-session", "dbus"),
  Programs.find("gnome-keyring-daemon", "gnome-keyring")
] as const

const home = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-keyring-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/**
 * `dbus-run-session -- sh -c 'echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets; exec node ...'`
 * (a non-empty password: with an empty one gnome-keyring creates no login collection).
 */
export const runInSession = (
  script: string,
  args: ReadonlyArray<string>,
  timeoutMillis: number,
  env: Record<string, string | undefined> = {}
): Effect.Effect<Processes.Finished, never, Scope.Scope> =>
  Effect.gen(function*() {
    Programs.ensure(...programs)
    const dir = yield* home
    return yield* Processes.run(script, args, timeoutMillis, {
      env: {
        HOME: dir,
        XDG_DATA_HOME: Path.join(dir, "data"),
        XDG_RUNTIME_DIR: undefined,
        DBUS_SESSION_BUS_ADDRESS: undefined,
        ...env
      },
      command: [
        programs[0].path!,
        "--",
        "sh",
        "-c",
        "echo -n effect-auth-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec \"$@\"",
        "sh"
      ]
    })
  })

/** A unix socket that accepts D-Bus connections and never answers: a hung keyring. `connections` counts them. */
export const silentBus = Effect.acquireRelease(
  Effect.async<{
    readonly path: string
    readonly server: Net.Server
    readonly dir: string
    readonly connections: () => number
  }>((resume) => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-bus-"))
    const path = Path.join(dir, "bus")
    const sockets: Array<Net.Socket> = []
    const server = Net.createServer((socket) => {
      sockets.push(socket)
      socket.on("error", () => {})
    })
    server.on("close", () => sockets.forEach((s) => s.destroy()))
    server.listen(path, () => resume(Effect.succeed({ path, server, dir, connections: () => sockets.length })))
  }),
  ({ dir, server }) =>
    Effect.sync(() => {
      server.close()
      server.emit("close")
      Fs.rmSync(dir, { recursive: true, force: true })
    })
)
