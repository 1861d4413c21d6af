/** @internal */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { createHash, randomBytes, randomUUID, timingSafeEqual, verify, X509Certificate } from "node:crypto"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import type { AnaplanAuthServer, Counters, Fault, Options, User } from "../AnaplanAuthServer.js"

interface UserRecord {
  readonly email: string
  readonly password: string | undefined
  readonly firstName: string
  readonly lastName: string
  readonly id: string
  lastLoginAt: number | undefined
}

interface TokenRecord {
  readonly tokenId: string
  readonly refreshTokenId: string
  readonly user: string
  readonly expiresAt: number
}

interface State {
  url: string
  readonly users: Map<string, UserRecord>
  readonly tokens: Map<string, TokenRecord>
  lifetimeMillis: number
  counters: { -readonly [K in keyof Counters]: number }
  readonly faults: Array<{ readonly fault: Fault; remaining: number }>
  readonly seenPayloads: Set<string>
  readonly trustedCa: X509Certificate | undefined
}

const zeroCounters = (): State["counters"] => ({ authenticate: 0, refresh: 0, logout: 0, validate: 0, usersMe: 0 })

const hex32 = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 32)

/** The emulated tenant's customer id, as `users/me` reports it. */
const customerId = hex32("effect-auth emulator customer")

const capitalise = (text: string) => (text.length === 0 ? text : text[0].toUpperCase() + text.slice(1))

const toRecord = (user: User): UserRecord => ({
  email: user.email,
  password: user.password,
  firstName: user.firstName ?? capitalise(user.email.split("@")[0] ?? ""),
  lastName: user.lastName ?? "User",
  id: user.id ?? hex32(user.email.toLowerCase()),
  lastLoginAt: undefined
})

// ---------------------------------------------------------------------------------------------
// Responses

const json = (status: number, body: unknown, headers?: Record<string, string>) =>
  HttpServerResponse.unsafeJson(body, { status, ...(headers === undefined ? {} : { headers }) })

/** The auth service's failure answer; clients must not rely on its text. */
const authFailure = (statusMessage: string) =>
  json(401, { status: "FAILURE_BAD_CREDENTIAL", statusMessage }, { "www-authenticate": "AnaplanAuthToken" })

/** The integration API's failure answer. */
const apiFailure = (code: number, message: string) => json(code, { status: { code, message } })

const tokenAnswer = (state: State, token: string, record: TokenRecord, statusMessage: string) =>
  json(201, {
    meta: { validationUrl: `${state.url}/token/validate` },
    status: "SUCCESS",
    statusMessage,
    tokenInfo: {
      expiresAt: record.expiresAt,
      tokenId: record.tokenId,
      tokenValue: token,
      refreshTokenId: record.refreshTokenId
    }
  })

// ---------------------------------------------------------------------------------------------
// Authorization header and tokens

const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/

/** Strict base64: Node's decoder silently skips garbage, Anaplan's does not. */
const decodeBase64 = (text: string): Buffer | undefined =>
  text.length % 4 === 0 && base64Pattern.test(text) ? Buffer.from(text, "base64") : undefined

/** `<scheme> <credentials>` (RFC 9110 section 11.4: the scheme is case-insensitive). */
const parseAuthorization = (header: string | undefined) => {
  if (header === undefined) return undefined
  const match = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) +([^\s]+)\s*$/.exec(header)
  return match === null ? undefined : { scheme: match[1].toLowerCase(), credentials: match[2] }
}

const issue = (state: State, user: UserRecord, now: number) => {
  // Expired tokens are otherwise forgotten only when presented: keep a long-running emulator small.
  if (state.tokens.size >= 10_000) {
    for (const [token, record] of state.tokens) if (record.expiresAt <= now) state.tokens.delete(token)
  }
  const token = `${randomBytes(16).toString("base64")}.${randomBytes(47).toString("base64")}`
  const record: TokenRecord = {
    tokenId: randomUUID(),
    refreshTokenId: randomUUID(),
    user: user.email.toLowerCase(),
    expiresAt: now + state.lifetimeMillis
  }
  state.tokens.set(token, record)
  return { token, record }
}

