/**
 * The `effect-auth` binary, run as a real process against the Anaplan emulator, with a temporary
 * HOME, file storage and a clean environment.
 */
import { assert, describe, layer } from "@effect/vitest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as AnaplanAuth from "@effect-auth/anaplan/AnaplanAuth"
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as TestCertificates from "@effect-auth/anaplan/TestCertificates"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { cachedToken } from "../src/internal/cachedToken.js"
import * as Cli from "./support/cli.js"

const password = AnaplanAuthServer.demoUser.password ?? "demo-password"
const email = AnaplanAuthServer.demoUser.email

const siteConfig = (url: string, extra = "") =>
  `# my sites
default_site = "emu"

[sites.emu] # the emulator
provider = "anaplan"
email = "${email}"
auth_url = "${url}"
api_url = "${url}"
storage = "file"
${extra}`

/** A temporary HOME whose config names the emulator as the default site. */
const setup = Effect.gen(function*() {
  const server = yield* AnaplanAuthServer.AnaplanAuthServer
  const home = yield* Cli.home
  Cli.writeConfig(home, siteConfig(server.url))
  const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
    Cli.run(args, { env: { ...home.env, ...env } })
  return { server, home, run }
})

const noSecretIn = (text: string, what: string) => {
  assert.notInclude(text, password, `${what} shows the password`)
}

const validate = (token: string) =>
  Effect.flatMap(AnaplanAuthServer.AnaplanAuthServer, (server) =>
    AnaplanAuth.validate(Redacted.make(token), { authUrl: server.url }))

