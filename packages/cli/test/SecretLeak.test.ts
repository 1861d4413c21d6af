/**
 * Secret-leak audit of the `effect-auth` command (issue 7): every command, with `--verbose` and
 * with `--json` where it has one, on a basic site (EFFECT_AUTH_PASSWORD), a certificate site (an
 * encrypted key and EFFECT_AUTH_PRIVATE_KEY_PASSPHRASE) and an OAuth refresh_token site (a client
 * secret in the config file, EFFECT_AUTH_REFRESH_TOKEN), plus the failures a user meets (wrong
 * password, wrong passphrase, a spent refresh token, a token the API rejects, a broken config file
 * with a secret on the broken line). Every request goes through a real proxy (tinyproxy) that wants
 * Basic credentials, given in `HTTP_PROXY` (`http://user:password@host:port`); a proxy without
 * them and one that is down (its URL with a password) are among the failures.
 *
 * The scenario runs twice against one Anaplan emulator: as the shipped binary in real processes
 * (stdout and stderr captured), and in this process through `Cli.main` with a recording tracer and
 * a Debug logger (every log line, span attribute and failure captured). No secret of the run may
 * appear anywhere, except an access token on the stdout of `token` and `token --json`.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as AnaplanOAuth from "@effect-auth/anaplan/AnaplanOAuth"
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as TestCertificates from "@effect-auth/anaplan/TestCertificates"
import * as SecretAudit from "@effect-auth/core/SecretAudit"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Network from "../../core/test/support/network.js"
import * as CliMain from "../src/Cli.js"
import * as Cli from "./support/cli.js"

const demo = AnaplanAuthServer.demoUser
const password = demo.password ?? "demo-password"
const wrongPassword = "not-the-password-7c1e"
const wrongPassphrase = "not-the-passphrase-7c1e"
const brokenLineSecret = "broken-line-secret-5d2b9a"
// tinyproxy takes letters, digits and a few marks in a password; the wrong one has characters a URL escapes.
const proxyCredentials = { user: "leak-proxy-user", password: "leak-pr0xy-pass-7f3e" }
const wrongProxyPassword = "not-the-proxy@pass/2b7d"
const client = {
  clientId: "leak-cli-client",
  clientSecret: "leak-cli-client-secret-93f0",
  redirectUris: ["https://app.example.com/callback"]
}

type Mode = "process" | "in-process"

/** One command of the scenario, as it ran. */
interface Run {
  readonly mode: Mode
  readonly args: ReadonlyArray<string>
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** `token` and `token --json` are the only commands whose stdout may carry an access token. */
const printsToken = (args: ReadonlyArray<string>): boolean => {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--at" || args[i] === "--config") i++
    else if (!args[i].startsWith("-")) return args[i] === "token"
  }
  return false
}

const config = (url: string, certs: TestCertificates.TestCertificates, extra = "") =>
  `# effect-auth leak audit
default_site = "basic"

[sites.basic]
provider = "anaplan"
email = "${demo.email}"
auth_url = "${url}"
api_url = "${url}"
storage = "file"

[sites.cert]
provider = "anaplan"
method = "certificate"
auth_url = "${url}"
api_url = "${url}"
certificate = "${certs.clientCertPath}"
private_key = "${certs.clientEncryptedKeyPath}"
storage = "file"

[sites.oauth]
provider = "anaplan"
method = "refresh_token"
client_id = "${client.clientId}"
client_secret = "${client.clientSecret}"
redirect_uri = "${client.redirectUris[0]}"
auth_url = "${url}"
api_url = "${url}"
oauth_url = "${url}"
storage = "file"
${extra}`

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
      email: demo.email,
      state: request.state,
      codeChallenge: url.searchParams.get("code_challenge") ?? undefined
    })
    const token = yield* oauth.fetchToken(redirect, request)
    return Redacted.value(Option.getOrThrow(token.refreshToken))
  }).pipe(Effect.orDie)

