/**
 * A raw `node:http` OAuth 2 token endpoint (`POST /token`) and API (`GET /api`) on 127.0.0.1 whose
 * next answers are scripted faults: statuses, hangs, delays, resets mid-body, truncated or foreign
 * bodies, endless bodies. Unscripted token requests get a good answer with access token `at-<n>`.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export type Fault =
  | { readonly _tag: "Token"; readonly expiresIn?: number | undefined; readonly extra?: Record<string, unknown> }
  | { readonly _tag: "Status"; readonly status: number; readonly headers?: Record<string, string> }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Delay"; readonly millis: number }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "Body"; readonly status?: number; readonly contentType?: string; readonly body: string }
  | { readonly _tag: "Endless"; readonly declareLength?: number | undefined }

export interface FaultServer {
  readonly url: string
  readonly tokenEndpoint: string
  readonly apiUrl: string
  /** Faults for the next token requests, in order. */
  readonly script: (...faults: ReadonlyArray<Fault>) => void
  /** The answer once the script is used up; default a good token. */
  setDefault(fault: Fault): void
  /** Token requests received (faults included). */
  readonly tokenRequests: () => number
  /** Authorization headers the API received, in order. */
  readonly apiSeen: Array<string | undefined>
  /** The API refuses these access tokens with 401, however fresh they look. */
  readonly apiRejects: Set<string>
  /** Bytes written by endless bodies before the client hung up. */
  readonly endlessBytes: () => number
  /** Whether the last endless body stopped: the client hung up (or the 64 MiB cap was reached). */
  readonly endlessStopped: () => boolean
}

export const faultServer: Effect.Effect<FaultServer, never, Scope.Scope> = Effect.acquireRelease(
  Effect.async<{ server: ReturnType<typeof createServer>; running: FaultServer }>((resume) => {
    const queue: Array<Fault> = []
    let fallback: Fault = { _tag: "Token" }
    let issued = 0
    let received = 0
    let endless = 0
    let endlessStopped = false
    const apiSeen: Array<string | undefined> = []
    const apiRejects = new Set<string>()

    const good = (res: ServerResponse, fault: Extract<Fault, { _tag: "Token" }>) => {
      issued += 1
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" })
      res.end(JSON.stringify({
        access_token: `at-${issued}`,
        token_type: "Bearer",
        ...(fault.expiresIn === undefined ? { expires_in: 3600 } : { expires_in: fault.expiresIn }),
        ...fault.extra
      }))
    }

    const answer = (req: IncomingMessage, res: ServerResponse, fault: Fault): void => {
      switch (fault._tag) {
        case "Token":
          return good(res, fault)
        case "Status":
          res.writeHead(fault.status, { "content-type": "application/json", ...fault.headers })
          return void res.end(JSON.stringify({ error: "server_error" }))
        case "Hang":
          return
        case "Delay":
          return void setTimeout(() => good(res, { _tag: "Token" }), fault.millis)
        case "Reset":
          res.writeHead(200, { "content-type": "application/json", "content-length": "400" })
          res.write("{\"access_token\":\"at-reset\",\"token_type\":\"Bearer\",\"exp")
          return void setTimeout(() => req.socket.destroy(), 20)
        case "Body":
          res.writeHead(fault.status ?? 200, { "content-type": fault.contentType ?? "application/json" })
          return void res.end(fault.body)
        case "Endless": {
          res.writeHead(200, {
            "content-type": "application/json",
            ...(fault.declareLength === undefined ? {} : { "content-length": String(fault.declareLength) })
          })
          const chunk = Buffer.alloc(64 * 1024, 0x20)
          res.write("{\"access_token\":\"")
          const pump = () => {
            while (!res.destroyed && endless < 64 * 1024 * 1024) {
              endless += chunk.length
              if (!res.write(chunk)) return void res.once("drain", pump)
            }
            endlessStopped = true
          }
          res.on("close", () => (endlessStopped = true))
          return pump()
        }
      }
    }

    const server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname
      req.resume()
      req.on("end", () => {
        if (path === "/token") {
          received += 1
          return answer(req, res, queue.shift() ?? fallback)
        }
        if (path === "/api") {
          const authorization = req.headers["authorization"]
          apiSeen.push(authorization)
          const token = authorization?.replace(/^Bearer /, "")
          const ok = token !== undefined && /^at-\d+$/.test(token) && !apiRejects.has(token)
          res.writeHead(ok ? 200 : 401, { "content-type": "application/json" })
          return void res.end(JSON.stringify(ok ? { ok: true } : { error: "invalid_token" }))
        }
        res.writeHead(404)
        res.end()
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      resume(Effect.succeed({
        server,
        running: {
          url,
          tokenEndpoint: `${url}/token`,
          apiUrl: `${url}/api`,
          script: (...faults) => void queue.push(...faults),
          setDefault: (fault) => void (fallback = fault),
          tokenRequests: () => received,
          apiSeen,
          apiRejects,
          endlessBytes: () => endless,
          endlessStopped: () => endlessStopped
        }
      }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
      server.closeAllConnections()
    })
).pipe(Effect.map(({ running }) => running))

/** Waits (in real time, whatever the clock) until `condition` holds; fails the test after 5 s. */
export const eventually = (condition: () => boolean, what: string): Effect.Effect<void> =>
  Effect.promise(async () => {
    const deadline = Date.now() + 5_000
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })

/** Lets real I/O happen for `millis` (a pause in real time, not on the test clock). */
export const realPause = (millis: number): Effect.Effect<void> =>
  Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))
