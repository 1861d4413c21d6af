/**
 * The Acme provider against a real Acme stand-in on 127.0.0.1: registered in the CLI (real
 * processes: `sites add` knows its field, `login` trades the key, `whoami` asks `/me`), and used
 * from a program through `Sites.layer`, which reuses the CLI's login.
 */
import { assert, describe, it } from "@effect/vitest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Sites from "@effect-auth/core/Sites"
import * as TokenSource from "@effect-auth/core/TokenSource"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import { createRequire } from "node:module"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { provider } from "../src/AcmeProvider.js"

const root = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const apiKey = "acme-key-123"
/** tsx by path: the CLI runs in a temporary directory, outside the repository. */
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href

/** The Acme API: `POST /session` trades the key for a token, `GET /me` names its owner. */
const acme = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly sessions: () => number; readonly server: Http.Server }>((resume) => {
    let sessions = 0
    const tokens = new Set<string>()
    const server = Http.createServer((request, response) => {
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { "content-type": "application/json" })
        response.end(JSON.stringify(body))
      }
      if (request.method === "POST" && request.url === "/session") {
        if (request.headers["x-api-key"] !== apiKey) return send(401, { error: "bad key" })
        const token = `acme-session-${++sessions}`
        tokens.add(token)
        return send(200, { token, expires_in: 3600 })
      }
      if (request.method === "GET" && request.url === "/me") {
        const token = request.headers.authorization?.replace(/^Bearer /, "") ?? ""
        return tokens.has(token) ? send(200, { email: "wile@acme.example", name: "Wile E." }) : send(401, {})
      }
      send(404, {})
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        sessions: () => sessions,
        server
      })))
  }),
  ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
)

const home = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-acme-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** `examples/custom-provider/main.ts` as a real process. */
const cli = (dir: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.async<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resume) => {
    execFile(
      process.execPath,
      ["--conditions=source", "--import", tsx, Path.join(root, "examples/custom-provider/main.ts"), ...args],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, XDG_STATE_HOME: Path.join(dir, "state"), ...env },
        timeout: 120_000
      },
      (error, stdout, stderr) => resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }))
    )
  })

describe("a custom provider", () => {
  it.scopedLive("registered in the CLI: sites add, login and whoami; a program reuses the login", () =>
    Effect.gen(function*() {
      const server = yield* acme
      const dir = yield* home
      const config = Path.join(dir, "config.toml")
      const state = Path.join(dir, "state")

      const added = yield* cli(dir, [
        "sites", "add", "acme", "--provider", "acme", "--acme-url", server.url, "--storage", "file",
        "--state-dir", state, "--yes", "--config", config
      ])
      assert.strictEqual(added.code, 0, added.stderr)
      assert.include(Fs.readFileSync(config, "utf8"), `acme_url = "${server.url}"`)

      const login = yield* cli(dir, ["login", "--config", config], { EFFECT_AUTH_API_KEY: apiKey })
      assert.strictEqual(login.code, 0, login.stderr)
      assert.match(login.stdout, /^Logged in to acme as wile@acme\.example/)
      assert.strictEqual(server.sessions(), 1)

      const whoami = yield* cli(dir, ["whoami", "--config", config])
      assert.strictEqual(whoami.code, 0, whoami.stderr)
      assert.match(whoami.stdout, /^wile@acme\.example \(Wile E\.\) on acme/)
      assert.strictEqual(server.sessions(), 1, "whoami reused the stored session")

      const token = yield* TokenSource.get.pipe(
        Effect.provide(
          Sites.layer({ providers: [provider], config, env: { HOME: dir }, dotenv: false }).pipe(
            Layer.provide(NodeHttpClient.layerUndici)
          )
        )
      )
      assert.strictEqual(Redacted.value(token.accessToken), "acme-session-1")
      assert.strictEqual(server.sessions(), 1, "the program reused the CLI's login")
    }), { timeout: 300_000 })
})
