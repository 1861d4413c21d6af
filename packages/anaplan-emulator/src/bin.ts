#!/usr/bin/env node
/**
 * `anaplan-emulator [--port N] [--lifetime 35m] [--redirect-uri URI]...`: runs the Anaplan
 * authentication emulator with the demo user, a fresh test CA and client certificate (in a
 * temporary directory, removed on exit) and two OAuth clients (`demo-client` for the
 * authorization code grant, with the given redirect URIs; `demo-device` for the device grant)
 * until SIGINT/SIGTERM.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as TestCertificates from "@effect-auth/anaplan/TestCertificates"

const usage =
  "usage: anaplan-emulator [--port N] [--lifetime DURATION (e.g. 35m, 90s, 1h)] [--redirect-uri URI]... (default http://127.0.0.1:8080/oauth/callback)"

/** The OAuth clients of the standalone emulator: emulator-only credentials, valid nowhere else. */
const demoClient = { clientId: "demo-client", clientSecret: "demo-client-secret" } as const
const deviceClient = { clientId: "demo-device" } as const

const units: Record<string, (amount: number) => Duration.Duration> = {
  ms: Duration.millis,
  s: Duration.seconds,
  m: Duration.minutes,
  h: Duration.hours
}

const parseArgs = (args: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    let port = 0
    let lifetime: Duration.Duration = Duration.decode(AnaplanAuthServer.defaultTokenLifetime)
    const redirectUris: Array<string> = []
    for (let i = 0; i < args.length; i++) {
      const [flag, inline] = args[i].split("=", 2)
      const value = inline ?? args[++i]
      if (flag === "--port" && value !== undefined && /^\d+$/.test(value) && Number(value) < 65536) {
        port = Number(value)
      } else if (flag === "--lifetime" && value !== undefined && /^\d+(ms|s|m|h)$/.test(value)) {
        const [, amount, unit] = /^(\d+)(ms|s|m|h)$/.exec(value) ?? []
        lifetime = units[unit](Number(amount))
      } else if (flag === "--redirect-uri" && value !== undefined && URL.canParse(value)) {
        redirectUris.push(value)
      } else {
        return Effect.fail(`unexpected argument ${JSON.stringify(args[i] ?? flag)}\n${usage}`)
      }
    }
    return Effect.succeed({
      port,
      lifetime,
      redirectUris: redirectUris.length > 0 ? redirectUris : ["http://127.0.0.1:8080/oauth/callback"]
    })
  })

const program = Effect.gen(function*() {
  const { lifetime, port, redirectUris } = yield* parseArgs(process.argv.slice(2))
  const fs = yield* FileSystem.FileSystem
  const certs = yield* TestCertificates.generate(yield* fs.makeTempDirectoryScoped({ prefix: "anaplan-emulator-" }))
  const server = yield* AnaplanAuthServer.make({
    port,
    tokenLifetime: lifetime,
    trustedCaPem: certs.caPem,
    oauthClients: [
      { ...demoClient, redirectUris, grantTypes: ["authorization_code"] },
      { ...deviceClient, redirectUris: [], grantTypes: ["device_code"] }
    ]
  })
  const demo = AnaplanAuthServer.demoUser
  yield* Console.log(
    [
      `Anaplan emulator listening on ${server.url} (auth service and integration API; tokens live ${Duration.format(lifetime)})`,
      "",
      "Demo credentials (emulator only, valid nowhere else):",
      `  email:        ${demo.email}`,
      `  password:     ${demo.password}`,
      `  certificate:  ${certs.clientCertPath}`,
      `  private key:  ${certs.clientKeyPath}`,
      `  trusted CA:   ${certs.caCertPath}`,
      `  OAuth client: ${demoClient.clientId} / ${demoClient.clientSecret} (redirect URIs: ${redirectUris.join(", ")})`,
      `  device client: ${deviceClient.clientId} (no secret)`,
      `  OAuth login:  ${server.url}/auth/prelogin, token endpoint ${server.url}/oauth/token`,
      "",
      `Try: curl -i -X POST -u '${demo.email}:${demo.password}' ${server.url}/token/authenticate`,
      "Press Ctrl-C to stop."
    ].join("\n")
  )
  return yield* Effect.never
}).pipe(Effect.scoped, Effect.provide(NodeContext.layer))

NodeRuntime.runMain(program)