layer(Layer.merge(AnaplanAuthServer.layer(), NodeHttpClient.layerUndici), {
  excludeTestServices: true,
  timeout: "60 seconds"
})("effect-auth", (it) => {
  describe("login and token", () => {
    it.scoped("login with EFFECT_AUTH_PASSWORD, then token prints one line the service accepts, with 0 new logins", () =>
      Effect.gen(function*() {
        const { home, run, server } = yield* setup
        const before = yield* server.counters
        const login = yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })
        assert.strictEqual(login.code, 0, login.stderr)
        assert.match(
          login.stdout,
          /^Logged in to emu as demo@example\.com until (\d{4}-\d\d-\d\d )?\d\d:\d\d \(in \d+ min\) \(credentials in file .*credentials\.json\)\n$/
        )
        assert.strictEqual(login.stderr, "")
        const afterLogin = yield* server.counters
        assert.strictEqual(afterLogin.authenticate - before.authenticate, 1)
        // The credentials file is private.
        const file = Path.join(home.state, "effect-auth", "credentials.json")
        assert.strictEqual(Fs.statSync(file).mode & 0o777, 0o600)

        const first = yield* run(["token"])
        assert.strictEqual(first.code, 0, first.stderr)
        assert.strictEqual(first.stderr, "")
        const lines = first.stdout.split("\n")
        assert.deepStrictEqual(lines.length, 2, "exactly one line and its newline")
        assert.strictEqual(lines[1], "")
        const validation = yield* validate(lines[0])
        assert.isDefined(validation.userGuid)

        const second = yield* run(["token"])
        assert.strictEqual(second.stdout, first.stdout, "the stored token is served again")
        const after = yield* server.counters
        assert.strictEqual(after.authenticate, afterLogin.authenticate, "token made no new login")
        assert.strictEqual(after.refresh, afterLogin.refresh, "a fresh token is not refreshed")
        for (const out of [login, first, second]) noSecretIn(out.stdout + out.stderr, "a run")
      }))

    it.scoped("token's cache hit (no Effect loaded) answers only when certain, and agrees with the full path", () =>
      Effect.gen(function*() {
        const { home, run, server } = yield* setup
        assert.strictEqual((yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })).code, 0)
        const globals = { at: undefined, config: undefined, json: false, verbose: false }
        const full = JSON.parse((yield* run(["token", "--json"])).stdout) as { token: string; expires_at: string }
        // The same token as the full command prints, for the default site and for --at.
        assert.strictEqual(cachedToken(globals, home.env), full.token)
        assert.strictEqual(cachedToken({ ...globals, at: "emu" }, home.env), full.token)
        // Anything that could change the answer goes to the full command.
        assert.isUndefined(cachedToken({ ...globals, json: true }, home.env))
        assert.isUndefined(cachedToken({ ...globals, at: "other" }, home.env))
        assert.isUndefined(cachedToken(globals, { ...home.env, EFFECT_AUTH_EMAIL: "someone@example.com" }))
        assert.isUndefined(cachedToken(globals, { ...home.env, EFFECT_AUTH_STORAGE: "memory" }))
        assert.strictEqual(cachedToken(globals, { ...home.env, EFFECT_AUTH_PASSWORD: "x" }), full.token)
        // Within the refresh margin the full command decides (it refreshes).
        const expires = Date.parse(full.expires_at)
        assert.strictEqual(cachedToken(globals, home.env, expires - 6 * 60_000), full.token)
        assert.isUndefined(cachedToken(globals, home.env, expires - 4 * 60_000))
        // A credentials file others can read is never served: the full command names it and the fix.
        const file = Path.join(home.state, "effect-auth", "credentials.json")
        Fs.chmodSync(file, 0o644)
        assert.isUndefined(cachedToken(globals, home.env))
        const loose = yield* run(["token"])
        assert.strictEqual(loose.code, 1)
        assert.strictEqual(loose.stdout, "")
        assert.include(loose.stderr, file)
        Fs.chmodSync(file, 0o600)
        // Another storage: the full command.
        Cli.writeConfig(home, siteConfig(server.url).replace('storage = "file"', 'storage = "memory"'))
        assert.isUndefined(cachedToken(globals, home.env))
      }))

    it.scoped("login again does nothing while the stored login is usable, unless --force", () =>
      Effect.gen(function*() {
        const { run, server } = yield* setup
        const env = { EFFECT_AUTH_PASSWORD: password }
        assert.strictEqual((yield* run(["login"], env)).code, 0)
        const before = yield* server.counters
        const again = yield* run(["login"], env)
        assert.strictEqual(again.code, 0)
        assert.match(again.stdout, /^Already logged in to emu as demo@example\.com .*use --force/)
        assert.strictEqual((yield* server.counters).authenticate, before.authenticate)
        const forced = yield* run(["login", "--force"], env)
        assert.strictEqual(forced.code, 0, forced.stderr)
        assert.match(forced.stdout, /^Logged in to emu/)
        assert.strictEqual((yield* server.counters).authenticate, before.authenticate + 1)
      }))

    it.scoped("a stored token the service no longer accepts: whoami exits 4 saying to log in, and login does", () =>
      Effect.gen(function*() {
        const { run, server } = yield* setup
        assert.strictEqual((yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })).code, 0)
        yield* server.expireAllTokens
        const whoami = yield* run(["whoami"])
        assert.strictEqual(whoami.code, 4, whoami.stderr)
        assert.match(whoami.stderr, /^error: \[emu\] The site's API rejected the stored token.*\nhint: Log in again: `effect-auth login --at emu`/)
        const before = yield* server.counters
        const login = yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })
        assert.strictEqual(login.code, 0, login.stderr)
        assert.match(login.stdout, /^Logged in to emu as demo@example\.com/)
        assert.strictEqual((yield* server.counters).authenticate, before.authenticate + 1)
        assert.strictEqual((yield* run(["whoami"])).code, 0)
      }))

    it.scoped("login shows the expiry in the local time zone with the time left; --json keeps ISO", () =>
      Effect.gen(function*() {
        const { run } = yield* setup
        const env = { EFFECT_AUTH_PASSWORD: password, TZ: "Asia/Kathmandu" }
        const out = yield* run(["login"], env)
        assert.strictEqual(out.code, 0, out.stderr)
        const shown = /until (?:\d{4}-\d\d-\d\d )?(\d\d:\d\d) \(in (\d+) min\)/.exec(out.stdout)
        assert.isNotNull(shown, out.stdout)
        const json = JSON.parse((yield* run(["token", "--json"], env)).stdout) as { expires_at: string }
        const expected = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Kathmandu", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
          .format(new Date(json.expires_at))
        assert.strictEqual(shown?.[1], expected, "the local time (UTC+05:45), not UTC")
        assert.approximately(Number(shown?.[2]), (Date.parse(json.expires_at) - Date.now()) / 60_000, 2)
        assert.match(json.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
      }))

    it.scoped("storage = \"memory\": login says nothing outlives the command and suggests exec", () =>
      Effect.gen(function*() {
        const { run } = yield* setup
        const out = yield* run(["login"], { EFFECT_AUTH_PASSWORD: password, EFFECT_AUTH_STORAGE: "memory" })
        assert.strictEqual(out.code, 0, out.stderr)
        assert.include(out.stdout, "in memory only: nothing outlives this command")
        assert.notInclude(out.stdout, "credentials in memory")
        assert.match(out.stderr, /^hint: .*`effect-auth exec --at emu -- CMD`/m)
        const json = JSON.parse((yield* run(["login", "--json"], { EFFECT_AUTH_PASSWORD: password, EFFECT_AUTH_STORAGE: "memory" })).stdout) as {
          persistent: boolean
        }
        assert.strictEqual(json.persistent, false)
      }))

    it.scoped("logout while the service is down: removed here, says the token stays valid upstream until its expiry, exit 1", () =>
      Effect.gen(function*() {
        const { run } = yield* setup
        assert.strictEqual((yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })).code, 0)
        // Port 9 (discard) on the loopback: nothing listens, the connection is refused.
        const out = yield* run(["logout"], { EFFECT_AUTH_AUTH_URL: "http://127.0.0.1:9" })
        assert.strictEqual(out.code, 1, out.stdout + out.stderr)
        assert.strictEqual(out.stdout.trimEnd().split("\n").length, 1, out.stdout)
        assert.match(out.stdout, /upstream failed [\s\S]*; the token stays valid upstream until (\d{4}-\d\d-\d\d )?\d\d:\d\d \(in \d+ min\)/)
        const status = yield* run(["status", "--json"])
        assert.deepStrictEqual((JSON.parse(status.stdout) as { sites: ReadonlyArray<{ state: string }> }).sites.map((s) => s.state), [
          "not logged in"
        ])
      }))

    it.scoped("token --json prints token, token_type, expires_at and site", () =>
      Effect.gen(function*() {
        const { run } = yield* setup
        const out = yield* run(["token", "--json"], { EFFECT_AUTH_PASSWORD: password })
        assert.strictEqual(out.code, 0, out.stderr)
        const body = JSON.parse(out.stdout) as Record<string, unknown>
        assert.deepStrictEqual(Object.keys(body).sort(), ["expires_at", "site", "token", "token_type"])
        assert.strictEqual(body.token_type, "AnaplanAuthToken")
        assert.strictEqual(body.site, "emu")
        assert.isTrue(typeof body.expires_at === "string" && Date.parse(body.expires_at) > Date.now())
        yield* validate(String(body.token))
      }))

    it.scoped("without a terminal and without a password, login and token exit 4 and say how to log in", () =>
      Effect.gen(function*() {
        const { run, server } = yield* setup
        const before = yield* server.counters
        for (const command of [["login"], ["token"]]) {
          const out = yield* run(command)
          assert.strictEqual(out.code, 4, `${command[0]}: ${out.stderr}`)
          assert.strictEqual(out.stdout, "")
          const lines = out.stderr.trimEnd().split("\n")
          assert.strictEqual(lines.length, 2, out.stderr)
          assert.match(lines[0], /^error: \[emu\] No password for demo@example\.com/)
          assert.match(lines[1], /^hint: .*EFFECT_AUTH_PASSWORD.*effect-auth login --at emu/)
        }
        assert.strictEqual((yield* server.counters).authenticate, before.authenticate, "no request was sent")
      }))

    it.scoped("a wrong password exits 4 without echoing it; the hint names method = \"certificate\" and its command", () =>
      Effect.gen(function*() {
        const { run } = yield* setup
        const out = yield* run(["login"], { EFFECT_AUTH_PASSWORD: "wrong-password-123" })
        assert.strictEqual(out.code, 4, out.stderr)
        assert.match(out.stderr, /^error: /)
        assert.notInclude(out.stderr + out.stdout, "wrong-password-123")
        assert.notInclude(out.stderr, "    at ", "no stack without --verbose")
        // The hint in the CLI's terms: the setting and the command, not the library's API.
        assert.match(out.stderr, /^hint: .*method = "certificate".*`effect-auth sites modify emu --method certificate /m)
        assert.notInclude(out.stderr, "AnaplanAuth.")
        const verbose = yield* run(["login", "--verbose"], { EFFECT_AUTH_PASSWORD: "wrong-password-123" })
        assert.strictEqual(verbose.code, 4)
        assert.include(verbose.stderr, "    at ", "a stack with --verbose")
        assert.notInclude(verbose.stderr + verbose.stdout, "wrong-password-123")
      }))
  })

  describe("plain http://", () => {
    it.scoped("an auth_url on plain http:// elsewhere than loopback is refused before the password is sent; allow_insecure_http sends it, warning", () =>
      Effect.gen(function*() {
        const { home, run } = yield* setup
        const insecure = `[sites.clear]
provider = "anaplan"
email = "${email}"
auth_url = "http://auth.anaplan.invalid"
storage = "file"
`
        Cli.writeConfig(home, insecure)
        const refused = yield* run(["login", "--at", "clear"], { EFFECT_AUTH_PASSWORD: password })
        assert.strictEqual(refused.code, 1, refused.stderr)
        assert.match(refused.stderr, /^error: \[clear\] Anaplan: auth_url \(authUrl\) \(http:\/\/auth\.anaplan\.invalid\) is plain http:\/\//)
        assert.match(refused.stderr, /\nhint: .*allow_insecure_http = true/)
        noSecretIn(refused.stderr + refused.stdout, "the refusal")
        Cli.writeConfig(home, `${insecure}allow_insecure_http = true\n`)
        const sent = yield* run(["login", "--at", "clear"], { EFFECT_AUTH_PASSWORD: password })
        // sent: the .invalid host does not resolve (RFC 2606), a network failure after one warning
        assert.notStrictEqual(sent.code, 0, sent.stderr)
        assert.strictEqual(sent.stderr.match(/^warning: .*passwords and tokens travel in clear/gm)?.length, 1, sent.stderr)
        assert.notInclude(sent.stderr, "is plain http:// on a host that is not loopback, so")
        noSecretIn(sent.stderr + sent.stdout, "the warning")
      }))

    it.scoped("an api_url on plain http:// elsewhere than loopback is refused before the token is sent; login is unaffected", () =>
      Effect.gen(function*() {
        const { home, run, server } = yield* setup
        Cli.writeConfig(home, `[sites.clear]
provider = "anaplan"
email = "${email}"
auth_url = "${server.url}"
api_url = "http://api.anaplan.invalid"
storage = "file"
`)
        assert.strictEqual((yield* run(["login", "--at", "clear"], { EFFECT_AUTH_PASSWORD: password })).code, 0)
        const before = yield* server.counters
        const refused = yield* run(["whoami", "--at", "clear"])
        assert.strictEqual(refused.code, 1, refused.stderr)
        assert.match(refused.stderr, /^error: \[clear\] Anaplan: api_url \(apiUrl\) \(http:\/\/api\.anaplan\.invalid\) is plain http:\/\//)
        assert.include(refused.stderr, "tokens would travel in clear")
        assert.match(refused.stderr, /\nhint: .*allow_insecure_http = true/)
        assert.deepStrictEqual(yield* server.counters, before, "no request to the auth service either")
      }))
  })

  describe("renewal and certificates", () => {
    it.scoped("an expired login says that it expired and when, then how to log in (exit 4)", () =>
      Effect.gen(function*() {
        const { run, server } = yield* setup
        yield* server.setTokenLifetime("2 seconds")
        yield* Effect.addFinalizer(() => server.setTokenLifetime(AnaplanAuthServer.defaultTokenLifetime))
        assert.strictEqual((yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })).code, 0)
        // Past the token's expiry: the stored login can no longer be renewed.
        yield* Effect.sleep("3 seconds")
        const before = yield* server.counters
        const out = yield* run(["token"])
        assert.strictEqual(out.code, 4, out.stderr)
        // Anaplan refreshes only unexpired tokens: the expired one is not sent to /token/refresh.
        assert.strictEqual((yield* server.counters).refresh, before.refresh, "no refresh request")
        assert.strictEqual(out.stdout, "")
        assert.match(out.stderr, /^error: \[emu\] The login of emu expired at (\d{4}-\d\d-\d\d )?\d\d:\d\d \(\d+ min ago\)\. /)
        assert.match(out.stderr, /\nhint: .*effect-auth login --at emu/)
      }))

    it.scoped("token refreshes a stored token that is due, without a new login", () =>
      Effect.gen(function*() {
        const { run, server } = yield* setup
        // 12 s tokens are always due under the default policy (20 % margin + 10 s skew).
        yield* server.setTokenLifetime("12 seconds")
        yield* Effect.addFinalizer(() => server.setTokenLifetime(AnaplanAuthServer.defaultTokenLifetime))
        const login = yield* run(["token"], { EFFECT_AUTH_PASSWORD: password })
        assert.strictEqual(login.code, 0, login.stderr)
        const before = yield* server.counters
        const renewed = yield* run(["token"])
        assert.strictEqual(renewed.code, 0, renewed.stderr)
        const after = yield* server.counters
        assert.strictEqual(after.refresh - before.refresh, 1, "one refresh")
        assert.strictEqual(after.authenticate, before.authenticate, "no login: no password was available")
        // Anaplan's refresh extends the token: the same value, valid for longer (ANAPLAN.md, "refresh")
        assert.strictEqual(renewed.stdout, login.stdout)
        yield* validate(renewed.stdout.trim())
      }))

    it.scoped("certificate login with an encrypted key: the passphrase from the environment, else exit 4", () =>
      Effect.gen(function*() {
        const home = yield* Cli.home
        const certs = yield* TestCertificates.generate(home.dir).pipe(Effect.provide(NodeContext.layer), Effect.orDie)
        const server = yield* AnaplanAuthServer.make({ trustedCaPem: certs.caPem })
        Cli.writeConfig(
          home,
          `[sites.cert]\nprovider = "anaplan"\nmethod = "certificate"\nauth_url = "${server.url}"\napi_url = "${server.url}"\n` +
            `certificate = "${certs.clientCertPath}"\nprivate_key = "${certs.clientEncryptedKeyPath}"\nstorage = "file"\n`
        )
        const passphrase = Redacted.value(certs.passphrase)
        const missing = yield* Cli.run(["login"], { env: home.env })
        assert.strictEqual(missing.code, 4, missing.stderr)
        assert.match(missing.stderr, /^error: \[cert\] No passphrase for the private key .*client-encrypted\.key/)
        assert.match(missing.stderr, /\nhint: Set EFFECT_AUTH_PRIVATE_KEY_PASSPHRASE/)
        assert.strictEqual((yield* server.counters).authenticate, 0)
        const ok = yield* Cli.run(["login"], { env: { ...home.env, EFFECT_AUTH_PRIVATE_KEY_PASSPHRASE: passphrase } })
        assert.strictEqual(ok.code, 0, ok.stderr)
        assert.match(ok.stdout, /^Logged in to cert as demo@example\.com until /)
        assert.notInclude(ok.stdout + ok.stderr, passphrase)
        assert.strictEqual((yield* server.counters).authenticate, 1)
        const token = yield* Cli.run(["token"], { env: home.env })
        assert.strictEqual(token.code, 0, token.stderr)
        yield* AnaplanAuth.validate(Redacted.make(token.stdout.trim()), { authUrl: server.url })
      }))
  })

  describe("whoami, status, exec, logout", () => {
    it.scoped("whoami shows the user from users/me", () =>
      Effect.gen(function*() {
        const { run, server } = yield* setup
        assert.strictEqual((yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })).code, 0)
        const before = (yield* server.counters).usersMe
        const out = yield* run(["whoami"])
        assert.strictEqual(out.code, 0, out.stderr)
        assert.strictEqual(out.stdout, "demo@example.com (Demo User) on emu\n")
        assert.strictEqual((yield* server.counters).usersMe, before + 1)
        const json = JSON.parse((yield* run(["whoami", "--json"])).stdout) as Record<string, unknown>
        assert.strictEqual(json.email, email)
      }))

    it.scoped("status --json: every site with its state; exit 1 while one needs a login", () =>
      Effect.gen(function*() {
        const { home, run, server } = yield* setup
        Cli.writeConfig(home, siteConfig(server.url, `\n[sites.other]\nprovider = "anaplan"\nemail = "x@example.com"\nstorage = "file"\n`))
        assert.strictEqual((yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })).code, 0)
        const out = yield* run(["status", "--json"])
        assert.strictEqual(out.code, 1, "other is not logged in")
        const body = JSON.parse(out.stdout) as { sites: ReadonlyArray<Record<string, unknown>> }
        assert.deepStrictEqual(body.sites.map((s) => [s.site, s.provider, s.method, s.state, s.default]), [
          ["emu", "anaplan", "basic", "logged in", true],
          ["other", "anaplan", "basic", "not logged in", false]
        ])
        const emu = body.sites[0]
        assert.isTrue(typeof emu.expires_in_seconds === "number" && emu.expires_in_seconds > 30 * 60)
        assert.match(String(emu.storage), /^file .*credentials\.json$/)
        // With only logged-in sites, status succeeds; the human table names the site and its state.
        Cli.writeConfig(home, siteConfig(server.url))
        const human = yield* run(["status"])
        assert.strictEqual(human.code, 0, human.stderr)
        assert.match(human.stdout, /\* emu\s+anaplan\s+basic\s+logged in\s+3\dm/)
      }))

    it.scoped("exec runs the command with the token in its environment and exits with its code", () =>
      Effect.gen(function*() {
        const { home, run } = yield* setup
        const token = (yield* run(["token"], { EFFECT_AUTH_PASSWORD: password })).stdout.trim()
        const seen = Path.join(home.dir, "seen.txt")
        const out = yield* run([
          "exec",
          "--",
          "sh",
          "-c",
          `printf '%s\\n%s\\n' "$EFFECT_AUTH_TOKEN" "$ANAPLAN_AUTH_TOKEN" > ${seen}; echo child-out; exit 7`
        ])
        assert.strictEqual(out.code, 7, out.stderr)
        assert.strictEqual(out.stdout, "child-out\n", "stdio is inherited")
        assert.strictEqual(out.stderr, "")
        assert.deepStrictEqual(Fs.readFileSync(seen, "utf8").split("\n"), [token, token, ""])
        assert.strictEqual((yield* run(["exec", "--", "true"])).code, 0)
        const missing = yield* run(["exec", "--", "no-such-command-xyz"])
        assert.strictEqual(missing.code, 1)
        assert.match(missing.stderr, /^error: Cannot run no-such-command-xyz: command not found/)
      }))

    it.scoped("exec forwards SIGTERM to the child and exits with its code", () =>
      Effect.gen(function*() {
        const { home, run } = yield* setup
        assert.strictEqual((yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })).code, 0)
        const bin = yield* Cli.bundle
        const marker = Path.join(home.dir, "got-term")
        const proc = spawn(process.execPath, [
          bin,
          "exec",
          "--",
          "sh",
          "-c",
          `trap 'touch ${marker}; exit 42' TERM; echo ready; while true; do sleep 0.1; done`
        ], { env: home.env, stdio: ["ignore", "pipe", "pipe"] })
        yield* Effect.addFinalizer(() => Effect.sync(() => proc.kill("SIGKILL")))
        yield* Effect.promise(() =>
          new Promise<void>((resolve) => proc.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve()))
        )
        proc.kill("SIGTERM")
        const code = yield* Effect.promise(() => new Promise<number | null>((resolve) => proc.on("close", (c) => resolve(c))))
        assert.isTrue(Fs.existsSync(marker), "the child got SIGTERM")
        assert.strictEqual(code, 42)
      }))

    it.scoped("logout revokes upstream, removes the entry and says so", () =>
      Effect.gen(function*() {
        const { home, run, server } = yield* setup
        assert.strictEqual((yield* run(["login"], { EFFECT_AUTH_PASSWORD: password })).code, 0)
        const before = yield* server.counters
        const out = yield* run(["logout"])
        assert.strictEqual(out.code, 0, out.stderr)
        assert.match(out.stdout, /^Logged out of emu: the token was revoked upstream and removed from file /)
        assert.strictEqual((yield* server.counters).logout, before.logout + 1)
        const file = Fs.readFileSync(Path.join(home.state, "effect-auth", "credentials.json"), "utf8")
        assert.notInclude(file, "emu/demo@example.com")
        const again = yield* run(["logout"])
        assert.match(again.stdout, /^Not logged in to emu/)
        assert.strictEqual((yield* run(["status"])).code, 1)
      }))

    it.scoped("logout --all logs out of every site", () =>
      Effect.gen(function*() {
        const { home, run, server } = yield* setup
        Cli.writeConfig(
          home,
          siteConfig(server.url, `\n[sites.second]\nprovider = "anaplan"\nemail = "${email}"\nauth_url = "${server.url}"\nstorage = "file"\n`)
        )
        for (const site of ["emu", "second"]) {
          assert.strictEqual((yield* run(["login", "--at", site], { EFFECT_AUTH_PASSWORD: password })).code, 0)
        }
        const before = yield* server.counters
        const out = yield* run(["logout", "--all", "--json"])
        assert.strictEqual(out.code, 0, out.stderr)
        const outcomes = JSON.parse(out.stdout) as ReadonlyArray<{ site: string; was_logged_in: boolean; revoked: boolean }>
        assert.deepStrictEqual(outcomes.map((o) => [o.site, o.was_logged_in, o.revoked]), [
          ["emu", true, true],
          ["second", true, true]
        ])
        assert.strictEqual((yield* server.counters).logout, before.logout + 2)
        const status = JSON.parse((yield* run(["status", "--json"])).stdout) as { sites: ReadonlyArray<{ state: string }> }
        assert.deepStrictEqual(status.sites.map((s) => s.state), ["not logged in", "not logged in"])
      }))
  })

  describe("command line", () => {
    it.scoped("global options work before and after the subcommand", () =>
      Effect.gen(function*() {
        const { run } = yield* setup
        const env = { EFFECT_AUTH_PASSWORD: password }
        for (
          const args of [
            ["--json", "--at", "emu", "token"],
            ["token", "--at", "emu", "--json"],
            ["--at", "emu", "token", "--json"]
          ]
        ) {
          const out = yield* run(args, env)
          assert.strictEqual(out.code, 0, `${args.join(" ")}: ${out.stderr}`)
          assert.strictEqual((JSON.parse(out.stdout) as { site: string }).site, "emu", args.join(" "))
        }
        for (const args of [["--at", "nowhere", "token"], ["token", "--at", "nowhere"]]) {
          const out = yield* run(args, env)
          assert.strictEqual(out.code, 1, args.join(" "))
          assert.match(out.stderr, /^error: There is no site named "nowhere".*\nhint: /)
        }
      }))

    it.scoped("a broken config file: its path, line and column, exit 1, for every command", () =>
      Effect.gen(function*() {
        const { home, run } = yield* setup
        Cli.writeConfig(home, "[sites.emu]\nprovider = \"anaplan\"\nemail = \n")
        for (const command of [["token"], ["status"], ["sites", "list"]]) {
          const out = yield* run(command)
          assert.strictEqual(out.code, 1, command.join(" "))
          assert.strictEqual(out.stdout, "")
          assert.include(out.stderr, `error: ${home.config}:3:`)
        }
      }))

    it.scoped("usage errors exit 2; --version and --help exit 0", () =>
      Effect.gen(function*() {
        const { run } = yield* setup
        assert.strictEqual((yield* run(["token", "--no-such-flag"])).code, 2)
        assert.strictEqual((yield* run(["no-such-command"])).code, 2)
        assert.strictEqual((yield* run(["exec"])).code, 2)
        const manifest = JSON.parse(
          Fs.readFileSync(Path.join(import.meta.dirname, "..", "package.json"), "utf8")
        ) as { version: string }
        const version = yield* run(["--version"])
        assert.strictEqual(version.code, 0)
        assert.strictEqual(version.stdout.trim(), manifest.version)
        const help = yield* run(["--help"])
        assert.strictEqual(help.code, 0)
        for (const command of ["login", "logout", "token", "whoami", "status", "exec", "sites"]) {
          assert.include(help.stdout, command)
        }
      }))
  })

  describe("sites", () => {
    it.scoped("add, modify and remove keep comments; without a terminal they need --yes", () =>
      Effect.gen(function*() {
        const { home, run } = yield* setup
        const original = Fs.readFileSync(home.config, "utf8")
        const refused = yield* run(["sites", "add", "prod", "--provider", "anaplan", "--email", "me@example.com"])
        assert.strictEqual(refused.code, 2)
        assert.match(refused.stderr, /hint: Pass --yes/)
        assert.strictEqual(Fs.readFileSync(home.config, "utf8"), original, "nothing written")

        const added = yield* run(["sites", "add", "prod", "--provider", "anaplan", "--email", "me@example.com", "--yes"])
        assert.strictEqual(added.code, 0, added.stderr)
        assert.include(added.stdout, "+[sites.prod]")
        const afterAdd = Fs.readFileSync(home.config, "utf8")
        assert.isTrue(afterAdd.startsWith(original.trimEnd()), "the existing text is kept byte for byte")
        assert.include(afterAdd, "# my sites")
        assert.include(afterAdd, "[sites.emu] # the emulator")

        const modified = yield* run(["sites", "modify", "prod", "--email", "you@example.com", "--yes"])
        assert.strictEqual(modified.code, 0, modified.stderr)
        assert.include(modified.stdout, "-email = \"me@example.com\"")
        assert.include(modified.stdout, "+email = \"you@example.com\"")
        const list = JSON.parse((yield* run(["sites", "list", "--json"])).stdout) as {
          sites: ReadonlyArray<{ name: string; default: boolean }>
        }
        assert.deepStrictEqual(list.sites.map((s) => [s.name, s.default]), [["emu", true], ["prod", false]])

        const refusedDefault = yield* run(["sites", "remove", "emu", "--yes"])
        assert.strictEqual(refusedDefault.code, 1)
        assert.match(refusedDefault.stderr, /--new-default|--force/)
        const removed = yield* run(["sites", "remove", "prod", "--yes"])
        assert.strictEqual(removed.code, 0, removed.stderr)
        assert.strictEqual(Fs.readFileSync(home.config, "utf8").trimEnd(), original.trimEnd())
      }))

    it.scoped("sites add creates a missing config file (private) and --default names the default site", () =>
      Effect.gen(function*() {
        const { home, run, server } = yield* setup
        Fs.rmSync(Path.dirname(home.config), { recursive: true })
        const out = yield* run(["sites", "add", "first", "--provider", "anaplan", "--email", email, "--auth-url", server.url, "--api-url", server.url, "--storage", "file", "--default", "--yes"])
        assert.strictEqual(out.code, 0, out.stderr)
        assert.strictEqual(Fs.statSync(home.config).mode & 0o077, 0, "not readable by others")
        const list = JSON.parse((yield* run(["sites", "list", "--json"])).stdout) as { default_site: string }
        assert.strictEqual(list.default_site, "first")
        const token = yield* run(["token"], { EFFECT_AUTH_PASSWORD: password })
        assert.strictEqual(token.code, 0, token.stderr)
        yield* validate(token.stdout.trim())
      }))

    it.scoped("show prints the resolved site with secrets as (set); a secret in the file draws a warning", () =>
      Effect.gen(function*() {
        const { home, run, server } = yield* setup
        Cli.writeConfig(home, siteConfig(server.url, `password = "${password}"\n`))
        const out = yield* run(["sites", "show", "emu"])
        assert.strictEqual(out.code, 0, out.stderr)
        assert.match(out.stdout, /password\s+\(set\)/)
        assert.match(out.stdout, /email\s+demo@example\.com/)
        assert.match(out.stderr, /^warning: .*password/)
        noSecretIn(out.stdout + out.stderr, "sites show")
        const json = yield* run(["sites", "show", "--json"], { EFFECT_AUTH_PASSWORD: "from-env-secret" })
        assert.strictEqual((JSON.parse(json.stdout) as Record<string, unknown>).password, "(set)")
        assert.notInclude(json.stdout + json.stderr, "from-env-secret")
      }))
  })

  describe("terminal", () => {
    it.scoped.skipIf(!Cli.runTerminalTests)("login on a terminal asks for the password without echoing it", () =>
      Effect.gen(function*() {
        const { home, server } = yield* setup
        const before = yield* server.counters
        const term = yield* Cli.terminal(["login"], { env: home.env })
        yield* term.waitFor(/Password for demo@example\.com/)
        yield* term.type(password, { enter: true })
        const screen = yield* term.waitFor(/Logged in to emu as demo@example\.com/)
        assert.strictEqual(yield* term.exitCode(), 0)
        assert.notInclude(screen, password, "the password is not echoed")
        assert.strictEqual((yield* server.counters).authenticate, before.authenticate + 1)
      }))

    it.scoped.skipIf(!Cli.runTerminalTests)("token on a terminal without a login asks to log in now, then prints the token", () =>
      Effect.gen(function*() {
        const { home } = yield* setup
        const term = yield* Cli.terminal(["token"], { env: home.env })
        yield* term.waitFor(/No usable login for emu\. Log in now\?/)
        yield* term.type("y")
        yield* term.waitFor(/Password for demo@example\.com/)
        yield* term.type(password, { enter: true })
        assert.strictEqual(yield* term.exitCode(), 0)
        const screen = yield* term.screen
        assert.notInclude(screen, password)
        const token = screen.split("\n").map((l) => l.trim()).filter((l) => /^[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/.test(l))
        assert.strictEqual(token.length, 1, screen)
        yield* validate(token[0])
      }))

    it.scoped.skipIf(!Cli.runTerminalTests)("$(effect-auth token) asks on the terminal and stdout keeps the token; an empty password is asked again, never sent", () =>
      Effect.gen(function*() {
        const { home, server } = yield* setup
        const before = yield* server.counters
        const bin = yield* Cli.bundle
        const script = Path.join(home.dir, "captured.sh")
        Fs.writeFileSync(script, `T=$(${Cli.quote(process.execPath)} ${Cli.quote(bin)} token); echo "captured=[$T]"\n`)
        const term = yield* Cli.session(`sh ${Cli.quote(script)}`, { env: home.env })
        yield* term.waitFor(/No usable login for emu\. Log in now\?/)
        yield* term.type("y")
        yield* term.waitFor(/Password for demo@example\.com/)
        yield* term.press("Enter")
        yield* term.waitFor(/Nothing typed; try again \(2 more\)/)
        assert.strictEqual((yield* server.counters).authenticate, before.authenticate, "no empty password is sent")
        yield* term.type(password, { enter: true })
        const screen = yield* term.waitFor(/captured=\[[^\]]*\]/)
        assert.strictEqual(yield* term.exitCode(), 0)
        assert.notInclude(screen, password)
        const captured = /captured=\[([^\]]*)\]/.exec(screen)?.[1] ?? ""
        assert.match(captured, /^[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/, "stdout holds the token alone")
        yield* validate(captured)
        assert.strictEqual((yield* server.counters).authenticate, before.authenticate + 1)
      }))

    it.scoped.skipIf(!Cli.runTerminalTests)("three empty answers to the password prompt end the login without sending anything", () =>
      Effect.gen(function*() {
        const { home, server } = yield* setup
        const before = yield* server.counters
        const term = yield* Cli.terminal(["login"], { env: home.env })
        for (const left of ["2 more", "1 more"]) {
          yield* term.waitFor(/Password for demo@example\.com/)
          yield* term.press("Enter")
          yield* term.waitFor(new RegExp(`try again \\(${left}\\)`))
        }
        yield* term.press("Enter")
        const code = yield* term.exitCode()
        const screen = yield* term.screen
        assert.notStrictEqual(code, 0)
        assert.match(screen, /error: .*Nothing was typed.*3 tries.*nothing was sent/)
        assert.strictEqual((yield* server.counters).authenticate, before.authenticate)
      }))
  })
})