/** The live token named by an `AnaplanAuthToken` header, if any; expired tokens are forgotten. */
const liveToken = (state: State, header: string | undefined, now: number) => {
  const authorization = parseAuthorization(header)
  if (authorization === undefined || authorization.scheme !== "anaplanauthtoken") return undefined
  const record = state.tokens.get(authorization.credentials)
  if (record === undefined) return undefined
  const user = state.users.get(record.user)
  if (record.expiresAt <= now || user === undefined) {
    state.tokens.delete(authorization.credentials)
    return undefined
  }
  return { token: authorization.credentials, record, user }
}

const sameSecret = (a: string, b: string) =>
  timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest())

// ---------------------------------------------------------------------------------------------
// Endpoints

type Handler = (
  state: State,
  request: HttpServerRequest.HttpServerRequest,
  now: number
) => Effect.Effect<HttpServerResponse.HttpServerResponse>

const basicLogin = (state: State, credentials: string, now: number) => {
  const decoded = decodeBase64(credentials)?.toString("utf8")
  const colon = decoded?.indexOf(":") ?? -1
  if (decoded === undefined || colon < 0) return authFailure("Malformed Basic credentials")
  const user = state.users.get(decoded.slice(0, colon).toLowerCase())
  const password = decoded.slice(colon + 1)
  if (user === undefined || user.password === undefined || !sameSecret(user.password, password)) {
    return authFailure("The credentials supplied were invalid")
  }
  user.lastLoginAt = now
  const { record, token } = issue(state, user, now)
  return tokenAnswer(state, token, record, "Login successful")
}

/** Anaplan's `encodedDataFormat: "v2"` prefixes the random data with an 8-byte big-endian epoch-seconds timestamp. */
const v2Skew = Duration.toMillis(Duration.minutes(5))

const certificateLogin = (state: State, credentials: string, body: string, now: number) => {
  const pem = decodeBase64(credentials)?.toString("utf8")
  if (pem === undefined || !pem.includes("-----BEGIN CERTIFICATE-----")) {
    return authFailure("The CACertificate header must carry the base64 of a PEM certificate")
  }
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(pem)
  } catch {
    return authFailure("The certificate could not be parsed")
  }
  const ca = state.trustedCa
  if (ca === undefined || certificate.ca || !certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) {
    return authFailure("The certificate was not issued by a trusted certificate authority")
  }
  if (now < Date.parse(certificate.validFrom)) return authFailure("The certificate is not yet valid")
  if (now > Date.parse(certificate.validTo)) return authFailure("The certificate has expired")

  let payload: unknown
  try {
    payload = JSON.parse(body)
  } catch {
    return authFailure("The body must be JSON with encodedData and encodedSignedData")
  }
  if (typeof payload !== "object" || payload === null) {
    return authFailure("The body must be JSON with encodedData and encodedSignedData")
  }
  const fields = payload as Record<string, unknown>
  const data = typeof fields.encodedData === "string" ? decodeBase64(fields.encodedData) : undefined
  const signature = typeof fields.encodedSignedData === "string" ? decodeBase64(fields.encodedSignedData) : undefined
  if (data === undefined || signature === undefined) {
    return authFailure("encodedData and encodedSignedData must be base64 strings")
  }
  if (data.length < 100) return authFailure("encodedData must carry at least 100 bytes")
  const format = fields.encodedDataFormat
  if (format !== undefined && format !== "v2") return authFailure("Unknown encodedDataFormat")
  if (format === "v2" && Math.abs(Number(data.readBigUInt64BE(0)) * 1000 - now) > v2Skew) {
    return authFailure("The encodedData timestamp is too far from the current time")
  }
  if (certificate.publicKey.asymmetricKeyType !== "rsa") return authFailure("The certificate key must be RSA")
  let valid = false
  try {
    valid = verify("sha512", data, certificate.publicKey, signature)
  } catch {
    valid = false
  }
  if (!valid) return authFailure("The signature does not match the certificate")
  const nonce = data.toString("base64")
  if (state.seenPayloads.has(nonce)) return authFailure("This encodedData was already used")
  state.seenPayloads.add(nonce)

  const user = certificateNames(certificate).map((name) => state.users.get(name.toLowerCase())).find((u) => u !== undefined)
  if (user === undefined) return authFailure("No user matches the certificate")
  user.lastLoginAt = now
  const { record, token } = issue(state, user, now)
  return tokenAnswer(state, token, record, "Login successful")
}

