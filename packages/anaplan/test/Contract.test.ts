/**
 * The emulator's contract: every request and answer shape that `shared/ANAPLAN.md` records from
 * public sources, one case each, run against the emulator. Each case cites its source. This is the
 * emulator's definition of "faithful", and the place to look first when a real tenant disagrees:
 * fix the source note, then this file, then the emulator and the client together.
 *
 * Sources:
 * - [openapi]: setikites/anaplan-openapi, `authentication/README.md` ("Known Discrepancies",
 *   "Undocumented Behaviors", checked against a live tenant) and its `oauth/` folder.
 * - [sdk]: anaplan-sdk (Python), `_auth.py` and its OAuth clients.
 * - [help]: help.anaplan.com, "Authentication API", "OAuth", "Retrieve your user".
 * - [community]: the Anaplan community answer on refresh token lifetimes (43,000 seconds).
 * - [allowlist]: Anaplan's "URL, IP, and allowlist requirements" page.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto"
import { readFileSync } from "node:fs"
import * as AnaplanAuthServer from "../src/AnaplanAuthServer.js"
import * as AnaplanOAuth from "../src/AnaplanOAuth.js"
import type * as TestCertificates from "../src/TestCertificates.js"
import { type Answer, Certificates, certificatesLayer, send } from "./support/emulator.js"

type Server = AnaplanAuthServer.AnaplanAuthServer.Service

// ---------------------------------------------------------------------------------------------
// Shapes (unknown fields are allowed: "Newer answers may add fields ... ignore what you do not know")

/** Login and refresh answer [help] [openapi]: `tokenInfo.expiresAt` in epoch milliseconds. */
const TokenAnswer = Schema.Struct({
  meta: Schema.Unknown,
  status: Schema.Literal("SUCCESS"),
  statusMessage: Schema.String,
  tokenInfo: Schema.Struct({
    expiresAt: Schema.Number,
    tokenId: Schema.String,
    tokenValue: Schema.NonEmptyString,
    refreshTokenId: Schema.String
  })
})

/** `GET /token/validate` [openapi]: nested; `userInfo.userId` is the email, `userGuid` the hex id. */
const ValidateAnswer = Schema.Struct({
  tokenInfo: Schema.Struct({ expiresAt: Schema.Number, tokenId: Schema.String }),
  userInfo: Schema.Struct({ userGuid: Schema.String, userId: Schema.String, customerGuid: Schema.String })
})

/** Failures of the auth service [openapi] [help]: a JSON body whose `status` names the failure. */
const Failure = (status: string) => Schema.Struct({ status: Schema.Literal(status) })

/** `GET /2/0/users/me` [help, "Retrieve your user"]. */
const UsersMe = Schema.Struct({
  meta: Schema.Unknown,
  status: Schema.Unknown,
  user: Schema.Struct({
    id: Schema.String,
    active: Schema.Boolean,
    email: Schema.String,
    emailOptIn: Schema.Boolean,
    firstName: Schema.String,
    lastName: Schema.String,
    lastLoginDate: Schema.String
  })
})

/** OAuth token answer [sdk] [openapi oauth/]. */
const OAuthTokens = Schema.Struct({
  access_token: Schema.NonEmptyString,
  refresh_token: Schema.NonEmptyString,
  expires_in: Schema.Literal(2100),
  token_type: Schema.Literal("bearer"),
  scope: Schema.String,
  id_token: Schema.NonEmptyString
})

/** OAuth error answer (RFC 6749 section 5.2). */
const OAuthError = (error: string) => Schema.Struct({ error: Schema.Literal(error) })

/** Device authorization answer [sdk] [openapi oauth/]. */
const DeviceAnswer = Schema.Struct({
  device_code: Schema.NonEmptyString,
  user_code: Schema.NonEmptyString,
  verification_uri: Schema.String,
  expires_in: Schema.Literal(900),
  interval: Schema.Literal(5)
})

const decode = <A, I>(schema: Schema.Schema<A, I>, answer: Answer): A =>
  Schema.decodeUnknownSync(Schema.parseJson(schema))(answer.text)

