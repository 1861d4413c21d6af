/**
 * A `client_credentials` site, run as a user would (the bundled binary, a temporary HOME) against
 * a token endpoint on 127.0.0.1 that issues JWT access tokens (RFC 9068: `sub`, `client_id`,
 * `scope`). The secret is needed only by commands that talk to the token endpoint (issue 15.1),
 * and `whoami`/`login` name the client (15.2).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Cli from "./support/cli.js"

const clientId = "svc-client"
const clientSecret = "svc-secret-0123456789"

/** The token endpoint: client_secret_basic, and a JWT access token per grant. */
const tokenEndpoint = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly grants: () => number; readonly server: Http.Server }>((resume) => {
    let grants = 0
    const server = Http.createServer((request, response) => {
      let body = ""
      request.on("data", (chunk: Buffer) => (body += chunk.toString()))
      request.on("end", () => {
        const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`
        const form = new URLSearchParams(body)
        response.setHeader("content-type", "application/json")
        if (request.url !== "/token" || form.get("grant_type") !== "client_credentials") {
          response.writeHead(400).end(JSON.stringify({ error: "unsupported_grant_type" }))
          return
        }
        if (request.headers.authorization !== basic) {
          response.writeHead(401).end(JSON.stringify({ error: "invalid_client" }))
          return
        }
        grants++
        const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
        const claims = { sub: "service-account-7", client_id: clientId, scope: "models:read models:write", n: grants }
        const accessToken = `${part({ alg: "none", typ: "at+jwt" })}.${part(claims)}.`
        response.writeHead(200).end(
          JSON.stringify({ access_token: accessToken, token_type: "Bearer", expires_in: 3600, scope: claims.scope })
        )
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        grants: () => grants,
        server
      })))
  }),
  ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
)

describe("a client_credentials site", () => {
  it.scopedLive("asks for the secret only at the token endpoint, and whoami names the client", () =>
    Effect.gen(function*() {
      const server = yield* tokenEndpoint
      const home = yield* Cli.home
      Cli.writeConfig(
        home,
        `[sites.cc]\nprovider = "oauth2"\nmethod = "client_credentials"\nclient_id = "${clientId}"\n` +
          `token_url = "${server.url}/token"\nstorage = "file"\n`
      )
      const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
        Cli.run(args, { env: { ...home.env, ...env }, timeoutMillis: 60_000 })
      const secret = { EFFECT_AUTH_CLIENT_SECRET: clientSecret }

      // Before any token: the commands that only read the store or the config need no secret.
      const show = yield* run(["sites", "show"])
      assert.strictEqual(show.code, 0, show.stderr)
      const statusBefore = yield* run(["status", "--json"])
      assert.notInclude(statusBefore.stderr + statusBefore.stdout, "client_secret")
      assert.strictEqual(JSON.parse(statusBefore.stdout).sites[0].state, "not logged in")
      const logoutBefore = yield* run(["logout"])
      assert.strictEqual(logoutBefore.code, 0, logoutBefore.stderr)
      // A token needs the token endpoint, so the secret: the error names it and its variable.
      const missing = yield* run(["token"])
      assert.notStrictEqual(missing.code, 0)
      assert.strictEqual(missing.stdout, "")
      assert.include(missing.stderr, "client_secret")
      assert.include(missing.stderr, "EFFECT_AUTH_CLIENT_SECRET")
      assert.strictEqual(server.grants(), 0)

      const login = yield* run(["login"], secret)
      assert.strictEqual(login.code, 0, login.stderr)
      assert.match(login.stdout, /^Logged in to cc as client svc-client until /)
      assert.strictEqual(server.grants(), 1)

      // With a stored token, none of these needs the secret or a new grant.
      const json = yield* run(["token", "--json"])
      assert.strictEqual(json.code, 0, json.stderr)
      assert.strictEqual(JSON.parse(json.stdout).site, "cc")
      const exec = yield* run(["exec", "--", "sh", "-c", "test -n \"$EFFECT_AUTH_TOKEN\""])
      assert.strictEqual(exec.code, 0, exec.stderr)
      const status = yield* run(["status", "--json"])
      assert.strictEqual(status.code, 0, status.stderr)
      assert.strictEqual(JSON.parse(status.stdout).sites[0].state, "logged in")
      const whoami = yield* run(["whoami"])
      assert.strictEqual(whoami.code, 0, whoami.stderr)
      assert.strictEqual(
        whoami.stdout,
        "client svc-client (subject service-account-7, scopes models:read models:write) on cc\n"
      )
      const whoamiJson = yield* run(["whoami", "--json"])
      assert.strictEqual(whoamiJson.code, 0, whoamiJson.stderr)
      assert.deepStrictEqual(JSON.parse(whoamiJson.stdout).client, {
        client_id: clientId,
        subject: "service-account-7",
        scopes: ["models:read", "models:write"]
      })
      assert.strictEqual(server.grants(), 1, "no command above asked the token endpoint again")
      const logout = yield* run(["logout"])
      assert.strictEqual(logout.code, 0, `${logout.stdout} ${logout.stderr}`)
      for (const done of [show, statusBefore, logoutBefore, json, exec, status, whoami, logout]) {
        assert.notInclude(done.stderr, "is incomplete")
      }
    }), { timeout: 300_000 })
})
