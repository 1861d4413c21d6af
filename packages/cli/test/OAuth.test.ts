/**
 * `effect-auth` with Anaplan's OAuth service (the emulator): a refresh token from the
 * environment (non-interactive), and the paste-the-redirect login on a real terminal.
 */
import { assert, describe, layer } from "@effect/vitest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as AnaplanAuth from "@effect-auth/anaplan/AnaplanAuth"
import * as AnaplanOAuth from "@effect-auth/anaplan/AnaplanOAuth"
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Cli from "./support/cli.js"

const client = {
  clientId: "cli-client",
  clientSecret: "cli-client-secret",
  redirectUris: ["https://app.example.com/callback"]
}

const siteConfig = (url: string, method: string) =>
  `[sites.oauth]
provider = "anaplan"
method = "${method}"
client_id = "${client.clientId}"
redirect_uri = "${client.redirectUris[0]}"
auth_url = "${url}"
api_url = "${url}"
oauth_url = "${url}"
storage = "file"
`

const setup = (method: string) =>
  Effect.gen(function*() {
    const server = yield* AnaplanAuthServer.AnaplanAuthServer
    yield* server.addOAuthClient(client)
    const home = yield* Cli.home
    Cli.writeConfig(home, siteConfig(server.url, method))
    const env = { ...home.env, EFFECT_AUTH_CLIENT_SECRET: client.clientSecret }
    return { server, home, env }
  })

/** A refresh token, as a web app's login would have obtained it. */
const refreshTokenFor = (server: AnaplanAuthServer.AnaplanAuthServer.Service) =>
  Effect.gen(function*() {
    const oauth = yield* AnaplanOAuth.make({
      clientId: client.clientId,
      clientSecret: Redacted.make(client.clientSecret),
      redirectUri: client.redirectUris[0],
      oauthUrl: server.url,
      authUrl: server.url
    })
    const request = yield* oauth.authorizationUrl()
    const url = new URL(request.url)
    const redirect = yield* server.authorize({
      clientId: client.clientId,
      redirectUri: client.redirectUris[0],
      email: AnaplanAuthServer.demoUser.email,
      state: request.state,
      codeChallenge: url.searchParams.get("code_challenge") ?? undefined
    })
    const token = yield* oauth.fetchToken(redirect, request)
    return Option.getOrThrow(token.refreshToken)
  }).pipe(Effect.orDie)