/** Every token field in the credentials file (entries are JSON, possibly JSON in a string). */
const storedTokens = (file: string): { readonly access: Array<string>; readonly refresh: Array<string> } => {
  const access: Array<string> = []
  const refresh: Array<string> = []
  const walk = (value: unknown, key: string | undefined): void => {
    if (typeof value === "string") {
      if (key === "accessToken") access.push(value)
      else if (key === "refreshToken" || key === "idToken") refresh.push(value) // id tokens count with them
      else if (value.startsWith("{")) {
        try {
          walk(JSON.parse(value), undefined)
        } catch {
          // not JSON: an ordinary string
        }
      }
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item, key)
    } else if (typeof value === "object" && value !== null) {
      for (const [k, v] of Object.entries(value)) walk(v, k)
    }
  }
  if (Fs.existsSync(file)) walk(JSON.parse(Fs.readFileSync(file, "utf8")), undefined)
  return { access, refresh }
}

/**
 * Runs `Cli.main` in this process with `env` as the whole environment, stdout and stderr (and
 * `console`, which Effect's `Console` writes to) captured, under the audit's logger and tracer.
 */
const runInProcess = (
  audit: SecretAudit.Audit,
  args: ReadonlyArray<string>,
  env: Record<string, string>
): Effect.Effect<Omit<Run, "mode" | "args">> => {
  let stdout = ""
  let stderr = ""
  const toText = (chunk: unknown) => typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString()
  const format = (values: ReadonlyArray<unknown>) => `${values.map((v) => typeof v === "string" ? v : JSON.stringify(v)).join(" ")}\n`
  return Effect.acquireUseRelease(
    Effect.sync(() => {
      const saved = { env: { ...process.env }, exitCode: process.exitCode }
      const out = process.stdout.write
      const err = process.stderr.write
      const { debug, error, info, log, warn } = console
      for (const key of Object.keys(process.env)) delete process.env[key]
      Object.assign(process.env, env)
      process.stdout.write = ((chunk: unknown) => (stdout += toText(chunk), true)) as typeof process.stdout.write
      process.stderr.write = ((chunk: unknown) => (stderr += toText(chunk), true)) as typeof process.stderr.write
      const toStdout = (...values: Array<unknown>) => void (stdout += format(values))
      const toStderr = (...values: Array<unknown>) => void (stderr += format(values))
      Object.assign(console, { debug: toStdout, error: toStderr, info: toStdout, log: toStdout, warn: toStderr })
      return () => {
        process.stdout.write = out
        process.stderr.write = err
        Object.assign(console, { debug, error, info, log, warn })
        for (const key of Object.keys(process.env)) delete process.env[key]
        Object.assign(process.env, saved.env)
        process.exitCode = saved.exitCode
      }
    }),
    () =>
      CliMain.main(["node", "effect-auth", ...args]).pipe(
        Effect.provide(audit.layer),
        Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`effect-auth ${args.join(" ")} timed out`) }),
        Effect.orDie
      ),
    (restore) => Effect.sync(restore)
  ).pipe(Effect.map((code) => ({ code, stdout, stderr })))
}

