import * as Terminal from "@effect/platform/Terminal"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as AuthError from "../src/AuthError.js"
import * as LoginAgent from "../src/LoginAgent.js"

const errorOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error("expected a typed failure")
  return exit.cause.error
}

const terminal = (readLine: Terminal.Terminal["readLine"]): Terminal.Terminal => ({
  columns: Effect.succeed(80),
  rows: Effect.succeed(24),
  isTTY: Effect.succeed(true),
  readInput: Effect.dieMessage("not used"),
  readLine,
  display: () => Effect.dieMessage("the agent must not write to standard output")
})

/** A real agent whose "browser" hands the redirect URI to the test, with output captured. */
const setup = (readLine: Terminal.Terminal["readLine"] = Effect.succeed("")) =>
  Effect.gen(function*() {
    const opened = yield* Deferred.make<string>()
    const output: Array<string> = []
    const agent = yield* LoginAgent.make({
      openBrowser: true,
      write: (text) => Effect.sync(() => void output.push(text)),
      open: (url) => Deferred.succeed(opened, url)
    }).pipe(Effect.provideService(Terminal.Terminal, terminal(readLine)))
    const authorize = (redirect: LoginAgent.Redirect) =>
      agent.authorize({
        redirect,
        start: (redirectUri) =>
          Effect.succeed({
            url: new URL(`https://op.example/auth?redirect_uri=${encodeURIComponent(redirectUri)}&state=S`),
            state: "S"
          })
      })
    const redirectUri = Effect.map(Deferred.await(opened), (url) => new URL(url).searchParams.get("redirect_uri")!)
    return { agent, authorize, redirectUri, output }
  })

const get = (url: string) =>
  Effect.promise(() =>
    fetch(url).then(
      async (response) => ({ status: response.status, page: await response.text() }),
      () => ({ status: 0, page: "connection refused" })
    )
  )

