/**
 * The fast path's keyring read (`internal/secretService.ts`) against a real gnome-keyring on a
 * private D-Bus session: it returns exactly what `@napi-rs/keyring` (the stores' binding) wrote,
 * and it sends the handshake, `Hello`, `OpenSession` and `SearchItems` in one go, before any answer.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as SecretService from "../src/internal/secretService.js"
import * as KeyringSession from "./support/keyringSession.js"

/** Writes `secret` for `service`/`account` with `@napi-rs/keyring`, in a process on the session's bus. */
const napiWrite = (address: string, service: string, account: string, secret: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    // the entry on stdin: a 200 kB secret is more than one argument may hold
    const program = `const [service, account, secret] = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
new (require("@napi-rs/keyring").Entry)(service, account).setPassword(secret)`
    const child = execFile(process.execPath, ["-e", program], {
      env: { PATH: process.env.PATH, DBUS_SESSION_BUS_ADDRESS: address },
      cwd: fileURLToPath(new URL("..", import.meta.url))
    }, (error, _stdout, stderr) =>
      resume(error === null ? Effect.void : Effect.die(new Error(`@napi-rs/keyring setPassword failed: ${stderr}`))))
    child.stdin!.end(JSON.stringify([service, account, secret]))
  })

const options = (address: string) => ({ address, timeoutMillis: 5_000 })

/**
 * A bus proxy that holds the bus's answers back until the client has sent its `SearchItems`: a
 * client that waited for an answer before sending it would never get one.
 */
const holdingProxy = (busPath: string) =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-bus-proxy-"))),
      (d) => Effect.sync(() => Fs.rmSync(d, { recursive: true, force: true }))
    )
    const path = Path.join(dir, "bus")
    const sent: Array<string> = []
    const sockets = new Set<Net.Socket>()
    yield* Effect.acquireRelease(
      Effect.async<Net.Server>((resume) => {
        const server = Net.createServer((client) => {
          const upstream = Net.createConnection({ path: busPath })
          sockets.add(client).add(upstream)
          let fromClient = ""
          let held: Array<Buffer> | undefined = []
          client.on("data", (chunk: Buffer) => {
            fromClient += chunk.toString("latin1")
            upstream.write(chunk)
            if (held !== undefined && fromClient.includes("SearchItems")) {
              // everything the client sent before it saw a single byte of an answer
              sent.push(fromClient)
              for (const answer of held) client.write(answer)
              held = undefined
            }
          })
          upstream.on("data", (chunk: Buffer) => held !== undefined ? held.push(chunk) : client.write(chunk))
          client.on("close", () => upstream.destroy())
          upstream.on("close", () => client.destroy())
          client.on("error", () => {})
          upstream.on("error", () => {})
        })
        server.listen(path, () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.sync(() => {
          for (const socket of sockets) socket.destroy()
          server.close()
        })
    )
    return { address: `unix:path=${path}`, sent }
  })

describe("SecretService.read", () => {
  it.scopedLive("returns exactly what @napi-rs/keyring wrote (ASCII, UTF-8, 200 kB), undefined for a missing entry", () =>
    Effect.gen(function*() {
      const session = yield* KeyringSession.make
      const entries = [
        ["effect-auth", "anaplan:demo@example.com@http://127.0.0.1:8080", JSON.stringify({ accessToken: "abc.def", tokenType: "Bearer" })],
        ["effect-auth", "oauth2:zoë@exämple.org ✓", "sécrèt ✓ 🔑"],
        ["effect-auth-large", "big", "x".repeat(200_000)]
      ] as const
      for (const [service, account, secret] of entries) {
        yield* napiWrite(session.address, service, account, secret)
      }
      for (const [service, account, secret] of entries) {
        const read = yield* Effect.promise(() => SecretService.read({ service, account }, options(session.address)))
        assert.strictEqual(read, secret, `${service} ${account}`)
      }
      const missing = yield* Effect.promise(() =>
        SecretService.read({ service: "effect-auth", account: "nobody" }, options(session.address))
      )
      assert.isUndefined(missing)
    }), { timeout: 60_000 })

  it.scopedLive("sends the handshake, BEGIN, Hello, OpenSession and SearchItems before any answer", () =>
    Effect.gen(function*() {
      const session = yield* KeyringSession.make
      yield* napiWrite(session.address, "effect-auth", "pipelined", "the-token")
      const proxy = yield* holdingProxy(SecretService.socketPath(session.address)!)
      const read = yield* Effect.promise(() =>
        SecretService.read({ service: "effect-auth", account: "pipelined" }, options(proxy.address))
      )
      assert.strictEqual(read, "the-token")
      assert.strictEqual(proxy.sent.length, 1)
      const sent = proxy.sent[0]
      const order = ["AUTH EXTERNAL", "BEGIN\r\n", "Hello", "OpenSession", "SearchItems"].map((part) => sent.indexOf(part))
      assert.isTrue(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1])), `in order: ${order.join(", ")}`)
      assert.notInclude(sent, "GetSecret", "GetSecret waits for the search's answer")
    }), { timeout: 60_000 })
})
