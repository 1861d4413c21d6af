/** @internal */
import * as Either from "effect/Either"
import * as AuthError from "../AuthError.js"

/** @internal */
export interface AuthorizationResponse {
  readonly code: string
  /** The parameters of the redirect, for provider quirks (never logged). */
  readonly params: URLSearchParams
}

/** @internal */
export interface ExpectedRedirect {
  readonly state: string
  /** RFC 9207: when the redirect carries `iss`, it must be this issuer. */
  readonly issuer?: string | undefined
  readonly site?: string | undefined
}

/**
 * Extracts the parameters of a redirect: a full URL (query or fragment), a bare query string, or
 * `undefined` when `input` is neither.
 *
 * @internal
 */
export const redirectParams = (input: string | URL | URLSearchParams): URLSearchParams | undefined => {
  if (input instanceof URLSearchParams) return input
  if (input instanceof URL) return input.search.length > 1 ? input.searchParams : new URLSearchParams(input.hash.slice(1))
  const trimmed = input.trim()
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    try {
      return redirectParams(new URL(trimmed))
    } catch {
      return undefined
    }
  }
  if (trimmed.startsWith("?") || trimmed.startsWith("#")) return new URLSearchParams(trimmed.slice(1))
  if (trimmed.includes("=")) return new URLSearchParams(trimmed)
  return undefined
}

/**
 * Validates the authorization response of the authorization code grant.
 *
 * - `state` must be present and equal to ours: RFC 6749 section 10.12 (CSRF), section 4.1.2.
 * - `iss`, when present, must equal the issuer: RFC 9207 section 2.4 (mix-up attacks).
 * - `error=access_denied` is the person declining: RFC 6749 section 4.1.2.1 -> `LoginCancelled`;
 *   any other `error` -> `InvalidCredentials` naming the code.
 * - `code` is required on success: RFC 6749 section 4.1.2.
 *
 * @internal
 */
export const validateAuthorizationResponse = (
  params: URLSearchParams,
  expected: ExpectedRedirect
): Either.Either<AuthorizationResponse, AuthError.AuthError> => {
  const site = expected.site
  const state = params.get("state")
  if (state === null || state !== expected.state) {
    return Either.left(
      new AuthError.InvalidCredentials({
        site,
        detail: state === null
          ? "The login redirect carries no state parameter (RFC 6749 section 10.12)"
          : "The login redirect does not belong to this login attempt (state mismatch, RFC 6749 section 10.12)",
        hint: "Start the login again and complete it in the browser window it opens."
      })
    )
  }
  const iss = params.get("iss")
  if (iss !== null && expected.issuer !== undefined && iss !== expected.issuer) {
    return Either.left(
      new AuthError.InvalidCredentials({
        site,
        detail: "The login redirect comes from another issuer (RFC 9207 section 2.4)",
        hint: "Check the configured issuer; start the login again."
      })
    )
  }
  const error = params.get("error")
  if (error !== null) {
    const code = safeCode(error)
    return Either.left(
      code === "access_denied"
        ? new AuthError.LoginCancelled({ site, detail: "The login was declined in the browser (access_denied)" })
        : new AuthError.InvalidCredentials({
          site,
          detail: `The authorization server refused the login (${code})`,
          hint: "Check the client id, the redirect URI and the scopes registered with the provider."
        })
    )
  }
  const code = params.get("code")
  if (code === null || code.length === 0) {
    return Either.left(
      new AuthError.MalformedResponse({
        site,
        detail: "The login redirect carries neither a code nor an error (RFC 6749 section 4.1.2)"
      })
    )
  }
  return Either.right({ code, params })
}

/**
 * An OAuth error code for messages: RFC 6749 section 5.2 restricts codes to printable ASCII; anything
 * else (or anything long) is not echoed.
 *
 * @internal
 */
export const safeCode = (code: string): string =>
  /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(code) ? code : "an unrecognised error code"