// a 1 s device polling interval (Anaplan's is 5 s) keeps the device logins short
layer(Layer.merge(AnaplanAuthServer.layer({ deviceInterval: "1 second" }), NodeHttpClient.layerUndici), {
  excludeTestServices: true,
  timeout: "60 seconds"
})("effect-auth with OAuth", (it) => {
  describe("refresh_token method", () => {
    it.scoped("token spends EFFECT_AUTH_REFRESH_TOKEN once, stores the rotated token and serves it again", () =>
      Effect.gen(function*() {
        const { env, server } = yield* setup("refresh_token")
        const refreshToken = Redacted.value(yield* refreshTokenFor(server))
        const before = yield* server.counters
        const first = yield* Cli.run(["token"], { env: { ...env, EFFECT_AUTH_REFRESH_TOKEN: refreshToken } })
        assert.strictEqual(first.code, 0, first.stderr)
        assert.strictEqual(first.stdout.split("\n").length, 2)
        yield* AnaplanAuth.validate(Redacted.make(first.stdout.trim()), { authUrl: server.url })
        const afterFirst = yield* server.counters
        assert.strictEqual(afterFirst.oauthToken - before.oauthToken, 1)

        // The variable still holds the refresh token spent above (as in a CI job's settings): the
        // stored token serves and the spent one is not sent again.
        const stale = { ...env, EFFECT_AUTH_REFRESH_TOKEN: refreshToken }
        const second = yield* Cli.run(["token"], { env: stale })
        assert.strictEqual(second.code, 0, second.stderr)
        assert.strictEqual(second.stdout, first.stdout)
        assert.strictEqual((yield* server.counters).oauthToken, afterFirst.oauthToken)
        for (const out of [first, second]) {
          assert.notInclude(out.stdout + out.stderr, refreshToken)
          assert.notInclude(out.stdout + out.stderr, client.clientSecret)
        }
        const whoami = yield* Cli.run(["whoami"], { env: stale })
        assert.strictEqual(whoami.code, 0, whoami.stderr)
        assert.match(whoami.stdout, /^demo@example\.com /)

        // Once the spent refresh token is removed from the environment, the stored login still serves.
        const unset = yield* Cli.run(["token"], { env })
        assert.strictEqual(unset.code, 0, unset.stderr)
        assert.strictEqual(unset.stdout, first.stdout)
      }))

    it.scoped("without a refresh token, token fails naming the variable and prints nothing", () =>
      Effect.gen(function*() {
        const { env } = yield* setup("refresh_token")
        const out = yield* Cli.run(["token"], { env })
        assert.strictEqual(out.code, 1, out.stderr)
        assert.match(out.stderr, /^error: .*needs refresh_token\n/)
        assert.match(out.stderr, /\nhint: .*EFFECT_AUTH_REFRESH_TOKEN/)
        assert.strictEqual(out.stdout, "")
      }))
  })

  describe("oauth method", () => {
    it.scoped("without a terminal, login exits 4 and says to run it in one", () =>
      Effect.gen(function*() {
        const { env } = yield* setup("oauth")
        const out = yield* Cli.run(["login"], { env })
        assert.strictEqual(out.code, 4, out.stderr)
        assert.match(out.stderr, /^error: \[oauth\] Logging in to oauth \(oauth\) needs a person/)
        assert.match(out.stderr, /\nhint: Run `effect-auth login --at oauth` in a terminal/)
      }))

    it.scoped.skipIf(!Cli.runTerminalTests)("login on a terminal: open the URL, paste the redirect, logged in and stored", () =>
      Effect.gen(function*() {
        const { env, server } = yield* setup("oauth")
        const term = yield* Cli.terminal(["login"], { env })
        const screen = yield* term.waitFor(/\/auth\/prelogin\?\S+/)
        const match = /(http:\/\/127\.0\.0\.1:\d+\/auth\/prelogin\?\S+)/.exec(screen)
        assert.isNotNull(match, screen)
        const url = new URL(match![1])
        assert.strictEqual(url.searchParams.get("client_id"), client.clientId)
        assert.strictEqual(url.searchParams.get("code_challenge_method"), "S256")
        const redirect = yield* server.authorize({
          clientId: client.clientId,
          redirectUri: client.redirectUris[0],
          email: AnaplanAuthServer.demoUser.email,
          state: url.searchParams.get("state") ?? undefined,
          codeChallenge: url.searchParams.get("code_challenge") ?? undefined
        })
        yield* term.type(redirect, { enter: true })
        yield* term.waitFor(/Logged in to oauth as demo@example\.com until /)
        assert.strictEqual(yield* term.exitCode(), 0)
        const token = yield* Cli.run(["token"], { env })
        assert.strictEqual(token.code, 0, token.stderr)
        yield* AnaplanAuth.validate(Redacted.make(token.stdout.trim()), { authUrl: server.url })
      }))
  })

  describe("device method", () => {
    it.scoped.skipIf(!Cli.runTerminalTests)("login on a terminal shows the code; once approved, logged in", () =>
      Effect.gen(function*() {
        const { env, server } = yield* setup("device")
        const term = yield* Cli.terminal(["login"], { env })
        const screen = yield* term.waitFor(/\b[A-Z0-9]{4}-?[A-Z0-9]{4}\b/)
        const codes = screen.match(/\b[A-Z0-9]{4}-?[A-Z0-9]{4}\b/g) ?? []
        let approved = false
        for (const code of codes) {
          if (yield* server.approveDevice(code, AnaplanAuthServer.demoUser.email)) approved = true
        }
        assert.isTrue(approved, screen)
        yield* term.waitFor(/Logged in to oauth as demo@example\.com until /, 30_000)
        assert.strictEqual(yield* term.exitCode(), 0)
        assert.isAbove((yield* server.counters).deviceCode, 0)
      }))

    it.scoped.skipIf(!Cli.runTerminalTests)("--verbose log lines print on lines of their own, never inside the spinner's line", () =>
      Effect.gen(function*() {
        const { env, server } = yield* setup("device")
        const term = yield* Cli.terminal(["login", "--verbose"], { env, width: 200 })
        const polled = /debug: device login: the code is not confirmed yet[^\n]*\n(.|\n)*debug: device login: the code is not confirmed yet/
        const screen = yield* term.waitFor(polled, 30_000)
        const codes = screen.match(/\b[A-Z0-9]{4}-?[A-Z0-9]{4}\b/g) ?? []
        for (const code of codes) yield* server.approveDevice(code, AnaplanAuthServer.demoUser.email)
        const done = yield* term.waitFor(/Logged in to oauth as demo@example\.com until /, 30_000)
        assert.strictEqual(yield* term.exitCode(), 0)
        const lines = done.split("\n")
        const logs = lines.filter((line) => line.includes("debug: "))
        assert.isAtLeast(logs.length, 2, done)
        // each log line starts at the margin: no spinner frame or "Waiting ..." text before it
        for (const line of logs) assert.match(line, /^debug: /, done)
        for (const line of lines.filter((line) => line.includes("Waiting for you to confirm"))) {
          assert.notInclude(line, "debug:", done)
        }
      }))
  })
})
