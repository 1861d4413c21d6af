/**
 * `npm run demo`: effect-auth against a local Anaplan emulator, no Anaplan account needed.
 *
 * Starts the emulator with a throw-away test CA, logs in with a password and with a certificate,
 * validates the token, asks who is logged in, refreshes, shows 100 concurrent requests sharing one
 * login, and logs out; then does the same from a shell with the `effect-auth` command (in a
 * throw-away HOME). Tokens are never printed.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Token from "@effect-auth/core/Token"
import { TokenSource } from "@effect-auth/core/TokenSource"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as AnaplanAuth from "../src/AnaplanAuth.js"
import * as AnaplanAuthServer from "../src/AnaplanAuthServer.js"
import * as AnaplanClient from "../src/AnaplanClient.js"
import * as TestCertificates from "../src/TestCertificates.js"
import { execFile } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const expiry = (token: Token.Token): string =>
  Option.match(token.expiresAt, { onNone: () => "never", onSome: DateTime.formatIso })

/** Builds the auth layer and an AnaplanClient over it in the current scope. */
const connect = <E>(auth: Layer.Layer<TokenSource, E, HttpClient.HttpClient>, apiUrl: string) =>
  Effect.map(
    Layer.build(Layer.provideMerge(AnaplanClient.layer({ apiUrl }), auth)),
    (context) => ({ source: Context.get(context, TokenSource), client: Context.get(context, AnaplanClient.AnaplanClient) })
  )

const loggedOut = (server: AnaplanAuthServer.AnaplanAuthServer.Service) =>
  Effect.gen(function*() {
    const { logout } = yield* server.counters
    const active = yield* server.activeTokens
    yield* Console.log(`  logout:   closing the layer logged the token out (logouts so far: ${logout}, active tokens: ${active})\n`)
  })

/** The `effect-auth` command from source (no build needed), in a throw-away HOME, without a terminal. */
const cliBin = fileURLToPath(new URL("../../cli/src/bin.ts", import.meta.url))

const effectAuth = (home: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.async<string, Error>((resume) => {
    execFile(
      process.execPath,
      ["--conditions=source", "--import", "tsx", cliBin, ...args],
      {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: home,
          XDG_CONFIG_HOME: Path.join(home, "config"),
          XDG_STATE_HOME: Path.join(home, "state"),
          ...env
        }
      },
      (error, stdout, stderr) =>
        resume(
          error === null
            ? Effect.succeed(stdout)
            : Effect.fail(new Error(`effect-auth ${args[0]} failed (exit ${String(error.code)}): ${stderr.trim()}`))
        )
    )
  })

const shell = (command: string, output: string) =>
  Console.log(`  $ ${command}\n${output.trimEnd().split("\n").map((line) => `    ${line}`).join("\n")}`)