// ---------------------------------------------------------------------------------------------
// HTTP

const withAuth = (authorization: string | undefined) => (request: HttpClientRequest.HttpClientRequest) =>
  authorization === undefined ? request : HttpClientRequest.setHeader(request, "authorization", authorization)

const post = (url: string, authorization?: string, json?: unknown) =>
  send(HttpClientRequest.post(url).pipe(
    withAuth(authorization),
    json === undefined ? (request) => request : HttpClientRequest.bodyUnsafeJson(json)
  ))
const postForm = (url: string, fields: Record<string, string>) =>
  send(HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUrlParams(fields)))
const get = (url: string, authorization?: string) => send(HttpClientRequest.get(url).pipe(withAuth(authorization)))

const demo = AnaplanAuthServer.demoUser
const basicHeader = `Basic ${Buffer.from(`${demo.email}:${demo.password}`).toString("base64")}`
const tokenHeader = (value: string) => `AnaplanAuthToken ${value}`

const redirectUri = "https://app.example.com/callback"
const web = { clientId: "web", clientSecret: "web-secret", redirectUris: [redirectUri], grantTypes: ["authorization_code"] } as const
const device = { clientId: "device", redirectUris: [], grantTypes: ["device_code"] } as const
const scope = "openid profile email offline_access"

const withServer = <A, E>(
  f: (server: Server) => Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>,
  options?: AnaplanAuthServer.Options
) =>
  Effect.flatMap(AnaplanAuthServer.make({ oauthClients: [web, device], ...options }), f).pipe(
    Effect.provide(NodeHttpClient.layerUndici)
  )

const login = (server: Server) => Effect.map(post(`${server.url}/token/authenticate`, basicHeader), (a) => decode(TokenAnswer, a))

/** An authorization code for the demo user, as the login page would redirect with it. */
const code = (server: Server) =>
  Effect.map(
    server.authorize({ clientId: web.clientId, redirectUri, email: demo.email, scope, state: "s" }),
    (location) => new URL(location).searchParams.get("code") ?? ""
  )

const exchange = (server: Server, authorizationCode: string) =>
  postForm(`${server.url}/oauth/token`, {
    grant_type: "authorization_code",
    code: authorizationCode,
    redirect_uri: redirectUri,
    client_id: web.clientId,
    client_secret: web.clientSecret
  })

const refreshGrant = (server: Server, refreshToken: string) =>
  postForm(`${server.url}/oauth/token`, {
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    client_id: web.clientId,
    client_secret: web.clientSecret
  })

// ---------------------------------------------------------------------------------------------

