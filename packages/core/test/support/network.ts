/**
 * A corporate network on 127.0.0.1 for tests: a test certificate authority made with `openssl`,
 * a TLS front that serves any local HTTP server (the Anaplan emulator, oidc-provider) over HTTPS
 * with a certificate from it, and a real forward proxy (Debian's `tinyproxy`), optionally asking
 * for Basic credentials, whose log shows what went through it. Everything stops with the scope.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tls from "node:tls"
import * as Programs from "./programs.js"
import { freePort } from "../../../redis/test/support/redisServer.js"

export const openssl = Programs.find("openssl", "openssl")
export const tinyproxy = Programs.find("tinyproxy", "tinyproxy")

const tempDir = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )

export interface Authority {
  /** The CA certificate (PEM) and its file. */
  readonly caPem: string
  readonly caFile: string
  /** The CA's common name, as a certificate error should name it. */
  readonly name: string
  /** A server key and certificate issued by the CA. */
  readonly serverKey: string
  readonly serverCert: string
}

/**
 * A certificate authority named `name` and one server certificate from it for `names` (default
 * `localhost` and `127.0.0.1`): openssl, P-256 keys, in a temp dir.
 */
export const authority = (
  name: string,
  names: ReadonlyArray<string> = ["DNS:localhost", "IP:127.0.0.1"]
): Effect.Effect<Authority, never, Scope.Scope> =>
  Effect.gen(function*() {
    Programs.ensure(openssl)
    const dir = yield* tempDir("effect-auth-ca-")
    const file = (base: string) => Path.join(dir, base)
    const run = (...args: ReadonlyArray<string>) => execFileSync(openssl.path!, args, { cwd: dir, stdio: "pipe" })
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", `/CN=${name}`,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    Fs.writeFileSync(file("ext.cnf"), `subjectAltName=${names.join(",")}\nextendedKeyUsage=serverAuth\n`)
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
      "-days", "2", "-extfile", "ext.cnf")
    return {
      caPem: Fs.readFileSync(file("ca.pem"), "utf8"),
      caFile: file("ca.pem"),
      name,
      serverKey: Fs.readFileSync(file("server.key"), "utf8"),
      serverCert: Fs.readFileSync(file("server.pem"), "utf8")
    }
  })

/**
 * Serves the HTTP server at `127.0.0.1:port` over HTTPS with `authority`'s server certificate:
 * TLS ends here and the bytes go on unchanged. Returns the `https://127.0.0.1:PORT` origin.
 */
export const tlsFront = (port: number, authority: Authority): Effect.Effect<string, never, Scope.Scope> =>
  Effect.gen(function*() {
    const sockets = new Set<Net.Socket>()
    const server = Tls.createServer({ key: authority.serverKey, cert: authority.serverCert }, (client) => {
      const upstream = Net.connect(port, "127.0.0.1")
      sockets.add(client).add(upstream)
      const close = () => {
        client.destroy()
        upstream.destroy()
      }
      client.on("error", close).on("close", close)
      upstream.on("error", close).on("close", close)
      client.pipe(upstream).pipe(client)
    })
    // Failed handshakes (a client that does not trust us) are the tests' business, not errors here.
    server.on("tlsClientError", () => {})
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
      () =>
        Effect.async<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    const address = server.address() as Net.AddressInfo
    return `https://127.0.0.1:${address.port}`
  })

export interface Proxy {
  /** `http://127.0.0.1:PORT`, without credentials. */
  readonly url: string
  readonly port: number
  /** The proxy URL with the credentials it asks for (the plain URL when it asks for none). */
  readonly urlWithCredentials: string
  /** tinyproxy's log so far. */
  readonly log: () => string
  /** The requests it forwarded or tunnelled, from its log: `GET http://...`, `CONNECT 127.0.0.1:443`. */
  readonly requests: () => ReadonlyArray<string>
}

/** A tinyproxy on 127.0.0.1 with a free port; with `credentials`, it answers 407 to requests without them. */
export const proxy = (
  credentials?: { readonly user: string; readonly password: string }
): Effect.Effect<Proxy, never, Scope.Scope> =>
  Effect.gen(function*() {
    Programs.ensure(tinyproxy)
    const dir = yield* tempDir("effect-auth-proxy-")
    const port = yield* freePort
    const logFile = Path.join(dir, "tinyproxy.log")
    let stderr = ""
    Fs.writeFileSync(
      Path.join(dir, "tinyproxy.conf"),
      [
        `Port ${port}`,
        "Listen 127.0.0.1",
        "Timeout 30",
        `LogFile "${logFile}"`,
        "LogLevel Connect",
        "MaxClients 50",
        ...(credentials === undefined ? [] : [`BasicAuth ${credentials.user} ${credentials.password}`]),
        ""
      ].join("\n")
    )
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(tinyproxy.path!, ["-d", "-c", Path.join(dir, "tinyproxy.conf")], { stdio: ["ignore", "ignore", "pipe"] })
      ).pipe(Effect.tap((child) => Effect.sync(() => child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))))),
      (child) =>
        Effect.async<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
          child.once("exit", () => resume(Effect.void))
          child.kill("SIGKILL")
        })
    )
    // Ready when it accepts connections.
    const deadline = Date.now() + 10_000
    while (true) {
      const open = yield* Effect.promise(() =>
        new Promise<boolean>((resolve) => {
          const socket = Net.connect(port, "127.0.0.1")
          socket.once("connect", () => resolve(true)).once("error", () => resolve(false))
          socket.once("close", () => socket.destroy())
          socket.once("connect", () => socket.end())
        })
      )
      if (open) break
      if (child.exitCode !== null || Date.now() > deadline) {
        return yield* Effect.die(new Error(`tinyproxy did not start on port ${port}: ${stderr.trim()}`))
      }
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
    }
    const url = `http://127.0.0.1:${port}`
    const log = () => (Fs.existsSync(logFile) ? Fs.readFileSync(logFile, "utf8") : "")
    return {
      url,
      port,
      urlWithCredentials: credentials === undefined
        ? url
        : `http://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}`,
      log,
      requests: () =>
        log().split("\n").flatMap((line) => {
          const match = /Request \(file descriptor \d+\): (\S+ \S+)/.exec(line)
          return match ? [match[1]] : []
        })
    }
  })