const program = Effect.gen(function*() {
  const started = yield* Clock.currentTimeMillis
  const fs = yield* FileSystem.FileSystem
  const certs = yield* TestCertificates.generate(yield* fs.makeTempDirectoryScoped({ prefix: "effect-auth-demo-" }))
  const server = yield* AnaplanAuthServer.make({ trustedCaPem: certs.caPem })
  const demo = AnaplanAuthServer.demoUser
  yield* Console.log(`Anaplan emulator running at ${server.url} (a local stand-in for auth.anaplan.com and api.anaplan.com)\n`)

  // 1. Basic authentication: email and password.
  yield* Effect.scoped(Effect.gen(function*() {
    const { client, source } = yield* connect(
      AnaplanAuth.layerBasic({ email: demo.email, password: Redacted.make(demo.password!), authUrl: server.url }),
      server.url
    )
    const token = yield* source.get
    const validation = yield* AnaplanAuth.validate(token, { authUrl: server.url })
    yield* Console.log(`Logged in as ${validation.email} (basic, from /token/validate), token expires at ${expiry(token)}`)
    yield* Console.log(`  validate: Anaplan accepts the token (user ${validation.userGuid ?? "?"}, customer ${validation.customerGuid ?? "?"})`)
    const user = yield* client.whoami
    yield* Console.log(`  whoami:   ${user.firstName} ${user.lastName} <${user.email}>, active: ${user.active}`)
    const refreshed = yield* source.refresh
    const same = Redacted.value(refreshed.accessToken) === Redacted.value(token.accessToken)
    const still = yield* Effect.either(AnaplanAuth.validate(token, { authUrl: server.url }))
    yield* Console.log(
      `  refresh:  ${same ? "the same token, extended" : "a NEW token (not what Anaplan does)"} to ${expiry(refreshed)}; ` +
        `requests signed with it ${still._tag === "Right" ? "keep working" : "are REJECTED"}`
    )
  }))
  yield* loggedOut(server)

  // 2. Certificate authentication, and single flight: 100 concurrent requests, one login.
  yield* Effect.scoped(Effect.gen(function*() {
    const before = (yield* server.counters).authenticate
    const { client, source } = yield* connect(
      AnaplanAuth.layerCertificate({
        certificate: { path: certs.clientCertPath },
        privateKey: { path: certs.clientEncryptedKeyPath },
        passphrase: certs.passphrase,
        authUrl: server.url
      }),
      server.url
    )
    const users = yield* Effect.all(Array.from({ length: 100 }, () => client.whoami), { concurrency: "unbounded" })
    const token = yield* source.get
    const logins = (yield* server.counters).authenticate - before
    yield* Console.log(`Logged in as ${users[0].email} (certificate), token expires at ${expiry(token)}`)
    yield* Console.log(`  single flight: ${users.length} concurrent API calls, ${logins} login`)
  }))
  yield* loggedOut(server)

  // 3. The same from a shell: the effect-auth command logs in once and hands the token to scripts.
  yield* Console.log("From a shell, with the effect-auth command:")
  const home = yield* fs.makeTempDirectoryScoped({ prefix: "effect-auth-demo-home-" })
  const siteArgs = ["--provider", "anaplan", "--email", demo.email, "--auth-url", server.url, "--api-url", server.url]
  yield* shell(
    "effect-auth sites add emulator --provider anaplan --email demo@example.com --auth-url ... --storage file --yes",
    (yield* effectAuth(home, ["sites", "add", "emulator", ...siteArgs, "--storage", "file", "--yes"])).split("\n").filter((line) =>
      line.startsWith("Added")
    ).join("\n")
  )
  yield* shell(
    "EFFECT_AUTH_PASSWORD=... effect-auth login",
    yield* effectAuth(home, ["login"], { EFFECT_AUTH_PASSWORD: demo.password! })
  )
  const printed = (yield* effectAuth(home, ["token"])).trimEnd()
  const accepted = yield* Effect.either(AnaplanAuth.validate(Redacted.make(printed), { authUrl: server.url }))
  yield* shell(
    "curl -H \"Authorization: AnaplanAuthToken $(effect-auth token)\" ...",
    `(token prints the token alone, ${printed.length} characters; Anaplan ${accepted._tag === "Right" ? "accepts" : "REJECTS"} it)`
  )
  yield* shell("effect-auth whoami", yield* effectAuth(home, ["whoami"]))
  yield* shell("effect-auth status", yield* effectAuth(home, ["status"]))
  yield* shell("effect-auth logout", yield* effectAuth(home, ["logout"]))
  yield* Console.log("")

  const counters = yield* server.counters
  const active = yield* server.activeTokens
  const elapsed = ((yield* Clock.currentTimeMillis) - started) / 1000
  yield* Console.log(
    `Emulator saw: ${counters.authenticate} logins, ${counters.refresh} refresh, ${counters.logout} logouts, ` +
      `${counters.validate} validations, ${counters.usersMe} API calls; active tokens now: ${active}`
  )
  yield* Console.log(`Done in ${elapsed.toFixed(1)} s. Next: packages/anaplan/README.md and packages/cli/README.md`)
}).pipe(
  Effect.scoped,
  Effect.provide(Layer.merge(NodeContext.layer, NodeHttpClient.layerUndici))
)

NodeRuntime.runMain(program)
