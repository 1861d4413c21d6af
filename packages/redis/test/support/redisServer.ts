/**
 * A real `redis-server` on 127.0.0.1 with a free port, no persistence, stopped with the scope.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import * as Net from "node:net"
import * as Programs from "../../../core/test/support/programs.js"

export const program = Programs.find("redis-server", "redis-server")

export interface Running {
  readonly url: string
  readonly port: number
  /** Runs one command through a fresh connection (RESP inline), returning the raw reply. */
  readonly command: (...args: ReadonlyArray<string>) => Effect.Effect<string>
}

export class RedisServer extends Context.Tag("test/RedisServer")<RedisServer, Running>() {}

export const freePort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const encode = (args: ReadonlyArray<string>) =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`

const send = (port: number, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = Net.connect(port, "127.0.0.1")
    let data = ""
    socket.setTimeout(2_000, () => socket.destroy(new Error("redis did not answer")))
    socket.on("connect", () => socket.write(encode(args)))
    socket.on("data", (chunk) => {
      data += chunk.toString()
      if (data.endsWith("\r\n")) {
        socket.end()
        resolve(data)
      }
    })
    socket.on("error", reject)
  })

export const start: Effect.Effect<Running, never, import("effect/Scope").Scope> = Effect.gen(function*() {
  Programs.ensure(program)
  const port = yield* freePort
  const child = yield* Effect.acquireRelease(
    Effect.sync(() =>
      spawn(program.path!, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: ["ignore", "pipe", "pipe"]
      })
    ),
    (child) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once("exit", () => resolve())
          child.kill("SIGKILL")
        })
      )
  )
  // Ready when it answers PING.
  const deadline = Date.now() + 10_000
  while (true) {
    const pong = yield* Effect.promise(() => send(port, ["PING"]).catch(() => ""))
    if (pong.startsWith("+PONG")) break
    if (child.exitCode !== null || Date.now() > deadline) {
      return yield* Effect.die(new Error(`redis-server did not start on port ${port}`))
    }
    yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    command: (...args: ReadonlyArray<string>) => Effect.promise(() => send(port, args))
  }
})

export const layer: Layer.Layer<RedisServer> = Layer.scoped(RedisServer, start)