describe("LoginAgent loopback", () => {
  it.effect("pages are not framed, cached or referred onwards; a busy port is a clear error", () =>
    Effect.gen(function*() {
      const { authorize, redirectUri } = yield* setup()
      const fiber = yield* Effect.fork(authorize(LoginAgent.loopback()))
      const uri = yield* redirectUri
      const response = yield* Effect.promise(() => fetch(`${uri}?code=c&state=S`))
      assert.strictEqual(response.status, 200)
      assert.include(response.headers.get("content-security-policy"), "frame-ancestors 'none'")
      assert.strictEqual(response.headers.get("referrer-policy"), "no-referrer")
      assert.strictEqual(response.headers.get("cache-control"), "no-store")
      yield* Fiber.join(fiber)
      const busy = yield* Effect.acquireRelease(
        Effect.async<Server>((resume) => {
          const server = createServer()
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.sync(() => server.close())
      )
      const port = (busy.address() as AddressInfo).port
      const error = errorOf(yield* Effect.exit(authorize(LoginAgent.loopback({ port }))))
      assert.strictEqual(error._tag, "InvalidConfiguration")
      assert.include(error.message, `Cannot listen for the login redirect on 127.0.0.1:${port} (EADDRINUSE)`)
      assert.include(error.message, `Free port ${port}`)
    }).pipe(Effect.scoped))

  it.effect("ignores stray and concurrent junk requests, accepts the real redirect, then closes", () =>
    Effect.gen(function*() {
      const { authorize, output, redirectUri } = yield* setup()
      const fiber = yield* Effect.fork(authorize(LoginAgent.loopback()))
      const uri = yield* redirectUri
      assert.match(uri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/)
      const base = new URL(uri).origin
      const junk = yield* Effect.all([
        get(`${base}/favicon.ico`),
        get(`${uri}?code=x`),
        get(`${uri}?code=x&state=WRONG`),
        get(`${base}/other?code=x&state=S`)
      ], { concurrency: "unbounded" })
      assert.deepStrictEqual(junk.map((r) => r.status), [404, 400, 400, 404])
      assert.isNull(yield* Fiber.poll(fiber).pipe(Effect.map((o) => o._tag === "Some" ? "done" : null)))
      const ok = yield* get(`${uri}?code=the-code&state=S`)
      assert.strictEqual(ok.status, 200)
      assert.include(ok.page, "You are logged in")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.code, "the-code")
      assert.strictEqual(result.redirectUri, uri)
      // a second redirect finds the server closed
      assert.strictEqual((yield* get(`${uri}?code=again&state=S`)).status, 0)
      assert.include(output.join(""), "https://op.example/auth?")
    }))

  it.effect("error=access_denied is LoginCancelled, shown as an error page; the server closes", () =>
    Effect.gen(function*() {
      const { authorize, redirectUri } = yield* setup()
      const fiber = yield* Effect.fork(authorize(LoginAgent.loopback({ path: "/cb" })))
      const uri = yield* redirectUri
      const page = yield* get(`${uri}?error=access_denied&state=S`)
      assert.strictEqual(page.status, 400)
      assert.include(page.page, "Login failed")
      assert.strictEqual(errorOf(yield* Fiber.await(fiber))._tag, "LoginCancelled")
      assert.strictEqual((yield* get(`${uri}?code=c&state=S`)).status, 0)
    }))

  it.effect("another error is InvalidCredentials naming the code; a redirect without code is MalformedResponse", () =>
    Effect.gen(function*() {
      for (const [query, tag] of [["error=invalid_scope", "InvalidCredentials"], ["foo=bar", "MalformedResponse"]]) {
        const { authorize, redirectUri } = yield* setup()
        const fiber = yield* Effect.fork(authorize(LoginAgent.loopback()))
        const uri = yield* redirectUri
        assert.strictEqual((yield* get(`${uri}?${query}&state=S`)).status, 400)
        const error = errorOf(yield* Fiber.await(fiber))
        assert.strictEqual(error._tag, tag)
        if (tag === "InvalidCredentials") assert.include(error.message, "invalid_scope")
      }
    }))

  it.effect("times out with LoginTimeout when only wrong-state redirects arrive, and closes", () =>
    Effect.gen(function*() {
      const { authorize, redirectUri } = yield* setup()
      const fiber = yield* Effect.fork(authorize(LoginAgent.loopback()))
      const uri = yield* redirectUri
      assert.strictEqual((yield* get(`${uri}?code=c&state=OTHER`)).status, 400)
      yield* TestClock.adjust(LoginAgent.defaultTimeout)
      assert.strictEqual(errorOf(yield* Fiber.await(fiber))._tag, "LoginTimeout")
      assert.strictEqual((yield* get(`${uri}?code=c&state=S`)).status, 0)
    }))
})

describe("LoginAgent paste", () => {
  it.effect("accepts the pasted redirect URL and checks its state", () =>
    Effect.gen(function*() {
      const good = yield* setup(Effect.succeed("  https://app.example/cb?code=C1&state=S \n"))
      const result = yield* good.authorize(LoginAgent.paste("https://app.example/cb"))
      assert.strictEqual(result.code, "C1")
      assert.strictEqual(result.redirectUri, "https://app.example/cb")
      assert.include(good.output.join(""), "paste it here")
      const wrong = yield* setup(Effect.succeed("https://app.example/cb?code=C1&state=T"))
      const exit = yield* Effect.exit(wrong.authorize(LoginAgent.paste("https://app.example/cb")))
      assert.strictEqual(errorOf(exit)._tag, "InvalidCredentials")
      const quit = yield* setup(Effect.fail(new Terminal.QuitException()))
      assert.strictEqual(
        errorOf(yield* Effect.exit(quit.authorize(LoginAgent.paste("https://app.example/cb"))))._tag,
        "LoginCancelled"
      )
    }))

  it("parses a bare code, a query string, and rejects prose", () => {
    const parse = (line: string) => LoginAgent.parsePasted(line, "S", {})
    assert.deepStrictEqual(Either.map(parse("abc123"), (r) => r.code), Either.right("abc123"))
    assert.deepStrictEqual(Either.map(parse("?code=q&state=S"), (r) => r.code), Either.right("q"))
    assert.isTrue(Either.isLeft(parse("I could not log in")))
    assert.isTrue(Either.isLeft(parse("")))
  })
})

describe("LoginAgent browser and device", () => {
  it("opens a browser only where one can be shown", () => {
    assert.isTrue(LoginAgent.canOpenBrowser({ DISPLAY: ":0" }, "linux"))
    assert.isTrue(LoginAgent.canOpenBrowser({ WAYLAND_DISPLAY: "wayland-0" }, "linux"))
    assert.isFalse(LoginAgent.canOpenBrowser({}, "linux"))
    assert.isFalse(LoginAgent.canOpenBrowser({ DISPLAY: ":0", SSH_CONNECTION: "1 2 3 4" }, "linux"))
    assert.isTrue(LoginAgent.canOpenBrowser({}, "darwin"))
    assert.isFalse(LoginAgent.canOpenBrowser({}, "darwin", false))
    assert.isTrue(LoginAgent.canOpenBrowser({}, "linux", true))
  })

  it.effect("without a display it only prints the URL", () =>
    Effect.gen(function*() {
      const output: Array<string> = []
      let opened = 0
      const agent = yield* LoginAgent.make({
        env: {},
        platform: "linux",
        write: (text) => Effect.sync(() => void output.push(text)),
        open: () => Effect.sync(() => void opened++)
      }).pipe(Effect.provideService(Terminal.Terminal, terminal(Effect.succeed("code-1"))))
      const result = yield* agent.authorize({
        redirect: LoginAgent.paste("https://app.example/cb"),
        start: () => Effect.succeed({ url: new URL("https://op.example/auth?x=1"), state: "S" })
      })
      assert.strictEqual(result.code, "code-1")
      assert.strictEqual(opened, 0)
      assert.include(output.join(""), "https://op.example/auth?x=1")
    }))

  it.effect("device mode shows the code and reports progress until done", () =>
    Effect.gen(function*() {
      const output: Array<string> = []
      const agent = yield* LoginAgent.make({
        openBrowser: false,
        write: (text) => Effect.sync(() => void output.push(text))
      }).pipe(Effect.provideService(Terminal.Terminal, terminal(Effect.succeed(""))))
      const fiber = yield* Effect.fork(agent.device(
        { userCode: "WDJB-MJHT", verificationUri: "https://op.example/device", expiresIn: Duration.minutes(10) },
        Effect.as(Effect.sleep(Duration.seconds(70)), "token")
      ))
      for (let i = 0; i < 7; i++) yield* TestClock.adjust(Duration.seconds(10))
      assert.strictEqual(yield* Fiber.join(fiber), "token")
      const text = output.join("")
      assert.include(text, "WDJB-MJHT")
      assert.include(text, "https://op.example/device")
      assert.strictEqual(text.split("Still waiting").length - 1, 2)
      assert.isTrue(text.endsWith("Logged in.\n"))
    }))
})

const clearLine = "\r\x1b[2K"
const spinnerFrames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

/** A real agent writing to a captured "terminal", with or without animation. */
const spinnerAgent = (options: Partial<LoginAgent.Options> = {}) =>
  Effect.gen(function*() {
    const output: Array<string> = []
    const opened = yield* Deferred.make<string>()
    const agent = yield* LoginAgent.make({
      openBrowser: true,
      open: (url) => Deferred.succeed(opened, url),
      write: (text) => Effect.sync(() => void output.push(text)),
      env: { TERM: "xterm-256color" },
      ...options
    }).pipe(Effect.provideService(Terminal.Terminal, terminal(Effect.succeed(""))))
    /** The redrawn frames (everything written with `\r` that is not the final erase). */
    const frames = () => output.filter((text) => text.startsWith("\r") && text !== clearLine)
    const redirectUri = Effect.map(Deferred.await(opened), (url) => new URL(url).searchParams.get("redirect_uri")!)
    const authorize = (redirect: LoginAgent.Redirect) =>
      agent.authorize({
        redirect,
        start: (uri) =>
          Effect.succeed({
            url: new URL(`https://op.example/auth?redirect_uri=${encodeURIComponent(uri)}&state=STATE-VALUE`),
            state: "STATE-VALUE"
          })
      })
    return { agent, output, frames, redirectUri, authorize }
  })

const devicePrompt: LoginAgent.DevicePrompt = {
  userCode: "WDJB-MJHT",
  verificationUri: "https://op.example/device",
  expiresIn: Duration.minutes(10)
}

describe("LoginAgent spinner", () => {
  it("animates only on a terminal that is not dumb, outside CI, unless told", () => {
    assert.isTrue(LoginAgent.canShowSpinner({ TERM: "xterm-256color" }, true))
    assert.isTrue(LoginAgent.canShowSpinner({}, true))
    assert.isFalse(LoginAgent.canShowSpinner({ TERM: "xterm-256color" }, false))
    assert.isFalse(LoginAgent.canShowSpinner({ TERM: "dumb" }, true))
    assert.isFalse(LoginAgent.canShowSpinner({ TERM: "xterm", CI: "true" }, true))
    assert.isFalse(LoginAgent.canShowSpinner({ TERM: "xterm", CI: "1" }, true))
    assert.isFalse(LoginAgent.canShowSpinner({ TERM: "xterm" }, true, false))
    assert.isTrue(LoginAgent.canShowSpinner({ TERM: "dumb", CI: "true" }, false, true))
  })

  it.effect("not on a terminal: the device wait prints one line, no frames, however long it takes", () =>
    Effect.gen(function*() {
      // "auto" with a custom writer: the output is not a terminal.
      const { agent, output } = yield* spinnerAgent({ openBrowser: false })
      const done = yield* Deferred.make<string>()
      const fiber = yield* Effect.fork(agent.device(devicePrompt, Deferred.await(done)))
      yield* TestClock.adjust(Duration.seconds(5))
      yield* Deferred.succeed(done, "token")
      assert.strictEqual(yield* Fiber.join(fiber), "token")
      const text = output.join("")
      assert.strictEqual(text.split("Waiting for you to confirm code WDJB-MJHT at https://op.example/device...\n").length, 2)
      assert.notInclude(text, "\r")
      assert.notInclude(text, "\x1b")
      assert.isTrue(text.endsWith("Logged in.\n"))
    }))

  it.effect("not on a terminal: the browser wait prints one line, no frames", () =>
    Effect.gen(function*() {
      const { authorize, output, redirectUri } = yield* spinnerAgent({ spinner: false })
      const fiber = yield* Effect.fork(authorize(LoginAgent.loopback()))
      const uri = yield* redirectUri
      yield* TestClock.adjust(Duration.seconds(2))
      assert.strictEqual((yield* get(`${uri}?code=the-code&state=STATE-VALUE`)).status, 200)
      assert.strictEqual((yield* Fiber.join(fiber)).code, "the-code")
      const text = output.join("")
      assert.strictEqual(text.split("Waiting for the browser login... (Ctrl-C to cancel)\n").length, 2)
      assert.notInclude(text, "\r")
      assert.notInclude(text, "\x1b")
    }))

  it.effect("on a terminal: device wait redraws a frame every 100 ms, then erases it and says logged in", () =>
    Effect.gen(function*() {
      const { agent, frames, output } = yield* spinnerAgent({
        openBrowser: false,
        spinner: true,
        progressInterval: Duration.millis(300)
      })
      const done = yield* Deferred.make<string>()
      const fiber = yield* Effect.fork(agent.device(devicePrompt, Deferred.await(done)))
      yield* TestClock.adjust(Duration.seconds(1))
      // one frame at once, then one every 100 ms: 0, 100, ..., 1000
      assert.strictEqual(frames().length, 11)
      assert.deepStrictEqual(
        frames().map((frame) => frame.slice(1, 2)),
        [...spinnerFrames, spinnerFrames[0]]
      )
      for (const frame of frames()) {
        assert.match(frame, /^\r. Waiting for you to confirm code WDJB-MJHT at https:\/\/op\.example\/device\.\.\.$/u)
      }
      // Once the spinner starts, nothing but frames is written: all redrawn on the same line.
      const first = output.findIndex((text) => text.startsWith("\r"))
      assert.deepStrictEqual(output.slice(first), frames())
      // The animation replaces the periodic "Still waiting" lines.
      assert.notInclude(output.join(""), "Still waiting")
      const drawn = frames().length
      yield* Deferred.succeed(done, "token")
      assert.strictEqual(yield* Fiber.join(fiber), "token")
      yield* TestClock.adjust(Duration.seconds(1))
      assert.strictEqual(frames().length, drawn, "no frame after the login ended")
      assert.deepStrictEqual(output.slice(-2), [clearLine, "Logged in.\n"])
    }))

  it.effect("on a terminal: a failed device login erases the spinner before saying so", () =>
    Effect.gen(function*() {
      const { agent, frames, output } = yield* spinnerAgent({ openBrowser: false, spinner: true })
      const fiber = yield* Effect.fork(agent.device(
        devicePrompt,
        Effect.zipRight(
          Effect.sleep(Duration.millis(450)),
          Effect.fail(new AuthError.LoginCancelled({ detail: "The device login was denied" }))
        )
      ))
      yield* TestClock.adjust(Duration.seconds(1))
      assert.strictEqual(errorOf(yield* Fiber.await(fiber))._tag, "LoginCancelled")
      assert.strictEqual(frames().length, 5) // 0, 100, 200, 300, 400
      assert.deepStrictEqual(output.slice(-2), [clearLine, "The device login did not complete.\n"])
    }))

  it.effect("on a terminal: an interrupted device login (Ctrl-C) leaves a clean line", () =>
    Effect.gen(function*() {
      const { agent, frames, output } = yield* spinnerAgent({ openBrowser: false, spinner: true })
      const fiber = yield* Effect.fork(agent.device(devicePrompt, Effect.never))
      yield* TestClock.adjust(Duration.millis(300))
      yield* Fiber.interrupt(fiber)
      const drawn = frames().length
      assert.strictEqual(drawn, 4)
      assert.strictEqual(output.at(-1), clearLine)
      yield* TestClock.adjust(Duration.seconds(1))
      assert.strictEqual(frames().length, drawn)
    }))

  it.effect("on a terminal: the browser wait spins until the redirect arrives, then erases the line", () =>
    Effect.gen(function*() {
      const { authorize, frames, output, redirectUri } = yield* spinnerAgent({ spinner: true })
      const fiber = yield* Effect.fork(authorize(LoginAgent.loopback()))
      const uri = yield* redirectUri
      yield* TestClock.adjust(Duration.seconds(1))
      assert.strictEqual(frames().length, 11)
      for (const frame of frames()) assert.match(frame, /^\r. Waiting for the browser login\.\.\. \(Ctrl-C to cancel\)$/u)
      assert.strictEqual((yield* get(`${uri}?code=the-code&state=STATE-VALUE`)).status, 200)
      assert.strictEqual((yield* Fiber.join(fiber)).code, "the-code")
      assert.strictEqual(output.at(-1), clearLine)
      const drawn = frames().length
      yield* TestClock.adjust(Duration.seconds(1))
      assert.strictEqual(frames().length, drawn, "no frame after the login ended")
      // The spinner never shows the authorization code or the state.
      for (const frame of frames()) {
        assert.notInclude(frame, "the-code")
        assert.notInclude(frame, "STATE-VALUE")
      }
    }))

  it.effect("on a terminal: a browser login that times out or is refused erases the line", () =>
    Effect.gen(function*() {
      const timedOut = yield* spinnerAgent({ spinner: true, timeout: Duration.millis(1050) })
      const fiber = yield* Effect.fork(timedOut.authorize(LoginAgent.loopback()))
      yield* timedOut.redirectUri
      yield* TestClock.adjust(Duration.seconds(2))
      assert.strictEqual(errorOf(yield* Fiber.await(fiber))._tag, "LoginTimeout")
      assert.strictEqual(timedOut.frames().length, 11) // 0, 100, ..., 1000
      assert.strictEqual(timedOut.output.at(-1), clearLine)

      const refused = yield* spinnerAgent({ spinner: true })
      const second = yield* Effect.fork(refused.authorize(LoginAgent.loopback()))
      const uri = yield* refused.redirectUri
      yield* TestClock.adjust(Duration.millis(200))
      assert.strictEqual((yield* get(`${uri}?error=access_denied&state=STATE-VALUE`)).status, 400)
      assert.strictEqual(errorOf(yield* Fiber.await(second))._tag, "LoginCancelled")
      assert.strictEqual(refused.frames().length, 3)
      assert.strictEqual(refused.output.at(-1), clearLine)
    }))

  it.effect("on a narrow terminal each frame fits on one row, so that \\r redraws it in place", () =>
    Effect.gen(function*() {
      const { agent, frames } = yield* spinnerAgent({ openBrowser: false, spinner: true, columns: 50 })
      const fiber = yield* Effect.fork(agent.device(
        { ...devicePrompt, verificationUri: `https://op.example/device/${"x".repeat(80)}` },
        Effect.never
      ))
      yield* TestClock.adjust(Duration.millis(200))
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(frames().length, 3)
      for (const frame of frames()) {
        // `\r` plus 49 visible characters, the last an ellipsis
        assert.strictEqual(Array.from(frame).length, 50)
        assert.isTrue(frame.endsWith("…"))
        assert.include(frame, "WDJB-MJHT")
      }
    }))
})

describe("LoginAgent spinner text", () => {
  it.effect("control characters from the server never reach the spinner line", () =>
    Effect.gen(function*() {
      const { agent, frames } = yield* spinnerAgent({ openBrowser: false, spinner: true })
      const fiber = yield* Effect.fork(agent.device(
        { ...devicePrompt, userCode: "WDJB\x1b]0;owned\x07-MJHT\nX" },
        Effect.never
      ))
      yield* TestClock.adjust(Duration.millis(100))
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(frames().length, 2)
      for (const frame of frames()) {
        assert.notMatch(frame.slice(1), /[\u0000-\u001f\u007f-\u009f]/)
        assert.include(frame, "WDJB ]0;owned -MJHT X")
      }
    }))
})
