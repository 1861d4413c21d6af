import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as FC from "effect/FastCheck"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Schema from "effect/Schema"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import * as AuthResponse from "../src/AuthResponse.js"

/** A loopback server whose answer to each request is chosen by `handler`. */
const server = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<string>((resume) => {
      const s = createServer(handler)
      s.listen(0, "127.0.0.1", () => resume(Effect.succeed(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)))
      cleanup.push(s)
    }),
    () =>
      Effect.sync(() => {
        for (const s of cleanup.splice(0)) {
          s.closeAllConnections()
          s.close()
        }
      })
  )
const cleanup: Array<ReturnType<typeof createServer>> = []

const Body = Schema.Struct({ tokenInfo: Schema.Struct({ tokenValue: Schema.String, expiresAt: Schema.Number }) })
const context = { site: "demo", operation: "Anaplan login" }

const fetchJson = (url: string) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* AuthResponse.execute(client, HttpClientRequest.get(url), context)
    return yield* AuthResponse.json(response, Body, context)
  })

describe("AuthResponse", () => {
  it("parses Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-11-22T10:00:00Z")
    assert.strictEqual(AuthResponse.retryAfterMillis("120", now), 120_000)
    assert.strictEqual(AuthResponse.retryAfterMillis("Sun, 22 Nov 2026 10:00:30 GMT", now), 30_000)
    assert.strictEqual(AuthResponse.retryAfterMillis("Sun, 22 Nov 2026 09:00:00 GMT", now), 0)
    assert.isUndefined(AuthResponse.retryAfterMillis("soon", now))
    assert.isUndefined(AuthResponse.retryAfterMillis(undefined, now))
  })

  it.scoped("decodes a well-formed answer", () =>
    Effect.gen(function*() {
      const url = yield* server((_req, res) => {
        res.writeHead(201, { "content-type": "application/json" })
        res.end(JSON.stringify({ tokenInfo: { tokenValue: "v", expiresAt: 1 } }))
      })
      const body = yield* fetchJson(url)
      assert.strictEqual(body.tokenInfo.expiresAt, 1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("names the wrong field without echoing its value", () =>
    Effect.gen(function*() {
      const url = yield* server((_req, res) => {
        res.writeHead(201, { "content-type": "application/json" })
        res.end(JSON.stringify({ tokenInfo: { tokenValue: "s3cr3t-value", expiresAt: "s3cr3t-expiry" } }))
      })
      const error = yield* Effect.flip(fetchJson(url))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.include(error.message, "tokenInfo.expiresAt")
      assert.include(error.message, "[demo] Anaplan login")
      assert.notInclude(error.message, "s3cr3t")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("reports an HTML page, an empty body and truncated JSON as MalformedResponse", () =>
    Effect.gen(function*() {
      const bodies = [
        ["text/html", "<html><body>Maintenance</body></html>"],
        ["application/json", ""],
        ["application/json", "{\"tokenInfo\": {\"tokenVa"]
      ]
      let i = 0
      const url = yield* server((_req, res) => {
        const [type, body] = bodies[i++]
        res.writeHead(200, { "content-type": type })
        res.end(body)
      })
      const messages: Array<string> = []
      for (let n = 0; n < bodies.length; n++) {
        const error = yield* Effect.flip(fetchJson(url))
        assert.strictEqual(error._tag, "MalformedResponse")
        messages.push(error.message)
      }
      assert.include(messages[0], "text/html")
      assert.include(messages[1], "empty body")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a 204 has no body to read: an empty text, and no failure logged by a reader fiber (fetch client, as the CLI uses)", () =>
    Effect.gen(function*() {
      const url = yield* server((_req, res) => {
        res.writeHead(204)
        res.end()
      })
      const logged: Array<string> = []
      const logger = Logger.make(({ message }) => void logged.push(String(message)))
      const text = yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const response = yield* AuthResponse.execute(client, HttpClientRequest.post(url), context)
        return yield* AuthResponse.text(response, context)
      }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)), Logger.withMinimumLogLevel(LogLevel.Debug))
      yield* Effect.sleep("50 millis")
      assert.strictEqual(text, "")
      assert.deepStrictEqual(logged.filter((line) => line.includes("unhandled")), [])
    }).pipe(Effect.provide(FetchHttpClient.layer)))

  it.scoped("bounds the body it reads", () =>
    Effect.gen(function*() {
      const url = yield* server((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        // no content-length: chunked, so the bound must hold while streaming
        for (let i = 0; i < 64; i++) res.write("x".repeat(1024))
        res.end()
      })
      const client = yield* HttpClient.HttpClient
      const response = yield* AuthResponse.execute(client, HttpClientRequest.get(url), context)
      const error = yield* Effect.flip(AuthResponse.text(response, { ...context, maxBytes: 16 * 1024 }))
      assert.strictEqual(error._tag, "MalformedResponse")
      assert.include(error.message, "16384 bytes")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("maps statuses: 429/5xx transient with Retry-After, 401/403 rejected, others malformed", () =>
    Effect.gen(function*() {
      const statuses = [429, 503, 401, 403, 404]
      let i = 0
      const url = yield* server((_req, res) => {
        res.writeHead(statuses[i++], { "retry-after": "7" })
        res.end()
      })
      const client = yield* HttpClient.HttpClient
      const tags: Array<string> = []
      for (let n = 0; n < statuses.length; n++) {
        const response = yield* AuthResponse.execute(client, HttpClientRequest.get(url), context)
        const error = yield* Effect.flip(AuthResponse.statusError(response, context))
        tags.push(error._tag)
        if (error._tag === "AuthServiceUnavailable") assert.strictEqual(error.retryAfterMillis, 7000)
      }
      assert.deepStrictEqual(tags, [
        "AuthServiceUnavailable",
        "AuthServiceUnavailable",
        "InvalidCredentials",
        "InvalidCredentials",
        "MalformedResponse"
      ])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("maps a refused connection to AuthServiceUnavailable naming the host", () =>
    Effect.gen(function*() {
      const url = yield* server(() => {})
      yield* Effect.sync(() => {
        for (const s of cleanup.splice(0)) s.close()
      })
      const error = yield* Effect.flip(fetchJson(url))
      assert.strictEqual(error._tag, "AuthServiceUnavailable")
      assert.include(error.message, "cannot reach 127.0.0.1")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.live("times out a server that never answers", () =>
    Effect.gen(function*() {
      const url = yield* server(() => {})
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(
        AuthResponse.execute(client, HttpClientRequest.get(url), { ...context, timeout: "200 millis" })
      )
      assert.strictEqual(error._tag, "AuthServiceUnavailable")
      assert.include(error.message, "no answer")
    }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)))

  it.effect.prop(
    "any body, any status: a decoded value or a MalformedResponse, never a defect, never an echo",
    [
      FC.oneof(
        FC.string(),
        FC.json(),
        FC.record({ tokenInfo: FC.record({ tokenValue: FC.anything(), expiresAt: FC.anything() }) }).map((v) =>
          JSON.stringify(v)
        )
      ),
      FC.constantFrom("application/json", "text/html", "")
    ],
    ([body, type]) =>
      Effect.gen(function*() {
        const request = HttpClientRequest.post("http://127.0.0.1/token/authenticate")
        const response = HttpClientResponse.fromWeb(
          request,
          new Response(body, { status: 201, headers: type === "" ? {} : { "content-type": type } })
        )
        const exit = yield* Effect.exit(AuthResponse.json(response, Body, context))
        if (Exit.isFailure(exit)) {
          assert.isTrue(exit.cause._tag === "Fail", "failures are typed, never defects")
          if (exit.cause._tag === "Fail") {
            assert.strictEqual(exit.cause.error._tag, "MalformedResponse")
            if (body.length > 12) assert.notInclude(exit.cause.error.message, body)
          }
        }
      }),
    { fastCheck: { numRuns: 300 } }
  )
})
