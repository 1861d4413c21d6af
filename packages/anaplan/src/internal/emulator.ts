/** @internal */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { createHash, randomBytes, randomUUID, timingSafeEqual, verify, X509Certificate } from "node:crypto"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import type { AnaplanAuthServer, Counters, Fault, OAuthClient, Options, User } from "../AnaplanAuthServer.js"

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
  /** The OAuth grant (family of refresh tokens) the token was issued under; none for `/token/*` logins. */
  readonly family?: string | undefined
}

/** An authorization code: single use, short-lived, bound to client, redirect URI and PKCE challenge. */
interface CodeRecord {
  readonly clientId: string
  readonly redirectUri: string
  readonly user: string
  readonly scope: string
  readonly codeChallenge: string | undefined
  readonly expiresAt: number
  /** The grant the code starts; a second use of the code revokes it (RFC 6749 section 4.1.2). */
  readonly family: string
  used: boolean
}

/** A refresh token: each one is spent by its refresh; presenting a spent one revokes its family. */
interface RefreshRecord {
  readonly clientId: string
  readonly user: string
  readonly scope: string
  readonly family: string
  spent: boolean
}

type DeviceStatus =
  | { readonly _tag: "Pending" }
  | { readonly _tag: "Approved"; readonly user: string }
  | { readonly _tag: "Denied" }

interface DeviceRecord {
  readonly userCode: string
  readonly clientId: string
  readonly scope: string
  readonly expiresAt: number
  intervalMillis: number
  lastPollAt: number | undefined
  status: DeviceStatus
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
  readonly clients: Map<string, OAuthClient>
  readonly codes: Map<string, CodeRecord>
  readonly refreshTokens: Map<string, RefreshRecord>
  /** OAuth grants revoked by reuse detection. */
  readonly revokedFamilies: Set<string>
  /** When the refresh tokens of a grant stop working, for clients with a `refreshTokenLifetime`. */
  readonly familyExpiry: Map<string, number>
  /** By device code. */
  readonly devices: Map<string, DeviceRecord>
  readonly deviceLifetimeMillis: number
}

const zeroCounters = (): State["counters"] => ({
  authenticate: 0,
  refresh: 0,
  logout: 0,
  validate: 0,
  usersMe: 0,
  prelogin: 0,
  oauthToken: 0,
  deviceCode: 0,
  activate: 0
})

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