/** The subject's emailAddress, the subjectAltName emails, then the CN. */
const certificateNames = (certificate: X509Certificate): Array<string> => {
  const subject = certificate.subject.split("\n").map((line) => {
    const eq = line.indexOf("=")
    return { key: line.slice(0, eq), value: line.slice(eq + 1) }
  })
  const alternative = (certificate.subjectAltName ?? "").split(",").map((entry) => entry.trim())
    .filter((entry) => entry.startsWith("email:")).map((entry) => entry.slice("email:".length))
  return [
    ...subject.filter((entry) => entry.key === "emailAddress").map((entry) => entry.value),
    ...alternative,
    ...subject.filter((entry) => entry.key === "CN").map((entry) => entry.value)
  ]
}

const authenticate: Handler = (state, request, now) => {
  const authorization = parseAuthorization(request.headers["authorization"])
  if (authorization?.scheme === "basic") return Effect.succeed(basicLogin(state, authorization.credentials, now))
  if (authorization?.scheme === "cacertificate") {
    return request.text.pipe(
      Effect.map((body) => certificateLogin(state, authorization.credentials, body, now)),
      Effect.orElseSucceed(() => json(400, { status: "FAILURE", statusMessage: "The body could not be read" }))
    )
  }
  return Effect.succeed(authFailure("Authorization must be Basic or CACertificate"))
}

const refresh: Handler = (state, request, now) => {
  const live = liveToken(state, request.headers["authorization"], now)
  if (live === undefined) return Effect.succeed(authFailure("Invalid or expired token"))
  state.tokens.delete(live.token)
  const { record, token } = issue(state, live.user, now)
  return Effect.succeed(tokenAnswer(state, token, record, "Token refreshed"))
}

const logout: Handler = (state, request, now) => {
  const live = liveToken(state, request.headers["authorization"], now)
  if (live === undefined) return Effect.succeed(authFailure("Invalid or expired token"))
  state.tokens.delete(live.token)
  return Effect.succeed(HttpServerResponse.empty({ status: 204 }))
}

const validate: Handler = (state, request, now) => {
  const live = liveToken(state, request.headers["authorization"], now)
  if (live === undefined) return Effect.succeed(authFailure("Invalid or expired token"))
  return Effect.succeed(json(200, {
    meta: { validationUrl: `${state.url}/token/validate` },
    status: "SUCCESS",
    statusMessage: "Token validated",
    userId: live.user.id,
    userGuid: live.user.id,
    customerGuid: customerId,
    email: live.user.email,
    tokenId: live.record.tokenId,
    expiresAt: live.record.expiresAt
  }))
}

const formatDate = (millis: number) => new Date(millis).toISOString().replace("Z", "+0000")

const usersMe: Handler = (state, request, now) => {
  const live = liveToken(state, request.headers["authorization"], now)
  if (live === undefined) return Effect.succeed(apiFailure(401, "Unauthorized"))
  const user = live.user
  return Effect.succeed(json(200, {
    meta: { schema: `${state.url}/2/0/objects/user` },
    status: { code: 200, message: "Success" },
    user: {
      id: user.id,
      active: true,
      email: user.email,
      emailOptIn: false,
      firstName: user.firstName,
      lastName: user.lastName,
      customerId,
      lastLoginDate: formatDate(user.lastLoginAt ?? now)
    }
  }))
}

interface Route {
  readonly method: "GET" | "POST"
  readonly counter: keyof Counters
  readonly success: number
  readonly handle: Handler
}

