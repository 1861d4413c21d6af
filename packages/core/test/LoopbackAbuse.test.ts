/**
 * The loopback redirect server under abuse: while a login waits, junk arrives concurrently (no
 * state, a wrong state, other methods, a foreign `Host`, very long URLs, malformed queries, raw
 * garbage, connections that never finish). Each is turned away with a 4xx or dropped, and the real
 * redirect still completes the login with the right code.
 */
import * as Terminal from "@effect/platform/Terminal"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { request as httpRequest } from "node:http"
import { connect } from "node:net"
import * as LoginAgent from "../src/LoginAgent.js"

const terminal: Terminal.Terminal = {
  columns: Effect.succeed(80),
  rows: Effect.succeed(24),
  isTTY: Effect.succeed(true),
  readInput: Effect.dieMessage("not used"),
  readLine: Effect.dieMessage("not used"),
  display: () => Effect.dieMessage("the agent must not write to standard output")
}

/** Starts a loopback login whose state is `S`; returns the waiting fiber and the redirect URI. */
const startLoginWith = (redirect: LoginAgent.Redirect) => Effect.gen(function*() {
  const opened = yield* Deferred.make<string>()
  const agent = yield* LoginAgent.make({
    openBrowser: true,
    write: () => Effect.void,
    open: (url) => Deferred.succeed(opened, url)
  }).pipe(Effect.provideService(Terminal.Terminal, terminal))
  const fiber = yield* Effect.fork(agent.authorize({
    redirect,
    start: (redirectUri) =>
      Effect.succeed({
        url: new URL(`https://op.example/auth?redirect_uri=${encodeURIComponent(redirectUri)}&state=S`),
        state: "S"
      })
  }))
  const uri = new URL(new URL(yield* Deferred.await(opened)).searchParams.get("redirect_uri")!)
  return { fiber, uri }
})

const startLogin = startLoginWith(LoginAgent.loopback())

interface Answer {
  readonly status: number
  readonly body: string
}

/** One HTTP request with full control of method, path and headers (fetch forbids `Host`). */
const send = (
  uri: URL,
  options: { readonly method?: string; readonly path: string; readonly headers?: Record<string, string> }
): Effect.Effect<Answer> =>
  Effect.async<Answer>((resume) => {
    const req = httpRequest({
      host: uri.hostname,
      port: uri.port,
      method: options.method ?? "GET",
      path: options.path,
      headers: { connection: "close", ...options.headers }
    }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (body += chunk))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body })))
      res.on("error", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body })))
    })
    req.on("error", () => resume(Effect.succeed({ status: 0, body: "connection failed" })))
    req.end(options.method === "POST" ? "code=x&state=S" : undefined)
  })

/** Raw bytes on a socket; the status of whatever comes back (0 when the server just closes). */
const raw = (uri: URL, bytes: string): Effect.Effect<number> =>
  Effect.async<number>((resume) => {
    const socket = connect(Number(uri.port), uri.hostname, () => socket.end(bytes))
    let text = ""
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => (text += chunk))
    const done = () => resume(Effect.succeed(Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0)))
    socket.on("close", done)
    socket.on("error", () => {})
  })