const issue = (state: State, user: UserRecord, now: number, family?: string) => {
  // Expired tokens are otherwise forgotten only when presented: keep a long-running emulator small.
  if (state.tokens.size >= 10_000) {
    for (const [token, record] of state.tokens) if (record.expiresAt <= now) state.tokens.delete(token)
  }
  const token = `${randomBytes(16).toString("base64")}.${randomBytes(47).toString("base64")}`
  const record: TokenRecord = {
    tokenId: randomUUID(),
    refreshTokenId: randomUUID(),
    user: user.email.toLowerCase(),
    expiresAt: now + state.lifetimeMillis,
    family
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
  if (live.record.family !== undefined) {
    return Effect.succeed(authFailure("OAuth access tokens are renewed with their refresh token at /oauth/token"))
  }
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

// ---------------------------------------------------------------------------------------------
// OAuth 2 (Anaplan's OAuth service: `/auth/prelogin`, `/oauth/token`, `/oauth/device/code`)

/** How long an authorization code can be exchanged: short, as RFC 6749 section 4.1.2 asks. */
const codeLifetimeMillis = 60_000
/** The device grant's polling interval (RFC 8628 section 3.2); `slow_down` adds 5 seconds. */
const deviceIntervalMillis = 5_000
const defaultScope = "openid profile email offline_access"

const randomCode = (bytes: number) => randomBytes(bytes).toString("base64url")

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const html = (status: number, body: string) =>
  HttpServerResponse.text(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Anaplan (emulator)</title></head>` +
      `<body style="font-family:sans-serif;margin:3em">${body}</body></html>`,
    {
      status,
      contentType: "text/html; charset=utf-8",
      headers: {
        "cache-control": "no-store",
        "x-frame-options": "DENY",
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
      }
    }
  )

const errorPage = (title: string, detail: string) =>
  html(400, `<h1 id="title">${escapeHtml(title)}</h1><p id="error" role="alert">${escapeHtml(detail)}</p>`)

const redirect = (location: string) =>
  HttpServerResponse.empty({ status: 302, headers: { location, "cache-control": "no-store" } })

/** OAuth error answer (RFC 6749 section 5.2). */
const oauthError = (status: number, error: string, description: string, headers?: Record<string, string>) =>
  json(status, { error, error_description: description }, { "cache-control": "no-store", pragma: "no-cache", ...headers })

/** The parameters of a form-encoded or JSON body (public Anaplan clients send JSON to `/oauth/*`). */
const bodyParams = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Map<string, string>> =>
  request.text.pipe(
    Effect.map((text) => {
      const params = new Map<string, string>()
      if ((request.headers["content-type"] ?? "").toLowerCase().includes("json")) {
        try {
          const parsed: unknown = JSON.parse(text)
          if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
            for (const [key, value] of Object.entries(parsed)) {
              if (typeof value === "string") params.set(key, value)
              else if (typeof value === "number") params.set(key, String(value))
            }
          }
        } catch {
          // an empty map: every required parameter is then missing
        }
      } else {
        for (const [key, value] of new URLSearchParams(text)) if (!params.has(key)) params.set(key, value)
      }
      return params
    }),
    Effect.orElseSucceed(() => new Map<string, string>())
  )

const queryParams = (request: HttpServerRequest.HttpServerRequest) => {
  const query = request.url.indexOf("?")
  const params = new Map<string, string>()
  if (query >= 0) for (const [key, value] of new URLSearchParams(request.url.slice(query + 1))) {
    if (!params.has(key)) params.set(key, value)
  }
  return params
}

/** Anaplan registers each client for one grant type; a client without `grantTypes` may use both. */
const allows = (client: OAuthClient, grant: "authorization_code" | "device_code") =>
  client.grantTypes === undefined || client.grantTypes.includes(grant)

const unauthorizedClient = () => oauthError(400, "unauthorized_client", "The client may not use this grant type")

/** The parameters of an authorization request, carried through the login form. */
const authorizationParams = [
  "response_type",
  "client_id",
  "redirect_uri",
  "scope",
  "state",
  "code_challenge",
  "code_challenge_method"
] as const

/**
 * Checks an authorization request. Without a known client or a registered redirect URI the error is
 * shown, never redirected (RFC 6749 section 4.1.2.1); other errors go back to the client.
 */
const checkAuthorization = (state: State, params: Map<string, string>) => {
  const client = state.clients.get(params.get("client_id") ?? "")
  if (client === undefined) {
    return { _tag: "Page", page: errorPage("Unknown application", "No OAuth client with this client_id is registered.") } as const
  }
  const redirectUri = params.get("redirect_uri")
  if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
    return {
      _tag: "Page",
      page: errorPage("Invalid redirect URI", "The redirect_uri is not one of the client's allowed callback URLs.")
    } as const
  }
  const back = (error: string, description: string) => ({
    _tag: "Redirect",
    response: redirect(redirectTo(redirectUri, { error, error_description: description, state: params.get("state") }))
  }) as const
  if (params.get("response_type") !== "code") {
    return back("unsupported_response_type", "Only response_type=code is supported")
  }
  if (!allows(client, "authorization_code")) {
    return back("unauthorized_client", "This client is not an authorization code grant client")
  }
  const challenge = params.get("code_challenge")
  const method = params.get("code_challenge_method")
  // RFC 7636 section 4.3: without a method the challenge is "plain", which this server refuses (section 4.4.1).
  if (challenge !== undefined && (method !== "S256" || !/^[A-Za-z0-9_-]{43}$/.test(challenge))) {
    return back("invalid_request", "code_challenge must be an S256 challenge (code_challenge_method=S256)")
  }
  if (challenge === undefined && method !== undefined) {
    return back("invalid_request", "code_challenge_method without code_challenge")
  }
  return {
    _tag: "Valid",
    client,
    redirectUri,
    scope: params.get("scope") ?? defaultScope,
    state: params.get("state"),
    codeChallenge: challenge
  } as const
}

const redirectTo = (redirectUri: string, params: Record<string, string | undefined>) => {
  const url = new URL(redirectUri)
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value)
  return url.href
}

