/**
 * A throw-away `redis-server` on 127.0.0.1 (free port, no persistence), killed with the scope.
 * Under `CI=true` a missing `redis-server` fails the tests; locally they are skipped with a message.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { execFileSync, spawn } from "node:child_process"
import * as Net from "node:net"

const find = (): string | undefined => {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim() || undefined
  } catch {
    return undefined
  }
}

export const path = find()

/** Whether to run the Redis tests: always under CI (a missing program then fails), else only when installed. */
export const shouldRun = (() => {
  if (path !== undefined || process.env.CI === "true") return true
  console.warn("examples/serverless: skipping the Redis test, redis-server is missing (apt-get install redis-server)")
  return false
})()

const freePort = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const ping = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.setTimeout(1_000, () => socket.destroy())
    socket.on("connect", () => socket.write("PING\r\n"))
    socket.on("data", (data) => {
      socket.end()
      resume(Effect.succeed(data.toString().startsWith("+PONG")))
    })
    socket.on("error", () => resume(Effect.succeed(false)))
    socket.on("close", () => resume(Effect.succeed(false)))
  })

/** Starts the server; its `redis://` URL. */
export const start: Effect.Effect<string, never, Scope.Scope> = Effect.gen(function*() {
  if (path === undefined) {
    return yield* Effect.dieMessage("redis-server is not installed: install the Debian package redis-server")
  }
  const port = yield* freePort
  yield* Effect.acquireRelease(
    Effect.sync(() =>
      spawn(path, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" })
    ),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGKILL")
      })
  )
  for (let attempt = 0; attempt < 250; attempt++) {
    if (yield* ping(port)) return `redis://127.0.0.1:${port}`
    yield* Effect.sleep("20 millis")
  }
  return yield* Effect.dieMessage(`redis-server did not answer on port ${port} within 5 seconds`)
})