describe("secret-leak audit: effect-auth", () => {
  it.scopedLive("no secret in any command's output, log, span or error, except the token on token's stdout", () => {
    const audit = SecretAudit.make()
    const runs: Array<Run> = []
    const accessTokens = new Set<string>()
    const refreshTokens = new Set<string>()
    const permissionProblems: Array<string> = []
    const control: Array<string> = []

    return Effect.gen(function*() {
      const dir = yield* Cli.home
      const certs = yield* TestCertificates.generate(dir.dir).pipe(Effect.orDie)
      const passphrase = Redacted.value(certs.passphrase)
      // The emulator is the harness, not the CLI: its spans stay out of the audit.
      const server = yield* AnaplanAuthServer.make({ trustedCaPem: certs.caPem, oauthClients: [client] }).pipe(
        Effect.withTracerEnabled(false),
        Effect.orDie
      )
      yield* Cli.bundle
      const proxy = yield* Network.proxy(proxyCredentials)

      const scenario = (mode: Mode) =>
        Effect.gen(function*() {
          const home = yield* Cli.home
          const refreshToken = yield* refreshTokenFor(server)
          refreshTokens.add(refreshToken)
          Cli.writeConfig(home, config(server.url, certs))
          const credentials = Path.join(home.state, "effect-auth", "credentials.json")
          // The emulator is plain http on 127.0.0.1: HTTP_PROXY is the variable that applies.
          const proxied = { ...home.env, HTTP_PROXY: proxy.urlWithCredentials }
          const base = mode === "in-process" ? { ...proxied, EFFECT_AUTH_NO_PROMPT: "1" } : proxied

          const run = (args: ReadonlyArray<string>, env: Record<string, string>, expected: number) =>
            Effect.gen(function*() {
              const all = { ...base, ...env }
              const done = mode === "process"
                ? yield* Cli.run(args, { env: all })
                : yield* runInProcess(audit, args, all)
              runs.push({ mode, args, code: done.code, stdout: done.stdout, stderr: done.stderr })
              const what = `${mode}: effect-auth ${args.join(" ")}`
              assert.strictEqual(done.code, expected, `${what}:\n${done.stdout}\n${done.stderr}`)
              // stdout is the command's output only: logs (--verbose) go to stderr
              if (args.includes("--json") && done.stdout !== "") {
                try {
                  JSON.parse(done.stdout)
                } catch {
                  assert.fail(`${what}: stdout is not one JSON document:\n${done.stdout}`)
                }
              }
              const stored = storedTokens(credentials)
              stored.access.forEach((token) => accessTokens.add(token))
              stored.refresh.forEach((token) => refreshTokens.add(token))
              if (printsToken(args) && done.code !== 0) assert.strictEqual(done.stdout, "", `${what}: nothing on stdout`)
              if (printsToken(args) && done.code === 0 && !args.includes("--json")) {
                assert.match(done.stdout, /^[^\s]+\n$/, `${what}: one line, the token`)
              }
              if (printsToken(args) && done.code === 0) {
                const printed = args.includes("--json")
                  ? String((JSON.parse(done.stdout) as { token: string }).token)
                  : done.stdout.trimEnd()
                accessTokens.add(printed)
              }
              return done
            })
          const loggedIn = (what: string) =>
            Effect.sync(() => {
              const fileMode = Fs.statSync(credentials).mode & 0o777
              const dirMode = Fs.statSync(Path.dirname(credentials)).mode & 0o777
              if (fileMode !== 0o600 || dirMode !== 0o700) {
                permissionProblems.push(`${mode} ${what}: file ${fileMode.toString(8)}, directory ${dirMode.toString(8)}`)
              }
            })
          const pw = { EFFECT_AUTH_PASSWORD: password }
          const pp = { EFFECT_AUTH_PRIVATE_KEY_PASSPHRASE: passphrase }
          const rt = { EFFECT_AUTH_REFRESH_TOKEN: refreshToken }
          const v = "--verbose"
          const j = "--json"

          // sites, with a client secret in the file (and a password in the environment)
          for (const args of [["sites", "list"], ["sites", "show"], ["sites", "show", "cert"], ["sites", "show", "oauth"]]) {
            yield* run([...args, v], pw, 0)
            yield* run([...args, v, j], pw, 0)
          }
          const extra = ["--provider", "anaplan", "--email", demo.email, "--auth-url", server.url, "--storage", "file"]
          yield* run(["sites", "add", "extra", ...extra, "--yes", v], pw, 0)
          yield* run(["sites", "modify", "extra", "--email", "other@example.com", "--yes", v], pw, 0)
          yield* run(["sites", "modify", "extra", "--email", demo.email, "--yes", v, j], pw, 0)
          yield* run(["sites", "show", "extra", v, j], pw, 0)
          yield* run(["sites", "remove", "extra", "--yes", v], {}, 0)
          yield* run(["sites", "add", "extra", ...extra, "--yes", v, j], {}, 0)
          yield* run(["sites", "remove", "extra", "--yes", v, j], {}, 0)
          yield* run(["status", v], {}, 1)
          yield* run(["status", v, j], {}, 1)

          // logins that issue 12 s tokens, so that the token right after is a refresh (and the
          // OAuth refresh token rotates)
          const logins = [
            ["basic", ["login", v], pw],
            ["cert", ["login", "--at", "cert", v], pp],
            ["oauth", ["login", "--at", "oauth", v, j], rt]
          ] as const
          const before = yield* server.counters
          for (const [site, login, env] of logins) {
            yield* server.setTokenLifetime("12 seconds")
            yield* run(login, env, 0)
            yield* server.setTokenLifetime(AnaplanAuthServer.defaultTokenLifetime)
            yield* loggedIn(`login ${site}`)
            yield* run(["token", "--at", site, v], {}, 0)
            yield* run(["token", "--at", site, v, j], {}, 0)
            yield* run(["whoami", "--at", site, v], {}, 0)
            yield* run(["whoami", "--at", site, v, j], {}, 0)
          }
          const after = yield* server.counters
          assert.strictEqual(after.refresh - before.refresh, 2, `${mode}: basic and cert tokens were refreshed`)
          assert.strictEqual(after.oauthToken - before.oauthToken, 2, `${mode}: the OAuth login and one refresh`)
          yield* run(["login", "--at", "basic", v, j], pw, 0)
          yield* run(["login", "--at", "basic", "--force", v, j], pw, 0)
          yield* loggedIn("login --force basic")
          const passwordFile = Path.join(home.dir, "password.txt")
          Fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 })
          yield* run(["login", "--at", "basic", "--force", v], { EFFECT_AUTH_PASSWORD_FILE: passwordFile }, 0)
          yield* loggedIn("login --force basic, password from a file")
          yield* run(["status", v], {}, 0)
          yield* run(["status", v, j], {}, 0)
          const child = ["node", "-e", "console.log(process.env.EFFECT_AUTH_TOKEN ? 'set' : 'unset')"]
          for (const site of ["basic", "oauth"]) {
            const exec = yield* run(["exec", "--at", site, v, "--", ...child], {}, 0)
            if (mode === "process") assert.strictEqual(exec.stdout, "set\n")
          }
          if (mode === "process") {
            // The control: a child that does print the token. Its output is audited apart, and must
            // be reported.
            const leaky = yield* Cli.run(["exec", "--at", "basic", v, "--", "node", "-e", "console.log(process.env.EFFECT_AUTH_TOKEN)"], {
              env: base
            })
            assert.strictEqual(leaky.code, 0, leaky.stderr)
            control.push(leaky.stdout)
          }

          // failures
          for (const args of [["login", "--force", v], ["login", "--force"], ["login", "--force", v, j]]) {
            yield* run(args, { EFFECT_AUTH_PASSWORD: wrongPassword }, 4)
          }
          for (const args of [["login", "--at", "cert", "--force", v], ["login", "--at", "cert", "--force", v, j]]) {
            yield* run(args, { EFFECT_AUTH_PRIVATE_KEY_PASSPHRASE: wrongPassphrase }, 1)
          }
          // no proxy credentials (407), a proxy that is down (its URL with a password)
          yield* run(["login", "--force", v, j], { ...pw, HTTP_PROXY: proxy.url }, 1)
          const deadProxy = `http://${proxyCredentials.user}:${encodeURIComponent(wrongProxyPassword)}@127.0.0.1:9`
          yield* run(["login", "--force", v], { ...pw, HTTP_PROXY: deadProxy }, 1)
          // the first refresh token was spent at the first `token --at oauth`
          yield* run(["login", "--at", "oauth", "--force", v], rt, 4)
          yield* run(["login", "--at", "cert", "--force", v], pp, 0)
          yield* loggedIn("login --force cert")
          yield* server.expireAllTokens
          for (const site of ["basic", "cert"]) {
            yield* run(["whoami", "--at", site, v], {}, 4)
            yield* run(["whoami", "--at", site, v, j], {}, 4)
            yield* run(["whoami", "--at", site], {}, 4)
          }
          yield* run(["exec", "--at", "basic", v, "--", ...child], {}, 0)

          // a broken config file, a secret on the broken line
          Cli.writeConfig(home, config(server.url, certs, `password = "${brokenLineSecret}\n`))
          for (const args of [["token"], ["status"], ["sites", "list"], ["sites", "show"], ["login"], ["whoami"]]) {
            yield* run([...args, v], pw, 1)
            yield* run([...args, v, j], pw, 1)
          }
          Cli.writeConfig(home, config(server.url, certs, `client_secret = "${brokenLineSecret}" # a comment\nclient_secret = "${brokenLineSecret}"\n`))
          for (const args of [["token", "--at", "oauth"], ["sites", "show", "oauth"]]) {
            yield* run([...args, v], {}, 1)
            yield* run([...args, v, j], {}, 1)
          }
          Cli.writeConfig(home, config(server.url, certs))

          // logouts: one with a token the service already dropped, then a live one, then all
          yield* run(["logout", "--at", "cert", v], {}, 0)
          yield* run(["login", "--at", "basic", "--force", v], pw, 0)
          yield* run(["logout", v, j], {}, 0)
          yield* run(["login", "--at", "basic", "--force", v], pw, 0)
          yield* run(["logout", "--all", v], {}, 0)
          yield* run(["logout", "--all", v, j], {}, 0)
          yield* run(["status", v, j], {}, 1)
          // token and exec logging in with what the environment gives, wrongly
          for (const command of [["token"], ["token", j], ["exec", "--", "true"]]) {
            yield* run(["--at", "basic", v, ...command], { EFFECT_AUTH_PASSWORD: wrongPassword }, 4)
            yield* run(["--at", "cert", v, ...command], { EFFECT_AUTH_PRIVATE_KEY_PASSPHRASE: wrongPassphrase }, 1)
          }
        })

      yield* Effect.scoped(scenario("process"))
      yield* Effect.scoped(scenario("in-process"))

      // every secret of the run
      const secrets: Array<SecretAudit.Secret> = [
        { name: "the password", value: password },
        { name: "the Basic credentials", value: Buffer.from(`${demo.email}:${password}`).toString("base64") },
        { name: "a wrong password", value: wrongPassword },
        { name: "the passphrase", value: passphrase },
        { name: "a wrong passphrase", value: wrongPassphrase },
        { name: "the encrypted private key", value: Fs.readFileSync(certs.clientEncryptedKeyPath, "utf8") },
        { name: "the private key", value: Fs.readFileSync(certs.clientKeyPath, "utf8") },
        { name: "the client secret", value: client.clientSecret },
        { name: "the secret on a broken config line", value: brokenLineSecret },
        ...[proxyCredentials.password, wrongProxyPassword].flatMap((secret, i) => {
          const name = i === 0 ? "the proxy password" : "a wrong proxy password"
          return [
            { name, value: secret },
            { name: `${name} (URL-encoded)`, value: encodeURIComponent(secret) },
            { name: `${name} (Basic)`, value: Buffer.from(`${proxyCredentials.user}:${secret}`).toString("base64") }
          ]
        }),
        ...[...refreshTokens].map((value, i) => ({ name: `refresh token #${i + 1}`, value }))
      ]
      const tokens = [...accessTokens].map((value, i) => ({ name: `access token #${i + 1}`, value }))

      // Everything but token's stdout may hold no secret; token's stdout may hold an access token only.
      const tokenOutput = SecretAudit.make()
      for (const [i, done] of runs.entries()) {
        const label = `${done.mode} #${i + 1} effect-auth ${done.args.join(" ")}`
        audit.record(`${label}: stderr`, done.stderr)
        if (printsToken(done.args)) tokenOutput.record(`${label}: stdout`, done.stdout)
        else audit.record(`${label}: stdout`, done.stdout)
      }
      const leaks = [...audit.leaks([...secrets, ...tokens]), ...tokenOutput.leaks(secrets)]

      const captured = audit.captured()
      const logs = captured.filter((c) => c.label === "log").length
      const spans = captured.filter((c) => c.label.startsWith("span ")).length
      const tokenRuns = runs.filter((r) => printsToken(r.args) && r.code === 0)
      // eslint-disable-next-line no-console
      console.log(
        `secret-leak audit: ${runs.length} commands (${runs.filter((r) => r.mode === "process").length} processes, ` +
          `${runs.filter((r) => r.mode === "in-process").length} in process), ${runs.filter((r) => r.code !== 0).length} failing; ` +
          `${logs} debug log lines and ${spans} spans captured; ${secrets.length + tokens.length} secrets checked ` +
          `(${tokens.length} access tokens, ${refreshTokens.size} refresh tokens); ${leaks.length} leaks`
      )

      // the audit saw what it was meant to see
      assert.isAtLeast(logs, 5, "Debug logs were captured")
      for (const name of ["AnaplanAuth.authenticate", "AnaplanAuth.refresh", "AnaplanAuth.whoami", "AnaplanAuth.logout", "TokenStore.save"]) {
        assert.isTrue(captured.some((c) => c.label === `span ${name}`), `a ${name} span was captured`)
      }
      assert.isAtLeast(refreshTokens.size, 4, "the initial and the rotated refresh tokens of both scenarios")
      assert.isAtLeast(accessTokens.size, 12)
      assert.strictEqual(tokenRuns.length, 12)
      for (const done of tokenRuns) {
        const printed = done.args.includes("--json")
          ? (JSON.parse(done.stdout) as { token: string }).token
          : done.stdout.trimEnd()
        assert.isTrue(accessTokens.has(printed), "token printed an access token")
        assert.include(
          tokenOutput.leaks(tokens),
          `${done.mode} #${runs.indexOf(done) + 1} effect-auth ${done.args.join(" ")}: stdout contains ${
            tokens.find((t) => t.value === printed)?.name
          }`,
          "the audit finds the token where it is allowed"
        )
      }
      const controlAudit = SecretAudit.make()
      controlAudit.record("control: exec -- node -e console.log(EFFECT_AUTH_TOKEN)", control.join(""))
      const caught = controlAudit.leaks([...secrets, ...tokens])
      assert.strictEqual(caught.length, 1, "the audit catches a token a real process printed")
      assert.match(caught[0], /^control: .* contains access token #\d+$/)
      assert.deepStrictEqual(permissionProblems, [], "credentials file 0600 in a 0700 directory after each login")
      assert.isAtLeast(proxy.requests().length, 40, "the commands went through the proxy")
      assert.deepStrictEqual(leaks, [])
    }).pipe(Effect.provide(Layer.merge(NodeHttpClient.layerUndici, NodeContext.layer)))
  }, { timeout: 300_000 })

  it("the audit can fail: a secret in a command's output is reported by name, never by value", () => {
    const audit = SecretAudit.make()
    const secret = "s3cr3t-refresh-token-value"
    audit.record("process #1 effect-auth whoami --verbose: stderr", `debug: refreshing with ${secret}\n`)
    audit.record("process #2 effect-auth status: stdout", "basic  anaplan  basic  logged in\n")
    const leaks = audit.leaks([{ name: "refresh token #1", value: Redacted.make(secret) }])
    assert.deepStrictEqual(leaks, ["process #1 effect-auth whoami --verbose: stderr contains refresh token #1"])
    assert.notInclude(leaks.join(" "), secret)
    assert.isTrue(printsToken(["token", "--at", "x", "--json"]))
    assert.isFalse(printsToken(["--at", "token", "whoami"]))
  })
})