/** Issues a code for a checked request and returns the redirect URL. */
const issueCode = (
  state: State,
  request: Extract<ReturnType<typeof checkAuthorization>, { _tag: "Valid" }>,
  user: UserRecord,
  now: number
) => {
  if (state.codes.size >= 10_000) {
    for (const [code, record] of state.codes) if (record.expiresAt <= now) state.codes.delete(code)
  }
  const code = randomCode(24)
  state.codes.set(code, {
    clientId: request.client.clientId,
    redirectUri: request.redirectUri,
    user: user.email.toLowerCase(),
    scope: request.scope,
    codeChallenge: request.codeChallenge,
    expiresAt: now + codeLifetimeMillis,
    family: randomUUID(),
    used: false
  })
  user.lastLoginAt = now
  return redirectTo(request.redirectUri, { code, state: request.state })
}

const loginForm = (params: Map<string, string>, client: OAuthClient, email: string, error?: string) =>
  html(
    200,
    `<h1 id="title">Log in to Anaplan</h1>` +
      `<p>Application <strong id="client">${escapeHtml(client.name ?? client.clientId)}</strong> asks to act on your behalf.</p>` +
      (error === undefined ? "" : `<p id="error" role="alert" style="color:#b00">${escapeHtml(error)}</p>`) +
      `<form method="post" action="/auth/prelogin">` +
      authorizationParams.map((key) => {
        const value = params.get(key)
        return value === undefined ? "" : `<input type="hidden" name="${key}" value="${escapeHtml(value)}">`
      }).join("") +
      `<p><label for="email">Email</label><br><input id="email" name="email" type="email" autocomplete="username" ` +
      `value="${escapeHtml(email)}" required></p>` +
      `<p><label for="password">Password</label><br><input id="password" name="password" type="password" ` +
      `autocomplete="current-password" required></p>` +
      `<p><button id="login" type="submit" name="action" value="login">Log in</button> ` +
      `<button id="cancel" type="submit" name="action" value="deny" formnovalidate>Cancel</button></p>` +
      `</form>`
  )

const prelogin: Handler = (state, request, now) => {
  if (request.method === "GET") {
    const params = queryParams(request)
    const checked = checkAuthorization(state, params)
    switch (checked._tag) {
      case "Page":
        return Effect.succeed(checked.page)
      case "Redirect":
        return Effect.succeed(checked.response)
      case "Valid":
        return Effect.succeed(loginForm(params, checked.client, ""))
    }
  }
  return Effect.map(bodyParams(request), (params) => {
    const checked = checkAuthorization(state, params)
    if (checked._tag === "Page") return checked.page
    if (checked._tag === "Redirect") return checked.response
    if (params.get("action") === "deny") {
      return redirect(redirectTo(checked.redirectUri, {
        error: "access_denied",
        error_description: "The user cancelled the login",
        state: checked.state
      }))
    }
    const email = params.get("email") ?? ""
    const user = state.users.get(email.toLowerCase())
    const password = params.get("password") ?? ""
    if (user === undefined || user.password === undefined || !sameSecret(user.password, password)) {
      return loginForm(params, checked.client, email, "The email or password is incorrect. Try again.")
    }
    return redirect(issueCode(state, checked, user, now))
  })
}

/** Form-decoding of the `client_secret_basic` parts (RFC 6749 section 2.3.1). */
const formDecode = (text: string) => {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "))
  } catch {
    return undefined
  }
}

