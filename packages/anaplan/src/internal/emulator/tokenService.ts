/**
 * Anaplan's authentication service: `/token/authenticate` (basic and certificate), `/token/refresh`,
 * `/token/logout`, `/token/validate`.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { verify, X509Certificate } from "node:crypto"
import { endpoint, type Handler } from "./faults.js"
import { customerId, issue, liveToken, passwordMatches, type State, type TokenRecord } from "./state.js"
import { authFailure, badHeader, decodeBase64, json, malformedAuthorization, parseAuthorization } from "./wire.js"

const tokenAnswer = (state: State, token: string, record: TokenRecord, statusMessage: string, status = 201) =>
  json(status, {
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

const basicLogin = (state: State, credentials: string, now: number) => {
  const decoded = decodeBase64(credentials)?.toString("utf8")
  const colon = decoded?.indexOf(":") ?? -1
  if (decoded === undefined || colon < 0) return badHeader("Malformed Basic credentials")
  const user = state.users.get(decoded.slice(0, colon).toLowerCase())
  if (!passwordMatches(user, decoded.slice(colon + 1))) {
    return authFailure("The credentials supplied were invalid")
  }
  user.lastLoginAt = now
  const { record, token } = issue(state, user, now)
  return tokenAnswer(state, token, record, "Login successful")
}

/** Anaplan's `encodedDataFormat: "v2"` prefixes the random data with an 8-byte big-endian epoch-seconds timestamp. */
const v2Skew = Duration.toMillis(Duration.minutes(5))

const certificateLogin = (state: State, credentials: string, body: string, now: number) => {
  // The base64 of the PEM file (what anaplan-sdk sends) or of the DER certificate (Anaplan's examples).
  const bytes = decodeBase64(credentials)
  if (bytes === undefined) return badHeader("The CACertificate header must carry a base64 certificate")
  const pem = bytes.toString("latin1")
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(pem.includes("-----BEGIN CERTIFICATE-----") ? pem : bytes)
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
  if (malformedAuthorization(request)) return Effect.succeed(badHeader("Malformed Authorization header"))
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

/** An endpoint of a live `AnaplanAuthToken`: `400` for a malformed header, `401` for a dead token. */
const withToken = (
  answer: (state: State, live: NonNullable<ReturnType<typeof liveToken>>, now: number) => HttpServerResponse.HttpServerResponse
): Handler =>
(state, request, now) => {
  if (malformedAuthorization(request)) return Effect.succeed(badHeader("Malformed Authorization header"))
  const live = liveToken(state, request.headers["authorization"], now)
  return Effect.succeed(live === undefined ? authFailure("Invalid or expired token") : answer(state, live, now))
}

/**
 * Anaplan extends the token: `200`, the same `tokenValue` (and `tokenId`, `refreshTokenId`), a later
 * `expiresAt`; the token in use keeps working. `rotateOnRefresh` restores the old, unfaithful
 * answer (`201`, a new value, the old one revoked) for tests of clients that must cope with it.
 */
const refresh = withToken((state, live, now) => {
  if (live.record.family !== undefined) {
    return authFailure("OAuth access tokens are renewed with their refresh token at /oauth/token")
  }
  if (state.rotateOnRefresh) {
    state.tokens.delete(live.token)
    const { record, token } = issue(state, live.user, now)
    return tokenAnswer(state, token, record, "Token refreshed")
  }
  const record = { ...live.record, expiresAt: now + state.lifetimeMillis }
  state.tokens.set(live.token, record)
  return tokenAnswer(state, live.token, record, "Token refreshed", 200)
})

const logout = withToken((state, live) => {
  state.tokens.delete(live.token)
  return HttpServerResponse.empty({ status: 204 })
})

/** Nested, as Anaplan answers it: `userInfo.userId` is the user's email. */
const validate = withToken((state, live) =>
  json(200, {
    meta: { validationUrl: `${state.url}/token/validate` },
    status: "SUCCESS",
    statusMessage: "Token validated",
    tokenInfo: {
      expiresAt: live.record.expiresAt,
      tokenId: live.record.tokenId,
      refreshTokenId: live.record.refreshTokenId
    },
    userInfo: {
      userGuid: live.user.id,
      userId: live.user.email,
      customerGuid: customerId
    }
  })
)

/** @internal */
export const router = (state: State) =>
  HttpRouter.empty.pipe(
    HttpRouter.post("/token/authenticate", endpoint(state, "authenticate", 201, authenticate)),
    HttpRouter.post("/token/refresh", endpoint(state, "refresh", state.rotateOnRefresh ? 201 : 200, refresh)),
    HttpRouter.post("/token/logout", endpoint(state, "logout", 200, logout)),
    HttpRouter.get("/token/validate", endpoint(state, "validate", 200, validate))
  )
