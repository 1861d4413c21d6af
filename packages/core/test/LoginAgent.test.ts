import * as Terminal from "@effect/platform/Terminal"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
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