/** Client authentication: `client_secret_basic`, `client_secret_post`, or none for public clients. */
const authenticateClient = (
  state: State,
  request: HttpServerRequest.HttpServerRequest,
  params: Map<string, string>
): OAuthClient | HttpServerResponse.HttpServerResponse => {
  const authorization = parseAuthorization(request.headers["authorization"])
  let basic: { readonly id: string; readonly secret: string } | undefined
  if (authorization?.scheme === "basic") {
    const decoded = decodeBase64(authorization.credentials)?.toString("utf8")
    const colon = decoded?.indexOf(":") ?? -1
    const id = decoded === undefined || colon < 0 ? undefined : formDecode(decoded.slice(0, colon))
    const secret = decoded === undefined || colon < 0 ? undefined : formDecode(decoded.slice(colon + 1))
    if (id === undefined || secret === undefined) {
      return oauthError(401, "invalid_client", "Malformed Basic client credentials", { "www-authenticate": "Basic" })
    }
    basic = { id, secret }
  }
  const clientId = basic?.id ?? params.get("client_id")
  const client = clientId === undefined ? undefined : state.clients.get(clientId)
  if (client === undefined) return oauthError(401, "invalid_client", "Unknown client")
  if (client.clientSecret !== undefined) {
    const secret = basic?.secret ?? params.get("client_secret")
    if (secret === undefined || !sameSecret(client.clientSecret, secret)) {
      return oauthError(401, "invalid_client", "Client authentication failed", basic ? { "www-authenticate": "Basic" } : undefined)
    }
  }
  return client
}

const hasScope = (scope: string, wanted: string) => scope.split(" ").includes(wanted)

/** The standard token answer (RFC 6749 section 5.1); a refresh token only with `offline_access`. */
const issueOAuthTokens = (
  state: State,
  grant: { readonly clientId: string; readonly user: UserRecord; readonly scope: string; readonly family: string },
  now: number,
  newRefreshToken = true
) => {
  const { token } = issue(state, grant.user, now, grant.family)
  let refreshToken: string | undefined
  if (newRefreshToken && hasScope(grant.scope, "offline_access")) {
    refreshToken = randomCode(32)
    state.refreshTokens.set(refreshToken, {
      clientId: grant.clientId,
      user: grant.user.email.toLowerCase(),
      scope: grant.scope,
      family: grant.family,
      spent: false
    })
  }
  return json(200, {
    access_token: token,
    ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
    expires_in: Math.floor(state.lifetimeMillis / 1000),
    scope: grant.scope,
    token_type: "bearer"
  }, { "cache-control": "no-store", pragma: "no-cache" })
}

/** A new grant: its refresh tokens expire together, a fixed time after the login. */
const startGrant = (state: State, client: OAuthClient, family: string, now: number) => {
  if (client.refreshTokenLifetime !== undefined) {
    state.familyExpiry.set(family, now + Duration.toMillis(client.refreshTokenLifetime))
  }
}

/** Reuse detection: the whole grant dies, its access tokens with it. */
const revokeFamily = (state: State, family: string) => {
  state.revokedFamilies.add(family)
  for (const [token, record] of state.tokens) if (record.family === family) state.tokens.delete(token)
}

const invalidGrant = (description: string) => oauthError(400, "invalid_grant", description)

const authorizationCodeGrant = (state: State, client: OAuthClient, params: Map<string, string>, now: number) => {
  const code = params.get("code")
  const redirectUri = params.get("redirect_uri")
  if (code === undefined || redirectUri === undefined) {
    return oauthError(400, "invalid_request", "code and redirect_uri are required")
  }
  const record = state.codes.get(code)
  if (record === undefined || record.clientId !== client.clientId) return invalidGrant("Unknown authorization code")
  if (record.used) {
    // RFC 6749 section 4.1.2: a code used twice revokes what it granted.
    revokeFamily(state, record.family)
    return invalidGrant("The authorization code was already used")
  }
  record.used = true
  if (record.expiresAt <= now) return invalidGrant("The authorization code expired")
  if (record.redirectUri !== redirectUri) return invalidGrant("redirect_uri does not match the authorization request")
  if (record.codeChallenge !== undefined) {
    const verifier = params.get("code_verifier")
    // RFC 7636 section 4.6: BASE64URL(SHA256(verifier)) must equal the challenge.
    if (
      verifier === undefined || !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) ||
      createHash("sha256").update(verifier, "ascii").digest("base64url") !== record.codeChallenge
    ) {
      return invalidGrant("PKCE verification failed")
    }
  }
  const user = state.users.get(record.user)
  if (user === undefined) return invalidGrant("The user no longer exists")
  startGrant(state, client, record.family, now)
  return issueOAuthTokens(state, { clientId: client.clientId, user, scope: record.scope, family: record.family }, now)
}

