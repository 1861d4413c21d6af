/**
 * `effect-auth` on a corporate network: the Anaplan emulator served over HTTPS with a certificate
 * from a test CA (a TLS inspection authority, as a company's proxy would use), reached through a
 * real tinyproxy that wants credentials. login, token and whoami for the basic, certificate and
 * refresh_token methods; the proxy variables, the site's `proxy`, `ca_file` and `tls_verify`, and
 * the errors that say what to do.
 */
import { assert, describe, layer } from "@effect/vitest"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as AnaplanOAuth from "@effect-auth/anaplan/AnaplanOAuth"
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as TestCertificates from "@effect-auth/anaplan/TestCertificates"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Network from "../../core/test/support/network.js"
import * as Programs from "../../core/test/support/programs.js"
import * as Cli from "./support/cli.js"

const password = AnaplanAuthServer.demoUser.password ?? "demo-password"
const email = AnaplanAuthServer.demoUser.email
const proxyUser = { user: "corp-user", password: "pr0xy-s3cret" }
const oauthClient = { clientId: "cli-client", clientSecret: "cli-client-secret", redirectUris: ["https://app.example.com/callback"] }

/** The emulator behind HTTPS (certificate from "Corp Inspection CA") and an authenticating tinyproxy. */
const corporate = Effect.gen(function*() {
  const home = yield* Cli.home
  const certs = yield* TestCertificates.generate(home.dir).pipe(Effect.provide(NodeContext.layer), Effect.orDie)
  const server = yield* AnaplanAuthServer.make({ trustedCaPem: certs.caPem }).pipe(Effect.orDie)
  yield* server.addOAuthClient(oauthClient)
  const ca = yield* Network.authority("Corp Inspection CA")
  const url = yield* Network.tlsFront(Number(new URL(server.url).port), ca)
  const proxy = yield* Network.proxy(proxyUser)
  const site = (fields: string) =>
    `[sites.corp]\nprovider = "anaplan"\nauth_url = "${url}"\napi_url = "${url}"\noauth_url = "${url}"\nstorage = "file"\n${fields}`
  const configure = (fields: string) => Cli.writeConfig(home, site(fields))
  const env = { ...home.env, HTTPS_PROXY: proxy.urlWithCredentials }
  const run = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) => Cli.run(args, { env: { ...env, ...extra } })
  return { home, certs, server, ca, url, proxy, configure, env, run }
})

type Corporate = Effect.Effect.Success<typeof corporate>

/** Every tunnel the proxy opened went to the emulator's HTTPS front. */
const tunnelsTo = (network: Corporate): number => {
  const requests = network.proxy.requests()
  const host = new URL(network.url).host
  assert.deepStrictEqual(requests.filter((request) => request !== `CONNECT ${host}`), [], "only CONNECT tunnels to the emulator")
  return requests.length
}

const noSecrets = (text: string, ...secrets: ReadonlyArray<string>) => {
  for (const secret of [proxyUser.password, password, ...secrets]) assert.notInclude(text, secret)
}

/** login, token (refreshing a due token: over the network) and whoami, each through the proxy. */
const loginTokenWhoami = (network: Corporate, env: Record<string, string>) =>
  Effect.gen(function*() {
    const login = yield* network.run(["login"], env)
    assert.strictEqual(login.code, 0, login.stderr)
    assert.match(login.stdout, /^Logged in to corp as demo@example\.com until /)
    const afterLogin = tunnelsTo(network)
    assert.isAbove(afterLogin, 0, "login went through the proxy")

    // 12 s tokens are always due: token refreshes, over the network.
    yield* network.server.setTokenLifetime("12 seconds")
    const renewedLogin = yield* network.run(["login", "--force"], env)
    assert.strictEqual(renewedLogin.code, 0, renewedLogin.stderr)
    const before = yield* network.server.counters
    const token = yield* network.run(["token"], env)
    assert.strictEqual(token.code, 0, token.stderr)
    assert.strictEqual((yield* network.server.counters).refresh - before.refresh, 1, "token refreshed")
    assert.isAbove(tunnelsTo(network), afterLogin, "token went through the proxy")

    const beforeWhoami = tunnelsTo(network)
    const whoami = yield* network.run(["whoami"], env)
    assert.strictEqual(whoami.code, 0, whoami.stderr)
    assert.strictEqual(whoami.stdout, "demo@example.com (Demo User) on corp\n")
    assert.isAbove(tunnelsTo(network), beforeWhoami, "whoami went through the proxy")
    for (const out of [login, renewedLogin, token, whoami]) {
      assert.strictEqual(out.stderr, "")
      noSecrets(out.stdout + out.stderr)
    }
  })

const run = Programs.shouldRun(Network.openssl, Network.tinyproxy)
// Each test runs the binary four to six times (a few seconds each on a busy machine).