describe("Contract: authentication service (ANAPLAN.md, 'Authentication service')", () => {
  it.scoped("basic login: POST /token/authenticate, Basic base64(email:password) -> 201, tokenInfo; tokens live 35 minutes [help] [openapi]", () =>
    withServer((server) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(1_000)
        const answer = yield* post(`${server.url}/token/authenticate`, basicHeader)
        // [openapi] "Returns 201 Created, not 200 OK as documented"
        assert.strictEqual(answer.status, 201)
        assert.strictEqual(decode(TokenAnswer, answer).tokenInfo.expiresAt, 1_000 + 35 * 60_000)
      })))

  it.scoped("refresh: POST /token/refresh -> 200, the same tokenValue and refreshTokenId, a later expiresAt; the token keeps working [openapi]", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const first = (yield* login(server)).tokenInfo
        yield* TestClock.adjust("10 minutes")
        const answer = yield* post(`${server.url}/token/refresh`, tokenHeader(first.tokenValue))
        // [openapi] "POST /token/refresh: Returns 200 OK"; "Returns the same token value"
        assert.strictEqual(answer.status, 200)
        const refreshed = decode(TokenAnswer, answer).tokenInfo
        assert.strictEqual(refreshed.tokenValue, first.tokenValue)
        // [openapi] "The refreshTokenId remains consistent across refresh operations"
        assert.strictEqual(refreshed.refreshTokenId, first.refreshTokenId)
        assert.isAbove(refreshed.expiresAt, first.expiresAt)
        assert.strictEqual((yield* get(`${server.url}/2/0/users/me`, tokenHeader(first.tokenValue))).status, 200)
      })))

  it.scoped("logout: POST /token/logout -> 204, and validate then answers 401 [openapi]", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const token = (yield* login(server)).tokenInfo.tokenValue
        assert.strictEqual((yield* post(`${server.url}/token/logout`, tokenHeader(token))).status, 204)
        // [openapi] "After logout, subsequent validation attempts return 401 Unauthorized"
        assert.strictEqual((yield* get(`${server.url}/token/validate`, tokenHeader(token))).status, 401)
      })))

  it.scoped("validate: GET /token/validate -> 200, nested tokenInfo and userInfo; userId is the email [openapi]", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const token = (yield* login(server)).tokenInfo
        const answer = yield* get(`${server.url}/token/validate`, tokenHeader(token.tokenValue))
        assert.strictEqual(answer.status, 200)
        const body = decode(ValidateAnswer, answer)
        assert.strictEqual(body.userInfo.userId, demo.email)
        assert.match(body.userInfo.userGuid, /^[0-9a-f]{32}$/)
        assert.strictEqual(body.tokenInfo.tokenId, token.tokenId)
        assert.strictEqual(body.tokenInfo.expiresAt, token.expiresAt)
      })))

  it.scoped("failures: wrong credentials and dead tokens 401 FAILURE_BAD_CREDENTIAL; a malformed Authorization header 400 FAILURE_BAD_HEADER [openapi] [help]", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const wrong = yield* post(`${server.url}/token/authenticate`, `Basic ${Buffer.from(`${demo.email}:nope`).toString("base64")}`)
        assert.strictEqual(wrong.status, 401)
        decode(Failure("FAILURE_BAD_CREDENTIAL"), wrong)
        const dead = yield* get(`${server.url}/token/validate`, tokenHeader("not-a-token"))
        assert.strictEqual(dead.status, 401)
        decode(Failure("FAILURE_BAD_CREDENTIAL"), dead)
        // [openapi] "Malformed headers (400): May be returned for malformed Authorization headers"
        const malformed = yield* post(`${server.url}/token/authenticate`, "Basic")
        assert.strictEqual(malformed.status, 400)
        decode(Failure("FAILURE_BAD_HEADER"), malformed)
      })))
})

layer(Layer.merge(certificatesLayer("effect-auth-contract-"), NodeHttpClient.layerUndici), { timeout: "60 seconds" })(
  "Contract: certificate login (ANAPLAN.md, 'Certificate details')",
  (it) => {
    const signed = (keyPath: string, data: Buffer) => ({
      encodedData: data.toString("base64"),
      // [sdk] RSA PKCS#1 v1.5 SHA-512 over the raw bytes
      encodedSignedData: sign("sha512", data, createPrivateKey(readFileSync(keyPath))).toString("base64")
    })
    const withCaServer = <A, E>(f: (server: Server, certs: TestCertificates.TestCertificates) => Effect.Effect<A, E, HttpClient.HttpClient | Scope.Scope>) =>
      Effect.gen(function*() {
        const certs = yield* Certificates
        yield* TestClock.setTime(Date.now())
        return yield* f(yield* AnaplanAuthServer.make({ trustedCaPem: certs.caPem }), certs)
      })

    it.scoped("CACertificate base64(PEM file), JSON {encodedData, encodedSignedData} of 150 random bytes -> 201 [sdk]", () =>
      withCaServer((server, certs) =>
        Effect.gen(function*() {
          const header = `CACertificate ${readFileSync(certs.clientCertPath).toString("base64")}`
          const answer = yield* post(`${server.url}/token/authenticate`, header, signed(certs.clientKeyPath, randomBytes(150)))
          assert.strictEqual(answer.status, 201, answer.text)
          decode(TokenAnswer, answer)
        })))

    it.scoped("CACertificate base64(DER certificate), as Anaplan's own examples show (MII...) -> 201 [help]", () =>
      withCaServer((server, certs) =>
        Effect.gen(function*() {
          const der = new X509Certificate(readFileSync(certs.clientCertPath)).raw.toString("base64")
          const answer = yield* post(`${server.url}/token/authenticate`, `CACertificate ${der}`, signed(certs.clientKeyPath, randomBytes(150)))
          assert.strictEqual(answer.status, 201, answer.text)
        })))

    it.scoped("encodedDataFormat v2: an 8-byte big-endian epoch-seconds timestamp first -> 201; fewer than 100 bytes -> 401 [help] [sdk]", () =>
      withCaServer((server, certs) =>
        Effect.gen(function*() {
          const header = `CACertificate ${readFileSync(certs.clientCertPath).toString("base64")}`
          const data = Buffer.concat([Buffer.alloc(8), randomBytes(142)])
          data.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)))
          const v2 = yield* post(`${server.url}/token/authenticate`, header, { ...signed(certs.clientKeyPath, data), encodedDataFormat: "v2" })
          assert.strictEqual(v2.status, 201, v2.text)
          const short = yield* post(`${server.url}/token/authenticate`, header, signed(certs.clientKeyPath, randomBytes(99)))
          assert.strictEqual(short.status, 401)
        })))
  }
)