const refreshTokenGrant = (state: State, client: OAuthClient, params: Map<string, string>, now: number) => {
  const presented = params.get("refresh_token")
  if (presented === undefined) return oauthError(400, "invalid_request", "refresh_token is required")
  const record = state.refreshTokens.get(presented)
  if (record === undefined || record.clientId !== client.clientId) return invalidGrant("Unknown refresh token")
  if (state.revokedFamilies.has(record.family)) return invalidGrant("The refresh token was revoked")
  if ((state.familyExpiry.get(record.family) ?? Infinity) <= now) return invalidGrant("The refresh token expired")
  if (record.spent) {
    revokeFamily(state, record.family)
    return invalidGrant("The refresh token was already used; every token of this grant is now revoked")
  }
  const requested = params.get("scope")
  if (requested !== undefined && !requested.split(" ").every((scope) => scope === "" || hasScope(record.scope, scope))) {
    return oauthError(400, "invalid_scope", "The requested scope exceeds the granted scope")
  }
  const user = state.users.get(record.user)
  if (user === undefined) return invalidGrant("The user no longer exists")
  // A non-rotatable client keeps its refresh token: the answer carries none (RFC 6749 section 6).
  const rotate = client.rotateRefreshTokens !== false
  if (rotate) record.spent = true
  return issueOAuthTokens(
    state,
    { clientId: client.clientId, user, scope: record.scope, family: record.family },
    now,
    rotate
  )
}

const deviceCodeGrant = (state: State, client: OAuthClient, params: Map<string, string>, now: number) => {
  const deviceCode = params.get("device_code")
  if (deviceCode === undefined) return oauthError(400, "invalid_request", "device_code is required")
  const record = state.devices.get(deviceCode)
  if (record === undefined || record.clientId !== client.clientId) return invalidGrant("Unknown device code")
  if (record.expiresAt <= now) return oauthError(400, "expired_token", "The device code expired")
  switch (record.status._tag) {
    case "Denied":
      return oauthError(400, "access_denied", "The user denied the request")
    case "Approved": {
      state.devices.delete(deviceCode)
      const user = state.users.get(record.status.user)
      if (user === undefined) return invalidGrant("The user no longer exists")
      const family = randomUUID()
      startGrant(state, client, family, now)
      return issueOAuthTokens(state, { clientId: client.clientId, user, scope: record.scope, family }, now)
    }
    case "Pending": {
      const last = record.lastPollAt
      record.lastPollAt = now
      // RFC 8628 section 3.5: polling faster than the interval earns slow_down and a longer interval.
      if (last !== undefined && now - last < record.intervalMillis) {
        record.intervalMillis += 5_000
        return oauthError(400, "slow_down", "Polling too fast")
      }
      return oauthError(400, "authorization_pending", "The user has not yet confirmed the code")
    }
  }
}

const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

const oauthToken: Handler = (state, request, now) =>
  Effect.map(bodyParams(request), (params) => {
    const client = authenticateClient(state, request, params)
    if (HttpServerResponse.isServerResponse(client)) return client
    switch (params.get("grant_type")) {
      case "authorization_code":
        return allows(client, "authorization_code")
          ? authorizationCodeGrant(state, client, params, now)
          : unauthorizedClient()
      case "refresh_token":
        return refreshTokenGrant(state, client, params, now)
      case deviceGrantType:
        return allows(client, "device_code") ? deviceCodeGrant(state, client, params, now) : unauthorizedClient()
      case undefined:
        return oauthError(400, "invalid_request", "grant_type is required")
      default:
        return oauthError(400, "unsupported_grant_type", "Supported: authorization_code, refresh_token, device_code")
    }
  })

/** User codes from 20 consonants, `XXXX-XXXX` (RFC 8628 section 6.1). */
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
const newUserCode = () => {
  const bytes = randomBytes(8)
  const chars = Array.from(bytes, (byte) => userCodeAlphabet[byte % userCodeAlphabet.length])
  return `${chars.slice(0, 4).join("")}-${chars.slice(4).join("")}`
}
const normaliseUserCode = (code: string) => code.toUpperCase().replace(/[^A-Z]/g, "")

