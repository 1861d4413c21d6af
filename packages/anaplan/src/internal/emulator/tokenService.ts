/**
 * Anaplan's authentication service (`/token/authenticate`, `/token/refresh`, `/token/logout`,
 * `/token/validate`) and the integration API's `GET /2/0/users/me`.
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
import { apiFailure, authFailure, decodeBase64, json, parseAuthorization } from "./wire.js"

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

const basicLogin = (state: State, credentials: string, now: number) => {
  const decoded = decodeBase64(credentials)?.toString("utf8")
  const colon = decoded?.indexOf(":") ?? -1
  if (decoded === undefined || colon < 0) return authFailure("Malformed Basic credentials")
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

/** @internal */
export const router = (state: State) =>
  HttpRouter.empty.pipe(
    HttpRouter.post("/token/authenticate", endpoint(state, "authenticate", 201, authenticate)),
    HttpRouter.post("/token/refresh", endpoint(state, "refresh", 201, refresh)),
    HttpRouter.post("/token/logout", endpoint(state, "logout", 200, logout)),
    HttpRouter.get("/token/validate", endpoint(state, "validate", 200, validate)),
    HttpRouter.get("/2/0/users/me", endpoint(state, "usersMe", 200, usersMe))
  )