describe("Contract: integration API (ANAPLAN.md, 'Integration API')", () => {
  it.scoped("GET /2/0/users/me with AnaplanAuthToken -> {meta, status, user{id, active, email, emailOptIn, firstName, lastName, lastLoginDate}} [help]", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const token = (yield* login(server)).tokenInfo.tokenValue
        const answer = yield* get(`${server.url}/2/0/users/me`, tokenHeader(token))
        assert.strictEqual(answer.status, 200)
        assert.strictEqual(decode(UsersMe, answer).user.email, demo.email)
      })))

  it.scoped("a role-restricted endpoint answers 401 ACCESS_CONTROL_DENIED to a user without the role (ANAPLAN.md)", () =>
    withServer(
      (server) =>
        Effect.gen(function*() {
          const token = (yield* login(server)).tokenInfo.tokenValue
          const answer = yield* get(`${server.url}/2/0/users`, tokenHeader(token))
          assert.strictEqual(answer.status, 401)
          decode(Failure("ACCESS_CONTROL_DENIED"), answer)
          // the same token is good elsewhere: not an expired token
          assert.strictEqual((yield* get(`${server.url}/2/0/users/me`, tokenHeader(token))).status, 200)
        }),
      { users: [{ ...demo, deniedEndpoints: ["/2/0/users"] }] }
    ))
})