layer(NodeHttpClient.layerUndici, { excludeTestServices: true, timeout: "90 seconds" })("effect-auth behind a proxy", (it) => {
  describe.runIf(run)("login, token and whoami through an authenticating proxy, over HTTPS with ca_file", { timeout: 120_000 }, () => {
    it.scoped("basic", () =>
      Effect.gen(function*() {
        const network = yield* corporate
        network.configure(`email = "${email}"\nca_file = "${network.ca.caFile}"\n`)
        yield* loginTokenWhoami(network, { EFFECT_AUTH_PASSWORD: password })
      }))

    it.scoped("certificate", () =>
      Effect.gen(function*() {
        const network = yield* corporate
        network.configure(`method = "certificate"\ncertificate = "${network.certs.clientCertPath}"\nprivate_key = "${network.certs.clientKeyPath}"\nca_file = "${network.ca.caFile}"\n`)
        yield* loginTokenWhoami(network, {})
      }))

    it.scoped("OAuth (refresh_token)", () =>
      Effect.gen(function*() {
        const network = yield* corporate
        network.configure(`method = "refresh_token"\nclient_id = "${oauthClient.clientId}"\nredirect_uri = "${oauthClient.redirectUris[0]}"\nca_file = "${network.ca.caFile}"\n`)
        // A refresh token as a web app would have obtained it (directly, not through the proxy).
        const oauth = yield* AnaplanOAuth.make({
          clientId: oauthClient.clientId,
          clientSecret: Redacted.make(oauthClient.clientSecret),
          redirectUri: oauthClient.redirectUris[0],
          oauthUrl: network.server.url,
          authUrl: network.server.url
        })
        const request = yield* oauth.authorizationUrl()
        const redirect = yield* network.server.authorize({
          clientId: oauthClient.clientId,
          redirectUri: oauthClient.redirectUris[0],
          email,
          state: request.state,
          codeChallenge: new URL(request.url).searchParams.get("code_challenge") ?? undefined
        })
        const refreshToken = Redacted.value(Option.getOrThrow((yield* oauth.fetchToken(redirect, request)).refreshToken))
        const env = { EFFECT_AUTH_CLIENT_SECRET: oauthClient.clientSecret, EFFECT_AUTH_REFRESH_TOKEN: refreshToken }

        const before = yield* network.server.counters
        const token = yield* network.run(["token"], env)
        assert.strictEqual(token.code, 0, token.stderr)
        assert.strictEqual((yield* network.server.counters).oauthToken - before.oauthToken, 1)
        const afterToken = tunnelsTo(network)
        assert.isAbove(afterToken, 0, "the refresh went through the proxy")
        const whoami = yield* network.run(["whoami"], { EFFECT_AUTH_CLIENT_SECRET: oauthClient.clientSecret })
        assert.strictEqual(whoami.code, 0, whoami.stderr)
        assert.match(whoami.stdout, /^demo@example\.com /)
        assert.isAbove(tunnelsTo(network), afterToken, "whoami went through the proxy")
        for (const out of [token, whoami]) noSecrets(out.stdout + out.stderr, refreshToken, oauthClient.clientSecret)
      }).pipe(Effect.orDie))
  })

  describe.runIf(run)("settings", { timeout: 120_000 }, () => {
    it.scoped("NO_PROXY bypasses the proxy; NODE_EXTRA_CA_CERTS works in place of ca_file", () =>
      Effect.gen(function*() {
        const network = yield* corporate
        network.configure(`email = "${email}"\n`)
        const env = { EFFECT_AUTH_PASSWORD: password, NODE_EXTRA_CA_CERTS: network.ca.caFile }
        const out = yield* network.run(["login"], { ...env, NO_PROXY: "localhost,127.0.0.1" })
        assert.strictEqual(out.code, 0, out.stderr)
        assert.deepStrictEqual(network.proxy.requests(), [], "nothing went through the proxy")
        const lower = yield* network.run(["login", "--force"], { ...env, no_proxy: "127.0.0.0/8" })
        assert.strictEqual(lower.code, 0, lower.stderr)
        assert.deepStrictEqual(network.proxy.requests(), [])
      }))

    it.scoped("the site's proxy overrides the environment, EFFECT_AUTH_PROXY overrides the site, and \"none\" goes direct", () =>
      Effect.gen(function*() {
        const network = yield* corporate
        const dead = "http://127.0.0.1:9"
        network.configure(`email = "${email}"\nca_file = "${network.ca.caFile}"\nproxy = "${network.proxy.urlWithCredentials}"\n`)
        const site = yield* network.run(["login"], { EFFECT_AUTH_PASSWORD: password, HTTPS_PROXY: dead })
        assert.strictEqual(site.code, 0, site.stderr)
        assert.isAbove(tunnelsTo(network), 0)
        // A proxy with credentials written in the file draws the plain-text warning; the value is never shown.
        assert.include(site.stderr, "proxy is written in the config file in plain text")
        noSecrets(site.stdout + site.stderr)

        const viaEnv = yield* network.run(["login", "--force"], { EFFECT_AUTH_PASSWORD: password, EFFECT_AUTH_PROXY: dead })
        assert.strictEqual(viaEnv.code, 1)
        assert.include(viaEnv.stderr, `Cannot connect to the proxy ${dead} (from EFFECT_AUTH_PROXY): ECONNREFUSED`)

        const before = tunnelsTo(network)
        const direct = yield* network.run(["login", "--force"], { EFFECT_AUTH_PASSWORD: password, EFFECT_AUTH_PROXY: "none" })
        assert.strictEqual(direct.code, 0, direct.stderr)
        assert.strictEqual(tunnelsTo(network), before, "proxy = none went direct")
      }))

    it.scoped("tls_verify = false works without the CA, warning on every run; refused for Anaplan's public hosts", () =>
      Effect.gen(function*() {
        const network = yield* corporate
        network.configure(`email = "${email}"\ntls_verify = false\n`)
        for (const args of [["login"], ["whoami"]]) {
          const out = yield* network.run(args, { EFFECT_AUTH_PASSWORD: password })
          assert.strictEqual(out.code, 0, out.stderr)
          assert.include(out.stderr, "warning: [corp] TLS certificate verification is off (tls_verify = false)")
        }
        Cli.writeConfig(
          network.home,
          `[sites.prod]\nprovider = "anaplan"\nemail = "${email}"\ntls_verify = false\nstorage = "file"\n`
        )
        const refused = yield* network.run(["login"], { EFFECT_AUTH_PASSWORD: password })
        assert.strictEqual(refused.code, 1)
        assert.match(refused.stderr, /^error: \[prod\] tls_verify = false is refused for auth\.anaplan\.com, Anaplan's public service/)
        assert.include(refused.stderr, "ca_file")
      }))
  })

  describe.runIf(run)("errors that say what to do", { timeout: 120_000 }, () => {
    it.scoped("no credentials for the proxy: 407, naming the proxy and HTTPS_PROXY", () =>
      Effect.gen(function*() {
        const network = yield* corporate
        network.configure(`email = "${email}"\nca_file = "${network.ca.caFile}"\n`)
        const out = yield* network.run(["login"], { EFFECT_AUTH_PASSWORD: password, HTTPS_PROXY: network.proxy.url })
        assert.strictEqual(out.code, 1, out.stderr)
        assert.include(out.stderr, `the proxy ${network.proxy.url} (from HTTPS_PROXY) requires authentication (407 Proxy Authentication Required)`)
        assert.include(out.stderr, "hint: Put the proxy's user and password in HTTPS_PROXY")
        const wrong = `http://${proxyUser.user}:not-it@127.0.0.1:${network.proxy.port}`
        const rejected = yield* network.run(["login"], { EFFECT_AUTH_PASSWORD: password, https_proxy: wrong, HTTPS_PROXY: "" })
        assert.strictEqual(rejected.code, 1)
        assert.include(rejected.stderr, `the proxy ${network.proxy.url} (from https_proxy) rejected the user and password in its URL`)
        noSecrets(out.stderr + rejected.stderr, "not-it")
      }))

    it.scoped("a proxy that is down fails fast, naming it and its variable", () =>
      Effect.gen(function*() {
        const network = yield* corporate
        network.configure(`email = "${email}"\nca_file = "${network.ca.caFile}"\n`)
        const out = yield* network.run(["login"], { EFFECT_AUTH_PASSWORD: password, HTTPS_PROXY: "http://user:hunter2@127.0.0.1:9" })
        assert.strictEqual(out.code, 1, out.stderr)
        assert.include(out.stderr, "Cannot connect to the proxy http://127.0.0.1:9 (from HTTPS_PROXY): ECONNREFUSED")
        assert.include(out.stderr, "NO_PROXY")
        assert.notInclude(out.stderr, "hunter2")
      }))

    it.scoped("a certificate from an authority not trusted: the host, the issuer, ca_file and NODE_EXTRA_CA_CERTS", () =>
      Effect.gen(function*() {
        const network = yield* corporate
        const other = yield* Network.authority("Some Other CA")
        for (const caFile of ["", `ca_file = "${other.caFile}"\n`]) {
          network.configure(`email = "${email}"\n${caFile}`)
          const out = yield* network.run(["login"], { EFFECT_AUTH_PASSWORD: password })
          assert.strictEqual(out.code, 1, out.stderr)
          assert.include(out.stderr, "The certificate of 127.0.0.1 does not verify")
          assert.include(out.stderr, `its issuer is "Corp Inspection CA"`)
          assert.match(out.stderr, /hint: .*ca_file.*NODE_EXTRA_CA_CERTS/)
        }
        const before = network.proxy.requests().length
        network.configure(`email = "${email}"\nca_file = "/nonexistent/corp.pem"\n`)
        const missing = yield* network.run(["login"], { EFFECT_AUTH_PASSWORD: password })
        assert.strictEqual(missing.code, 1)
        assert.match(missing.stderr, /^error: \[corp\] Cannot read the CA bundle \/nonexistent\/corp\.pem \(ca_file\): ENOENT/)
        assert.strictEqual(network.proxy.requests().length, before, "no request with an unreadable CA file")
      }))
  })
})