const deviceAuthorization: Handler = (state, request, now) =>
  Effect.map(bodyParams(request), (params) => {
    const client = authenticateClient(state, request, params)
    if (HttpServerResponse.isServerResponse(client)) return client
    if (!allows(client, "device_code")) return unauthorizedClient()
    // Keep a long-running emulator small.
    for (const [code, record] of state.devices) if (record.expiresAt <= now) state.devices.delete(code)
    const deviceCode = randomCode(32)
    const userCode = newUserCode()
    state.devices.set(deviceCode, {
      userCode,
      clientId: client.clientId,
      scope: params.get("scope") ?? defaultScope,
      expiresAt: now + state.deviceLifetimeMillis,
      intervalMillis: deviceIntervalMillis,
      lastPollAt: undefined,
      status: { _tag: "Pending" }
    })
    return json(200, {
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: `${state.url}/activate`,
      verification_uri_complete: `${state.url}/activate?user_code=${userCode}`,
      expires_in: Math.floor(state.deviceLifetimeMillis / 1000),
      interval: deviceIntervalMillis / 1000
    }, { "cache-control": "no-store" })
  })

/** The pending, unexpired device request with this user code. */
const pendingDevice = (state: State, userCode: string, now: number) => {
  const wanted = normaliseUserCode(userCode)
  for (const record of state.devices.values()) {
    if (normaliseUserCode(record.userCode) === wanted && record.status._tag === "Pending" && record.expiresAt > now) {
      return record
    }
  }
  return undefined
}

const activationForm = (userCode: string, email: string, message?: { readonly id: string; readonly text: string }) =>
  html(
    200,
    `<h1 id="title">Activate a device</h1>` +
      (message === undefined ? "" : `<p id="${message.id}" role="alert">${escapeHtml(message.text)}</p>`) +
      `<form method="post" action="/activate">` +
      `<p><label for="user_code">Code shown on the device</label><br><input id="user_code" name="user_code" ` +
      `value="${escapeHtml(userCode)}" autocomplete="off" required></p>` +
      `<p><label for="email">Email</label><br><input id="email" name="email" type="email" autocomplete="username" ` +
      `value="${escapeHtml(email)}" required></p>` +
      `<p><label for="password">Password</label><br><input id="password" name="password" type="password" ` +
      `autocomplete="current-password" required></p>` +
      `<p><button id="approve" type="submit" name="action" value="approve">Approve</button> ` +
      `<button id="deny" type="submit" name="action" value="deny">Deny</button></p>` +
      `</form>`
  )

/** The verification page of the device grant (RFC 8628 section 3.3): the person confirms the code. */
const activate: Handler = (state, request, now) => {
  if (request.method === "GET") return Effect.succeed(activationForm(queryParams(request).get("user_code") ?? "", ""))
  return Effect.map(bodyParams(request), (params) => {
    const userCode = params.get("user_code") ?? ""
    const email = params.get("email") ?? ""
    const user = state.users.get(email.toLowerCase())
    if (user === undefined || user.password === undefined || !sameSecret(user.password, params.get("password") ?? "")) {
      return activationForm(userCode, email, { id: "error", text: "The email or password is incorrect. Try again." })
    }
    const record = pendingDevice(state, userCode, now)
    if (record === undefined) {
      return activationForm("", email, { id: "error", text: "This code is unknown, expired or already used." })
    }
    if (params.get("action") === "deny") {
      record.status = { _tag: "Denied" }
      return activationForm("", "", { id: "done", text: "The device was denied access. You can close this window." })
    }
    record.status = { _tag: "Approved", user: user.email.toLowerCase() }
    user.lastLoginAt = now
    return activationForm("", "", { id: "done", text: "The device is now connected. You can close this window." })
  })
}

interface Route {
  readonly methods: ReadonlyArray<"GET" | "POST">
  readonly counter: keyof Counters
  readonly success: number
  readonly handle: Handler
}