describe("Contract: OAuth 2 (ANAPLAN.md, 'OAuth 2')", () => {
  it.effect("regional hosts: us1/eu1/ap1 share us1a.app.anaplan.com; au1 is au1a.app2.anaplan.com [allowlist]", () =>
    Effect.sync(() => {
      assert.strictEqual(AnaplanOAuth.oauthHosts.eu1, "https://us1a.app.anaplan.com")
      assert.strictEqual(AnaplanOAuth.oauthHosts.ap1, "https://us1a.app.anaplan.com")
      assert.strictEqual(AnaplanOAuth.oauthHosts.au1, "https://au1a.app2.anaplan.com")
      assert.strictEqual(AnaplanOAuth.oauthHosts.gb1, "https://gb1.app.anaplan.com")
    }))

  it.scoped("GET /auth/prelogin?response_type=code&client_id&redirect_uri&scope&state -> the login page; /auth/authorize -> 302 [sdk]", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const query = new URLSearchParams({ response_type: "code", client_id: web.clientId, redirect_uri: redirectUri, scope, state: "s" })
        assert.strictEqual((yield* get(`${server.url}/auth/prelogin?${query}`)).status, 200)
        const authorize = yield* send(HttpClientRequest.get(`${server.url}/auth/authorize?${query}`)).pipe(
          Effect.provideService(HttpClient.HttpClient, (yield* HttpClient.HttpClient).pipe(HttpClient.followRedirects(0)))
        )
        assert.strictEqual(authorize.status, 302)
      })))

  it.scoped("POST /oauth/token, authorization_code, client id and secret form-encoded -> access_token, refresh_token, expires_in 2100, bearer, scope without profile, id_token [sdk] [openapi]", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const answer = yield* exchange(server, yield* code(server))
        assert.strictEqual(answer.status, 200, answer.text)
        const tokens = decode(OAuthTokens, answer)
        assert.notInclude(tokens.scope.split(" "), "profile")
        // API calls take the access token in the same AnaplanAuthToken header
        assert.strictEqual((yield* get(`${server.url}/2/0/users/me`, tokenHeader(tokens.access_token))).status, 200)
      })))

  it.scoped("the token endpoint takes JSON too (Anaplan's Postman collection)", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const answer = yield* post(`${server.url}/oauth/token`, undefined, {
          grant_type: "authorization_code",
          code: yield* code(server),
          redirect_uri: redirectUri,
          client_id: web.clientId,
          client_secret: web.clientSecret
        })
        assert.strictEqual(answer.status, 200, answer.text)
      })))

  it.scoped("rotation: each refresh returns a new refresh token and spends the old one, which then answers invalid_grant [openapi] [community]", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const first = decode(OAuthTokens, yield* exchange(server, yield* code(server)))
        const second = decode(OAuthTokens, yield* refreshGrant(server, first.refresh_token))
        assert.notStrictEqual(second.refresh_token, first.refresh_token)
        const spent = yield* refreshGrant(server, first.refresh_token)
        assert.include([400, 401, 403], spent.status)
        decode(OAuthError("invalid_grant"), spent)
      })))

  it.scoped("rotating refresh tokens expire (43,000 s by default here; an administrator sets it) with invalid_grant [community]", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const first = decode(OAuthTokens, yield* exchange(server, yield* code(server)))
        yield* TestClock.adjust("43000 seconds")
        const expired = yield* refreshGrant(server, first.refresh_token)
        assert.include([400, 401, 403], expired.status)
        decode(OAuthError("invalid_grant"), expired)
      })))

  it.scoped("device grant: POST /oauth/device/code, JSON {client_id, scope}, no secret -> device_code, user_code, verification_uri, expires_in 900, interval 5; polled with the device_code grant [sdk]", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const answer = yield* post(`${server.url}/oauth/device/code`, undefined, { client_id: device.clientId, scope })
        assert.strictEqual(answer.status, 200, answer.text)
        const started = decode(DeviceAnswer, answer)
        // Anaplan's verification_uri is https://iam.anaplan.com/activate; the emulator serves its own page
        assert.strictEqual(started.verification_uri, `${server.url}/activate`)
        const poll = () =>
          post(`${server.url}/oauth/token`, undefined, {
            grant_type: "urn:ietf:params:oauth:grant-type:device_code",
            device_code: started.device_code,
            client_id: device.clientId
          })
        decode(OAuthError("authorization_pending"), yield* poll())
        assert.isTrue(yield* server.approveDevice(started.user_code, demo.email))
        yield* TestClock.adjust("5 seconds")
        const tokens = yield* poll()
        assert.strictEqual(tokens.status, 200, tokens.text)
        decode(OAuthTokens, tokens)
      })))

  it.scoped("an Anaplan OAuth client has one grant type: the other answers unauthorized_client (ANAPLAN.md)", () =>
    withServer((server) =>
      Effect.gen(function*() {
        decode(OAuthError("unauthorized_client"), yield* post(`${server.url}/oauth/device/code`, undefined, { client_id: web.clientId, client_secret: web.clientSecret }))
      })))

  it.scoped("there is no client-credentials grant (ANAPLAN.md): unsupported_grant_type", () =>
    withServer((server) =>
      Effect.gen(function*() {
        const answer = yield* postForm(`${server.url}/oauth/token`, {
          grant_type: "client_credentials",
          client_id: web.clientId,
          client_secret: web.clientSecret
        })
        assert.strictEqual(answer.status, 400)
        decode(OAuthError("unsupported_grant_type"), answer)
      })))
})
