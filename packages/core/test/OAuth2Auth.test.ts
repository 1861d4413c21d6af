import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Terminal from "@effect/platform/Terminal"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as LoginAgent from "../src/LoginAgent.js"
import * as OAuth2 from "../src/OAuth2.js"
import * as OAuth2Auth from "../src/OAuth2Auth.js"
import * as RefreshPolicy from "../src/RefreshPolicy.js"
import type * as Token from "../src/Token.js"
import * as TokenSource from "../src/TokenSource.js"
import { Browser, clients, oidcProvider, redirectUri } from "./support/oidcProvider.js"

const value = (secret: Redacted.Redacted<string>) => Redacted.value(secret)
const refreshOf = (token: Token.Token) => Option.getOrThrow(Option.map(token.refreshToken, Redacted.value))
const policy = RefreshPolicy.make({ jitter: Duration.zero })

/** A platform `Terminal` whose `readLine` answers with what `answer` gives at that moment. */
const scriptedTerminal = (answer: () => string): Terminal.Terminal => ({
  columns: Effect.succeed(80),
  rows: Effect.succeed(24),
  isTTY: Effect.succeed(true),
  readInput: Effect.dieMessage("not used"),
  readLine: Effect.sync(answer),
  display: () => Effect.void
})

const errorOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  if (Exit.isSuccess(exit)) throw new Error("unreachable")
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${exit.cause._tag}`)
  return failure
}

describe("OAuth2 against oidc-provider", () => {
  it.scoped("discovers the endpoints and checks the issuer", () =>
    Effect.gen(function*() {
      const op = yield* oidcProvider
      const metadata = yield* OAuth2.discover(op.issuer)
      assert.strictEqual(metadata.issuer, op.issuer)
      assert.strictEqual(metadata.tokenEndpoint, `${op.issuer}/token`)
      assert.strictEqual(metadata.authorizationEndpoint, `${op.issuer}/auth`)
      assert.strictEqual(metadata.deviceAuthorizationEndpoint, `${op.issuer}/device/auth`)
      assert.strictEqual(metadata.revocationEndpoint, `${op.issuer}/token/revocation`)
      assert.include(metadata.codeChallengeMethodsSupported ?? [], "S256")
      // The same server under another spelling of the issuer is a mix-up risk: refused.
      const exit = yield* Effect.exit(OAuth2.discover(`${op.issuer}/`))
      assert.strictEqual(errorOf(exit)._tag, "MalformedResponse")
      assert.include(errorOf(exit).message, "RFC 8414 section 3.3")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("authorization code + PKCE through the loopback server, then refresh with rotation and revocation", () =>
    Effect.gen(function*() {
      const op = yield* oidcProvider
      const browser = new Browser()
      const output: Array<string> = []
      const landed: Array<{ status: number; page: string }> = []
      const agent = yield* LoginAgent.make({
        openBrowser: true,
        write: (text) => Effect.sync(() => void output.push(text)),
        open: (url) =>
          Effect.promise(async () => {
            const result = await browser.run(url)
            const response = await fetch(result.redirect!)
            landed.push({ status: response.status, page: await response.text() })
          })
      }).pipe(Effect.provideService(Terminal.Terminal, scriptedTerminal(() => "")))
      const strategy = yield* OAuth2Auth.authorizationCode({
        issuer: op.issuer,
        client: OAuth2.secretBasic(clients.basic.id, clients.basic.secret),
        scopes: ["openid"]
      }).pipe(Effect.provideService(LoginAgent.LoginAgent, agent))
      const token = yield* strategy.acquire
      assert.strictEqual(token.tokenType, "Bearer")
      assert.isTrue(Option.isSome(token.idToken))
      assert.isTrue(Option.isSome(token.expiresAt))
      assert.deepStrictEqual(landed.map((l) => l.status), [200])
      assert.include(landed[0].page, "You are logged in")
      assert.include(output.join(""), `${op.issuer}/auth?`)
      // PKCE S256 was sent and the redirect went to an ephemeral loopback port.
      const authorize = browser.visited.find((v) => v.startsWith("GET /auth"))
      assert.isDefined(authorize)

      // Refresh: a new access token and a rotated refresh token.
      const refreshed = yield* Option.getOrThrow(strategy.refresh)(token)
      assert.notStrictEqual(value(refreshed.accessToken), value(token.accessToken))
      assert.notStrictEqual(refreshOf(refreshed), refreshOf(token))
      // The spent refresh token is rejected as reuse.
      const reuse = yield* Effect.exit(Option.getOrThrow(strategy.refresh)(token))
      assert.strictEqual(errorOf(reuse)._tag, "InvalidCredentials")
      assert.include(errorOf(reuse).message, "invalid_grant")
      assert.notInclude(errorOf(reuse).message, refreshOf(token))
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("paste mode: the person pastes the redirect URL; revocation ends the grant", () =>
    Effect.gen(function*() {
      const op = yield* oidcProvider
      const browser = new Browser()
      let pasted = ""
      const agent = yield* LoginAgent.make({
        openBrowser: true,
        write: () => Effect.void,
        // The browser stops at the unregistered redirect URI; the person copies its address.
        open: (url) => Effect.promise(async () => void (pasted = (await browser.run(url)).redirect!))
      }).pipe(Effect.provideService(Terminal.Terminal, scriptedTerminal(() => pasted)))
      const strategy = yield* OAuth2Auth.authorizationCode({
        issuer: op.issuer,
        client: OAuth2.secretPost(clients.post.id, clients.post.secret),
        scopes: ["openid"],
        redirect: LoginAgent.paste(redirectUri)
      }).pipe(Effect.provideService(LoginAgent.LoginAgent, agent))
      const token = yield* strategy.acquire
      assert.isTrue(pasted.startsWith(`${redirectUri}?code=`))
      assert.isTrue(Option.isSome(token.refreshToken))
      yield* Option.getOrThrow(strategy.revoke)(token)
      assert.includeMembers(op.requests, ["POST /token/revocation"])
      const after = yield* Effect.exit(Option.getOrThrow(strategy.refresh)(token))
      assert.strictEqual(errorOf(after)._tag, "InvalidCredentials")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a public client (none) logs in through the TokenSource layer; declining is LoginCancelled", () =>
    Effect.gen(function*() {
      const op = yield* oidcProvider
      const options = {
        issuer: op.issuer,
        client: OAuth2.none(clients.public.id),
        scopes: ["openid"],
        tokenSource: { policy, revokeOnClose: false }
      }
      const login = (abort: boolean) =>
        Effect.scoped(Effect.flatMap(TokenSource.TokenSource, (source) => source.get)).pipe(
          Effect.provide(OAuth2Auth.layerAuthorizationCode(options).pipe(
            Layer.provide(LoginAgent.layerTest({
              browser: (url) => Effect.promise(async () => (await new Browser().run(url.href, { abort })).redirect!)
            }))
          ))
        )
      const token = yield* login(false)
      assert.strictEqual(token.tokenType, "Bearer")
      const declined = yield* Effect.exit(login(true))
      assert.strictEqual(errorOf(declined)._tag, "LoginCancelled")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("device code: the person approves on the provider's device pages; polling follows the TestClock", () =>
    Effect.gen(function*() {
      const op = yield* oidcProvider
      const approved = yield* Deferred.make<string>()
      const agent = LoginAgent.makeTest({
        device: (prompt) =>
          Effect.promise(() => new Browser().run(prompt.verificationUriComplete ?? prompt.verificationUri)).pipe(
            Effect.flatMap((result) => Deferred.succeed(approved, result.page ?? "")),
            Effect.asVoid
          )
      })
      const strategy = yield* OAuth2Auth.deviceCode({
        issuer: op.issuer,
        client: OAuth2.secretBasic(clients.basic.id, clients.basic.secret),
        scopes: ["openid"]
      }).pipe(Effect.provideService(LoginAgent.LoginAgent, agent))
      const fiber = yield* Effect.fork(strategy.acquire)
      const page = yield* Deferred.await(approved)
      assert.match(page, /sign-in|success/i)
      assert.notInclude(op.requests, "POST /token")
      yield* TestClock.adjust(Duration.seconds(5))
      const token = yield* Fiber.join(fiber)
      assert.strictEqual(token.tokenType, "Bearer")
      assert.isTrue(Option.isSome(token.refreshToken))
      assert.strictEqual(op.requests.filter((r) => r === "POST /token").length, 1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("client credentials with client_secret_basic and client_secret_post", () =>
    Effect.gen(function*() {
      const op = yield* oidcProvider
      for (
        const client of [
          OAuth2.secretBasic(clients.basic.id, clients.basic.secret),
          OAuth2.secretPost(clients.post.id, clients.post.secret)
        ]
      ) {
        const token = yield* Effect.scoped(Effect.flatMap(TokenSource.TokenSource, (source) => source.get)).pipe(
          Effect.provide(OAuth2Auth.layerClientCredentials({ issuer: op.issuer, client, tokenSource: { policy } }))
        )
        assert.strictEqual(token.tokenType, "Bearer")
        assert.isTrue(Option.isNone(token.refreshToken))
        assert.isTrue(Option.isSome(token.expiresAt))
      }
      const wrong = yield* Effect.exit(
        Effect.flatMap(
          OAuth2Auth.clientCredentials({ issuer: op.issuer, client: OAuth2.secretBasic(clients.basic.id, "wrong-secret") }),
          (strategy) => strategy.acquire
        )
      )
      assert.strictEqual(errorOf(wrong)._tag, "InvalidCredentials")
      assert.include(errorOf(wrong).message, "client id and client secret")
      assert.notInclude(errorOf(wrong).message, "wrong-secret")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("refreshToken layer always spends the LATEST refresh token; spent ones are rejected", () =>
    Effect.gen(function*() {
      const op = yield* oidcProvider
      const client = OAuth2.secretBasic(clients.basic.id, clients.basic.secret)
      // Obtain a refresh token the way a person would, once.
      const login = yield* OAuth2Auth.authorizationCode({ issuer: op.issuer, client, scopes: ["openid"] }).pipe(
        Effect.provide(LoginAgent.layerTest({
          browser: (url) => Effect.promise(async () => (await new Browser().run(url.href)).redirect!)
        }))
      )
      const first = yield* login.acquire
      const rt0 = refreshOf(first)
      const seen = yield* Effect.scoped(Effect.gen(function*() {
        const source = yield* TokenSource.TokenSource
        const a = yield* source.get
        const b = yield* source.refresh
        const c = yield* source.refresh
        return [a, b, c]
      })).pipe(Effect.provide(OAuth2Auth.layerRefreshToken({
        issuer: op.issuer,
        client,
        refreshToken: Redacted.make(rt0),
        tokenSource: { policy }
      })))
      const rts = [rt0, ...seen.map(refreshOf)]
      assert.strictEqual(new Set(rts).size, 4, "every refresh rotated the refresh token")
      assert.strictEqual(new Set(seen.map((t) => value(t.accessToken))).size, 3)
      // A spent refresh token is rejected (oidc-provider treats reuse as a replay).
      const strategy = yield* OAuth2Auth.refreshToken({ issuer: op.issuer, client, refreshToken: rts[1] })
      const reuse = yield* Effect.exit(strategy.acquire)
      assert.strictEqual(errorOf(reuse)._tag, "InvalidCredentials")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