const routes = new Map<string, Route>([
  ["/token/authenticate", { methods: ["POST"], counter: "authenticate", success: 201, handle: authenticate }],
  ["/token/refresh", { methods: ["POST"], counter: "refresh", success: 201, handle: refresh }],
  ["/token/logout", { methods: ["POST"], counter: "logout", success: 200, handle: logout }],
  ["/token/validate", { methods: ["GET"], counter: "validate", success: 200, handle: validate }],
  ["/2/0/users/me", { methods: ["GET"], counter: "usersMe", success: 200, handle: usersMe }],
  ["/auth/prelogin", { methods: ["GET", "POST"], counter: "prelogin", success: 200, handle: prelogin }],
  ["/auth/login", { methods: ["POST"], counter: "prelogin", success: 200, handle: prelogin }],
  ["/oauth/token", { methods: ["POST"], counter: "oauthToken", success: 200, handle: oauthToken }],
  ["/oauth/device/code", { methods: ["POST"], counter: "deviceCode", success: 200, handle: deviceAuthorization }],
  ["/activate", { methods: ["GET", "POST"], counter: "activate", success: 200, handle: activate }]
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
    const matches = route !== undefined && route.methods.some((method) => method === request.method)
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
        case "Reset": {
          const response = NodeHttpServerRequest.toServerResponse(request)
          response.writeHead(route?.success ?? 200, { "content-type": "application/json", "content-length": "512" })
          response.write("{\"status\":\"SUCCESS\",\"statusMessage\":\"Login successful\",\"tokenInfo\":{\"expiresAt\":")
          response.socket?.resetAndDestroy()
          return yield* Effect.never
        }
        case "Delay":
          yield* Effect.sleep(fault.delay)
      }
    }
    if (route === undefined) return apiFailure(404, "Not Found")
    if (!matches) return json(405, { status: { code: 405, message: "Method Not Allowed" } }, { allow: route.methods.join(", ") })
    return yield* route.handle(state, request, yield* Clock.currentTimeMillis)
  })

/** @internal */
export const make = (
  options: Options,
  demoUser: User,
  defaultLifetime: Duration.DurationInput,
  defaultDeviceLifetime: Duration.DurationInput
) =>
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
      trustedCa,
      clients: new Map((options.oauthClients ?? []).map((client) => [client.clientId, client])),
      codes: new Map(),
      refreshTokens: new Map(),
      revokedFamilies: new Set(),
      familyExpiry: new Map(),
      devices: new Map(),
      deviceLifetimeMillis: Duration.toMillis(options.deviceCodeLifetime ?? defaultDeviceLifetime)
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
      }),
      addOAuthClient: (client) => Effect.sync(() => void state.clients.set(client.clientId, client)),
      authorize: (request) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const params = new Map<string, string>([
            ["response_type", "code"],
            ["client_id", request.clientId],
            ["redirect_uri", request.redirectUri],
            ["scope", request.scope ?? defaultScope]
          ])
          if (request.state !== undefined) params.set("state", request.state)
          if (request.codeChallenge !== undefined) {
            params.set("code_challenge", request.codeChallenge)
            params.set("code_challenge_method", "S256")
          }
          const checked = checkAuthorization(state, params)
          if (checked._tag === "Page") {
            return Effect.fail(
              new Cause.IllegalArgumentException("authorize: unknown client or unregistered redirect URI")
            )
          }
          if (checked._tag === "Redirect") {
            return Effect.fail(new Cause.IllegalArgumentException("authorize: invalid authorization request"))
          }
          if (request.deny === true) {
            return Effect.succeed(redirectTo(checked.redirectUri, {
              error: "access_denied",
              error_description: "The user cancelled the login",
              state: checked.state
            }))
          }
          const user = state.users.get(request.email.toLowerCase())
          if (user === undefined) return Effect.fail(new Cause.IllegalArgumentException("authorize: unknown user"))
          return Effect.succeed(issueCode(state, checked, user, now))
        }),
      approveDevice: (userCode, email) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const record = pendingDevice(state, userCode, now)
          const user = state.users.get(email.toLowerCase())
          if (record === undefined || user === undefined) return false
          record.status = { _tag: "Approved", user: email.toLowerCase() }
          user.lastLoginAt = now
          return true
        }),
      denyDevice: (userCode) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const record = pendingDevice(state, userCode, now)
          if (record === undefined) return false
          record.status = { _tag: "Denied" }
          return true
        })
    }
    return service
  })