/** A connection that sends half a request and then nothing: must not hold the login up. */
const stalled = (uri: URL) =>
  Effect.acquireRelease(
    Effect.async<ReturnType<typeof connect>>((resume) => {
      const socket = connect(Number(uri.port), uri.hostname, () => {
        socket.write(`GET ${uri.pathname}?code=slow&state=S HTTP/1.1\r\nHost: ${uri.host}\r\n`)
        resume(Effect.succeed(socket))
      })
      socket.on("error", () => {})
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )

const isRejected = (status: number) => status >= 400 && status < 500

describe("LoginAgent loopback server under abuse", () => {
  it.scoped("turns away 40 concurrent junk requests of every kind, then completes with the real code", () =>
    Effect.gen(function*() {
      const { fiber, uri } = yield* startLogin
      const path = uri.pathname
      yield* stalled(uri)
      const junk: ReadonlyArray<readonly [string, Effect.Effect<number>]> = [
        ["no state", Effect.map(send(uri, { path: `${path}?code=evil` }), (a) => a.status)],
        ["wrong state", Effect.map(send(uri, { path: `${path}?code=evil&state=T` }), (a) => a.status)],
        ["state prefix", Effect.map(send(uri, { path: `${path}?code=evil&state=SS` }), (a) => a.status)],
        ["empty state", Effect.map(send(uri, { path: `${path}?code=evil&state=` }), (a) => a.status)],
        ["other path", Effect.map(send(uri, { path: `/other?code=evil&state=S` }), (a) => a.status)],
        ["path prefix", Effect.map(send(uri, { path: `${path}/x?code=evil&state=S` }), (a) => a.status)],
        ["root", Effect.map(send(uri, { path: "/" }), (a) => a.status)],
        ["favicon", Effect.map(send(uri, { path: "/favicon.ico" }), (a) => a.status)],
        ...["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"].map((method) =>
          [method, Effect.map(send(uri, { method, path: `${path}?code=evil&state=S` }), (a) => a.status)] as const
        ),
        [
          "foreign Host",
          Effect.map(send(uri, { path: `${path}?code=evil&state=S`, headers: { host: "evil.example" } }), (a) => a.status)
        ],
        [
          "foreign Host with our port",
          Effect.map(
            send(uri, { path: `${path}?code=evil&state=S`, headers: { host: `evil.example:${uri.port}` } }),
            (a) => a.status
          )
        ],
        [
          "10 kB URL",
          Effect.map(send(uri, { path: `${path}?code=evil&pad=${"x".repeat(10_000)}` }), (a) => a.status)
        ],
        [
          "10 kB URL with a wrong state",
          Effect.map(send(uri, { path: `${path}?code=evil&state=${"T".repeat(10_000)}` }), (a) => a.status)
        ],
        ["20 kB URL", Effect.map(send(uri, { path: `${path}?code=${"x".repeat(20_000)}&state=S` }), (a) => a.status)],
        ["bad percent-encoding", Effect.map(send(uri, { path: `${path}?code=%zz&state=%E0%A4%A` }), (a) => a.status)],
        ["only separators", Effect.map(send(uri, { path: `${path}?&&==&=` }), (a) => a.status)],
        ["duplicate state, first wrong", Effect.map(send(uri, { path: `${path}?state=T&state=S&code=evil` }), (a) => a.status)],
        ["absolute-form URI", Effect.map(send(uri, { path: `http://evil.example${path}?code=evil` }), (a) => a.status)],
        ["garbage request line", raw(uri, "GARBAGE\r\n\r\n")],
        ["HTTP/0.9 style", raw(uri, `GET ${path}?code=evil&state=S\r\n\r\n`)],
        ["no Host at all (HTTP/1.0)", raw(uri, `GET ${path}?code=evil HTTP/1.0\r\n\r\n`)],
        ["header without colon", raw(uri, `GET ${path}?code=evil&state=S HTTP/1.1\r\nHost ${uri.host}\r\n\r\n`)],
        ["NUL in the path", raw(uri, `GET ${path}?code=e\u0000vil&state=S HTTP/1.1\r\nHost: ${uri.host}\r\n\r\n`)],
        ...Array.from({ length: 12 }, (_, i) =>
          [`burst ${i}`, Effect.map(send(uri, { path: `${path}?code=evil${i}&state=W${i}` }), (a) => a.status)] as const
        )
      ]
      const statuses = yield* Effect.forEach(junk, ([, run]) => run, { concurrency: "unbounded" })
      const accepted = junk.map(([name], i) => `${name}: ${statuses[i]}`).filter((_, i) =>
        !(isRejected(statuses[i]) || statuses[i] === 0)
      )
      assert.deepStrictEqual(accepted, [], "every junk request is answered 4xx or dropped")
      // none of them settled the login
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "the login still waits")

      const ok = yield* send(uri, { path: `${path}?code=the-code&state=S` })
      assert.strictEqual(ok.status, 200)
      assert.include(ok.body, "You are logged in")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.code, "the-code")
      assert.strictEqual(result.redirectUri, uri.href)
    }))

  it.scoped("the answer pages never echo what the request carried", () =>
    Effect.gen(function*() {
      const { fiber, uri } = yield* startLogin
      const marker = "<script>alert(1)</script>"
      const answers = yield* Effect.all([
        send(uri, { path: `${uri.pathname}?code=${encodeURIComponent(marker)}&state=${encodeURIComponent(marker)}` }),
        send(uri, { path: `/${encodeURIComponent(marker)}` })
      ], { concurrency: "unbounded" })
      for (const answer of answers) {
        assert.isTrue(isRejected(answer.status))
        assert.notInclude(answer.body, marker)
        assert.notInclude(answer.body, "alert(1)")
      }
      const error = yield* send(uri, { path: `${uri.pathname}?error=${encodeURIComponent(marker)}&state=S` })
      assert.strictEqual(error.status, 400)
      assert.notInclude(error.body, "<script>")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
    }))

  it.scoped("with a `localhost` redirect URI, the browser's `Host: localhost:<port>` is the one accepted", () =>
    Effect.gen(function*() {
      const { fiber, uri } = yield* startLoginWith(LoginAgent.loopback({ redirectHost: "localhost" }))
      assert.strictEqual(uri.hostname, "localhost")
      const target = new URL(uri.href.replace("localhost", "127.0.0.1"))
      const foreign = yield* send(target, {
        path: `${uri.pathname}?code=evil&state=S`,
        headers: { host: `localhost.evil.example:${uri.port}` }
      })
      assert.strictEqual(foreign.status, 400)
      const ok = yield* send(target, { path: `${uri.pathname}?code=the-code&state=S`, headers: { host: `localhost:${uri.port}` } })
      assert.strictEqual(ok.status, 200)
      assert.strictEqual((yield* Fiber.join(fiber)).code, "the-code")
    }))

  it.scoped("after the real redirect, the server is gone: late junk and replays find nothing", () =>
    Effect.gen(function*() {
      const { fiber, uri } = yield* startLogin
      const [first, second] = yield* Effect.all([
        send(uri, { path: `${uri.pathname}?code=one&state=S` }),
        send(uri, { path: `${uri.pathname}?code=two&state=S` })
      ], { concurrency: "unbounded" })
      const result = yield* Fiber.join(fiber)
      // exactly one of two simultaneous redirects wins; the other is refused, never a second login
      const statuses = [first.status, second.status].sort()
      assert.strictEqual(statuses.filter((s) => s === 200).length, 1)
      assert.isTrue(statuses.every((s) => s === 200 || isRejected(s) || s === 0))
      assert.include(["one", "two"], result.code)
      assert.strictEqual((yield* send(uri, { path: `${uri.pathname}?code=late&state=S` })).status, 0)
    }))
})
