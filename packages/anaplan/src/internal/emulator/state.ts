/**
 * The emulated tenant's state: users, tokens, OAuth grants and device requests, and the counters.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import {
  createHash,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
  timingSafeEqual,
  X509Certificate
} from "node:crypto"
import type { Counters, Fault, OAuthClient, Options, User } from "../../AnaplanAuthServer.js"
import { parseAuthorization } from "./wire.js"

/** @internal */
export interface UserRecord {
  readonly email: string
  readonly password: string | undefined
  readonly firstName: string
  readonly lastName: string
  readonly id: string
  /** Integration API paths that answer `401 ACCESS_CONTROL_DENIED` to this user. */
  readonly denied: ReadonlySet<string>
  lastLoginAt: number | undefined
}

/** @internal */
export interface TokenRecord {
  readonly tokenId: string
  readonly refreshTokenId: string
  readonly user: string
  readonly expiresAt: number
  /** The OAuth grant (family of refresh tokens) the token was issued under; none for `/token/*` logins. */
  readonly family?: string | undefined
}

/**
 * An authorization code: single use, short-lived, bound to client, redirect URI and PKCE challenge.
 *
 * @internal
 */
export interface CodeRecord {
  readonly clientId: string
  readonly redirectUri: string
  readonly user: string
  readonly scope: string
  readonly codeChallenge: string | undefined
  readonly expiresAt: number
  /** The authorization request's `nonce`, echoed in the ID token when the emulator is told to. */
  readonly nonce: string | undefined
  /** The grant the code starts; a second use of the code revokes it (RFC 6749 section 4.1.2). */
  readonly family: string
  used: boolean
}

/**
 * A refresh token: each one is spent by its refresh; presenting a spent one revokes its family.
 *
 * @internal
 */
export interface RefreshRecord {
  readonly clientId: string
  readonly user: string
  readonly scope: string
  readonly family: string
  spent: boolean
}

/** @internal */
export type DeviceStatus =
  | { readonly _tag: "Pending" }
  | { readonly _tag: "Approved"; readonly user: string }
  | { readonly _tag: "Denied" }

/** @internal */
export interface DeviceRecord {
  readonly userCode: string
  readonly clientId: string
  readonly scope: string
  readonly expiresAt: number
  intervalMillis: number
  lastPollAt: number | undefined
  status: DeviceStatus
}

/** @internal */
export interface State {
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
  /** The device grant's polling interval, in whole seconds (RFC 8628 `interval`). */
  readonly deviceIntervalMillis: number
  /** The unfaithful refresh: a new token value each time, the old one revoked. */
  readonly rotateOnRefresh: boolean
  /** Whether ID tokens echo the authorization request's `nonce`. */
  readonly echoNonce: boolean
  /** Signs ID tokens (ES256). */
  readonly signingKey: KeyObject
  readonly verificationKeyPem: string
  /** Refresh tokens of rotating clients without their own `refreshTokenLifetime` expire after this. */
  readonly refreshTokenLifetimeMillis: number
}

/** @internal */
export const zeroCounters = (): State["counters"] => ({
  authenticate: 0,
  refresh: 0,
  logout: 0,
  validate: 0,
  usersMe: 0,
  prelogin: 0,
  oauthToken: 0,
  deviceCode: 0,
  activate: 0,
  users: 0
})

const hex32 = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 32)

/**
 * The emulated tenant's customer id, as `users/me` reports it.
 *
 * @internal
 */
export const customerId = hex32("effect-auth emulator customer")

const capitalise = (text: string) => (text.length === 0 ? text : text[0].toUpperCase() + text.slice(1))

/** @internal */
export const toRecord = (user: User): UserRecord => ({
  email: user.email,
  password: user.password,
  firstName: user.firstName ?? capitalise(user.email.split("@")[0] ?? ""),
  lastName: user.lastName ?? "User",
  id: user.id ?? hex32(user.email.toLowerCase()),
  denied: new Set(user.deniedEndpoints ?? []),
  lastLoginAt: undefined
})

/** @internal */
export const makeState = (
  options: Options,
  defaults: {
    readonly demoUser: User
    readonly tokenLifetime: Duration.DurationInput
    readonly deviceCodeLifetime: Duration.DurationInput
    readonly refreshTokenLifetime: Duration.DurationInput
  }
): State => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" })
  return {
    url: "",
    users: new Map((options.users ?? [defaults.demoUser]).map((user) => [user.email.toLowerCase(), toRecord(user)])),
    tokens: new Map(),
    lifetimeMillis: Duration.toMillis(options.tokenLifetime ?? defaults.tokenLifetime),
    counters: zeroCounters(),
    faults: [],
    seenPayloads: new Set(),
    trustedCa: options.trustedCaPem === undefined ? undefined : new X509Certificate(options.trustedCaPem),
    clients: new Map((options.oauthClients ?? []).map((client) => [client.clientId, client])),
    codes: new Map(),
    refreshTokens: new Map(),
    revokedFamilies: new Set(),
    familyExpiry: new Map(),
    devices: new Map(),
    deviceLifetimeMillis: Duration.toMillis(options.deviceCodeLifetime ?? defaults.deviceCodeLifetime),
    deviceIntervalMillis: Math.max(1, Math.round(Duration.toSeconds(options.deviceInterval ?? "5 seconds"))) * 1000,
    rotateOnRefresh: options.rotateOnRefresh ?? false,
    echoNonce: options.echoNonce ?? false,
    signingKey: privateKey,
    verificationKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    refreshTokenLifetimeMillis: Duration.toMillis(defaults.refreshTokenLifetime)
  }
}

/** @internal */
export const randomCode = (bytes: number) => randomBytes(bytes).toString("base64url")

/**
 * Issues an access token for `user`, under the OAuth grant `family` when given.
 *
 * @internal
 */
export const issue = (state: State, user: UserRecord, now: number, family?: string) => {
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

/**
 * The live token named by an `AnaplanAuthToken` header, if any; expired tokens are forgotten.
 *
 * @internal
 */
export const liveToken = (state: State, header: string | undefined, now: number) => {
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

/** @internal */
export const sameSecret = (a: string, b: string) =>
  timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest())

/** @internal */
export const passwordMatches = (user: UserRecord | undefined, password: string): user is UserRecord =>
  user !== undefined && user.password !== undefined && sameSecret(user.password, password)

const normaliseUserCode = (code: string) => code.toUpperCase().replace(/[^A-Z]/g, "")

/**
 * The pending, unexpired device request with this user code.
 *
 * @internal
 */
export const pendingDevice = (state: State, userCode: string, now: number) => {
  const wanted = normaliseUserCode(userCode)
  for (const record of state.devices.values()) {
    if (normaliseUserCode(record.userCode) === wanted && record.status._tag === "Pending" && record.expiresAt > now) {
      return record
    }
  }
  return undefined
}