const routes = new Map<string, Route>([
  ["/token/authenticate", { method: "POST", counter: "authenticate", success: 201, handle: authenticate }],
  ["/token/refresh", { method: "POST", counter: "refresh", success: 201, handle: refresh }],
  ["/token/logout", { method: "POST", counter: "logout", success: 200, handle: logout }],
  ["/token/validate", { method: "GET", counter: "validate", success: 200, handle: validate }],
  ["/2/0/users/me", { method: "GET", counter: "usersMe", success: 200, handle: usersMe }]
])

const takeFault = (state: State): Fault | undefined => {
  const next = state.faults[0]
  if (next === undefined) return undefined
  next.remaining -= 1
  if (next.remaining <= 0) state.faults.shift()
  return next.fault
}

const respond = (state: State) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const path = request.url.split("?")[0]
    const route = routes.get(path)
    const matches = route !== undefined && request.method === route.method
    if (matches) state.counters[route.counter] += 1
    const fault = takeFault(state)
    yield* Effect.logDebug("anaplan emulator request").pipe(
      Effect.annotateLogs({ method: request.method, path, fault: fault?._tag ?? "none" })
    )
    if (fault !== undefined) {
      switch (fault._tag) {
        case "Status":
          return json(
            fault.status,
            { status: "FAILURE", statusMessage: `Injected fault: ${fault.status}` },
            fault.retryAfter === undefined ? undefined : { "retry-after": fault.retryAfter }
          )
        case "Body":
          return HttpServerResponse.text(fault.body, {
            status: fault.status ?? (route?.success === 200 || route === undefined ? 200 : route.success),
            contentType: fault.contentType ?? "application/json"
          })
        case "Hang":
          return yield* Effect.never
        case "Delay":
          yield* Effect.sleep(fault.delay)
      }
    }
    if (route === undefined) return apiFailure(404, "Not Found")
    if (!matches) return json(405, { status: { code: 405, message: "Method Not Allowed" } }, { allow: route.method })
    return yield* route.handle(state, request, yield* Clock.currentTimeMillis)
  })

/** @internal */
export const make = (options: Options, demoUser: User, defaultLifetime: Duration.DurationInput) =>
  Effect.gen(function*() {
    const trustedCa = options.trustedCaPem === undefined ? undefined : new X509Certificate(options.trustedCaPem)
    const state: State = {
      url: "",
      users: new Map((options.users ?? [demoUser]).map((user) => [user.email.toLowerCase(), toRecord(user)])),
      tokens: new Map(),
      lifetimeMillis: Duration.toMillis(options.tokenLifetime ?? defaultLifetime),
      counters: zeroCounters(),
      faults: [],
      seenPayloads: new Set(),
      trustedCa
    }
    const nodeServer = createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, { port: options.port ?? 0, host: "127.0.0.1" })
    // Runs before the server's own close, which would otherwise wait for hanging requests.
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    yield* server.serve(respond(state))
    state.url = `http://127.0.0.1:${(nodeServer.address() as AddressInfo).port}`

    const service: AnaplanAuthServer.Service = {
      url: state.url,
      addUser: (user) => Effect.sync(() => void state.users.set(user.email.toLowerCase(), toRecord(user))),
      setTokenLifetime: (lifetime) => Effect.sync(() => void (state.lifetimeMillis = Duration.toMillis(lifetime))),
      counters: Effect.sync(() => ({ ...state.counters })),
      resetCounters: Effect.sync(() => void (state.counters = zeroCounters())),
      injectFault: (fault, times = 1) =>
        Effect.sync(() => {
          if (times > 0) state.faults.push({ fault, remaining: times })
        }),
      expireAllTokens: Effect.sync(() => state.tokens.clear()),
      activeTokens: Effect.map(Clock.currentTimeMillis, (now) => {
        let active = 0
        for (const record of state.tokens.values()) if (record.expiresAt > now) active += 1
        return active
      })
    }
    return service
  })
