/**
 * Anaplan's OAuth service: the token endpoint (`POST /oauth/token`: authorization code, refresh
 * token with rotation and reuse detection, device code) and the device authorization endpoint
 * (`POST /oauth/device/code`); the checks of an authorization request that the login page shares.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import type { OAuthClient } from "../../AnaplanAuthServer.js"
import { endpoint, type Handler } from "./faults.js"
import { issueIdToken } from "./idToken.js"
import { issue, randomCode, sameSecret, type State, type UserRecord } from "./state.js"
import {
  bodyParams,
  decodeBase64,
  errorPage,
  json,
  oauthError,
  parseAuthorization,
  redirect,
  redirectTo
} from "./wire.js"

/** How long an authorization code can be exchanged: short, as RFC 6749 section 4.1.2 asks. */
const codeLifetimeMillis = 60_000
/** @internal */
export const defaultScope = "openid profile email offline_access"

/** Anaplan registers each client for one grant type; a client without `grantTypes` may use both. */
export const allows = (client: OAuthClient, grant: "authorization_code" | "device_code") =>
  client.grantTypes === undefined || client.grantTypes.includes(grant)

const unauthorizedClient = () => oauthError(400, "unauthorized_client", "The client may not use this grant type")

/**
 * Checks an authorization request. Without a known client or a registered redirect URI the error is
 * shown, never redirected (RFC 6749 section 4.1.2.1); other errors go back to the client.
 */
export const checkAuthorization = (state: State, params: Map<string, string>) => {
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
    nonce: params.get("nonce"),
    codeChallenge: challenge
  } as const
}

/** Issues a code for a checked request and returns the redirect URL. */
export const issueCode = (
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
    nonce: request.nonce,
    expiresAt: now + codeLifetimeMillis,
    family: randomUUID(),
    used: false
  })
  user.lastLoginAt = now
  return redirectTo(request.redirectUri, { code, state: request.state })
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

/**
 * The standard token answer (RFC 6749 section 5.1); a refresh token only with `offline_access`, an
 * ID token with `openid`.
 */
const issueOAuthTokens = (
  state: State,
  grant: {
    readonly clientId: string
    readonly user: UserRecord
    readonly scope: string
    readonly family: string
    readonly nonce?: string | undefined
  },
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
    // Anaplan's answer lists the granted scopes without `profile` (ANAPLAN.md, "OAuth 2")
    scope: grant.scope.split(" ").filter((scope) => scope !== "profile").join(" "),
    token_type: "bearer",
    ...(hasScope(grant.scope, "openid") ? { id_token: issueIdToken(state, grant, now) } : {})
  }, { "cache-control": "no-store", pragma: "no-cache" })
}

/**
 * A new grant: its refresh tokens expire together, a fixed time after the login (rotating clients:
 * the client's `refreshTokenLifetime`, by default the emulator's; non-rotating ones never).
 */
const startGrant = (state: State, client: OAuthClient, family: string, now: number) => {
  const lifetime = client.refreshTokenLifetime !== undefined
    ? Duration.toMillis(client.refreshTokenLifetime)
    : client.rotateRefreshTokens === false
    ? undefined
    : state.refreshTokenLifetimeMillis
  if (lifetime !== undefined) state.familyExpiry.set(family, now + lifetime)
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
  return issueOAuthTokens(
    state,
    { clientId: client.clientId, user, scope: record.scope, family: record.family, nonce: record.nonce },
    now
  )
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

/** Anaplan's device authorization request is JSON `{"client_id", "scope"}`, as every public client sends it. */
const deviceAuthorization: Handler = (state, request, now) =>
  Effect.map(bodyParams(request), (params) => {
    if (!(request.headers["content-type"] ?? "").toLowerCase().includes("json")) {
      return oauthError(400, "invalid_request", "The device authorization request must be JSON: {\"client_id\", \"scope\"}")
    }
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
      intervalMillis: state.deviceIntervalMillis,
      lastPollAt: undefined,
      status: { _tag: "Pending" }
    })
    return json(200, {
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: `${state.url}/activate`,
      verification_uri_complete: `${state.url}/activate?user_code=${userCode}`,
      expires_in: Math.floor(state.deviceLifetimeMillis / 1000),
      interval: state.deviceIntervalMillis / 1000
    }, { "cache-control": "no-store" })
  })

/** @internal */
export const router = (state: State) =>
  HttpRouter.empty.pipe(
    HttpRouter.post("/oauth/token", endpoint(state, "oauthToken", 200, oauthToken)),
    HttpRouter.post("/oauth/device/code", endpoint(state, "deviceCode", 200, deviceAuthorization))
  )
