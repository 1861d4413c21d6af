/** @internal */
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createHash, randomBytes } from "node:crypto"
import type * as AuthError from "../AuthError.js"
import * as AuthResponse from "../AuthResponse.js"
import { type ClientAuth, clientPost } from "./oauth2ClientAuth.js"
import type { RequestContext } from "./oauth2Discovery.js"
import { readTokenResponse, tokenError } from "./oauth2Token.js"

// ---------------------------------------------------------------------------------------------
// PKCE (RFC 7636) and the authorization request (RFC 6749 section 4.1.1)
// ---------------------------------------------------------------------------------------------

const base64url = (bytes: Buffer): string => bytes.toString("base64url")

/**
 * A code verifier: 32 bytes from the CSPRNG, base64url, 43 characters from the unreserved set
 * (RFC 7636 section 4.1, whose section 7.1 asks for 256 bits of entropy).
 *
 * @internal
 */
export const generateCodeVerifier = (): Redacted.Redacted<string> => Redacted.make(base64url(randomBytes(32)))

/**
 * `S256`: base64url(SHA-256(ASCII(verifier))), RFC 7636 section 4.2.
 *
 * @internal
 */
export const codeChallengeS256 = (verifier: Redacted.Redacted<string>): string =>
  base64url(createHash("sha256").update(Redacted.value(verifier), "ascii").digest())

/** A random value for `state` and `nonce`: 128 bits or more (RFC 6749 section 10.10). */
const randomValue = (): string => base64url(randomBytes(24))

/** @internal */
export interface AuthorizationRequest {
  /** Where to send the person. */
  readonly url: URL
  readonly redirectUri: string
  /** Checked against the redirect (RFC 6749 section 10.12). */
  readonly state: string
  /** Sent with the code exchange (RFC 7636 section 4.5); `undefined` when PKCE is off. */
  readonly codeVerifier: Redacted.Redacted<string> | undefined
  /** Checked against the ID token (OIDC Core section 3.1.2.1); `undefined` without `openid`. */
  readonly nonce: string | undefined
}

/** @internal */
export interface AuthorizationRequestOptions {
  readonly authorizationEndpoint: string
  readonly clientId: string
  readonly redirectUri: string
  readonly scopes?: ReadonlyArray<string> | undefined
  /** PKCE S256; default `true`. */
  readonly pkce?: boolean | undefined
  /** Send a nonce; default: when the scopes include `openid`. */
  readonly nonce?: boolean | undefined
  /** Extra query parameters (`prompt`, `audience`, ...); they cannot override the protocol ones. */
  readonly extraParams?: Readonly<Record<string, string>> | undefined
}

/** @internal */
export const authorizationRequest = (options: AuthorizationRequestOptions): Effect.Effect<AuthorizationRequest> =>
  Effect.sync(() => {
    const scopes = options.scopes ?? []
    const state = randomValue()
    const codeVerifier = options.pkce === false ? undefined : generateCodeVerifier()
    const nonce = (options.nonce ?? scopes.includes("openid")) ? randomValue() : undefined
    const url = new URL(options.authorizationEndpoint)
    for (const [key, value] of Object.entries(options.extraParams ?? {})) url.searchParams.set(key, value)
    url.searchParams.set("response_type", "code")
    url.searchParams.set("client_id", options.clientId)
    url.searchParams.set("redirect_uri", options.redirectUri)
    if (scopes.length > 0) url.searchParams.set("scope", scopes.join(" "))
    url.searchParams.set("state", state)
    if (nonce !== undefined) url.searchParams.set("nonce", nonce)
    if (codeVerifier !== undefined) {
      url.searchParams.set("code_challenge", codeChallengeS256(codeVerifier))
      url.searchParams.set("code_challenge_method", "S256")
    }
    return { url, redirectUri: options.redirectUri, state, codeVerifier, nonce }
  })

// ---------------------------------------------------------------------------------------------
// Token endpoint requests (RFC 6749 sections 4.1.3, 4.4.2, 6)
// ---------------------------------------------------------------------------------------------

/** @internal */
export const authorizationCodeGrantRequest = (
  tokenEndpoint: string,
  client: ClientAuth,
  options: {
    readonly code: string
    readonly redirectUri: string
    readonly codeVerifier?: Redacted.Redacted<string> | undefined
  }
): HttpClientRequest.HttpClientRequest =>
  clientPost(tokenEndpoint, client, {
    grant_type: "authorization_code",
    code: options.code,
    redirect_uri: options.redirectUri,
    code_verifier: options.codeVerifier === undefined ? undefined : Redacted.value(options.codeVerifier)
  })

/** @internal */
export const refreshTokenGrantRequest = (
  tokenEndpoint: string,
  client: ClientAuth,
  options: { readonly refreshToken: Redacted.Redacted<string>; readonly scopes?: ReadonlyArray<string> | undefined }
): HttpClientRequest.HttpClientRequest =>
  clientPost(tokenEndpoint, client, {
    grant_type: "refresh_token",
    refresh_token: Redacted.value(options.refreshToken),
    scope: options.scopes !== undefined && options.scopes.length > 0 ? options.scopes.join(" ") : undefined
  })

/** @internal */
export const clientCredentialsGrantRequest = (
  tokenEndpoint: string,
  client: ClientAuth,
  options: {
    readonly scopes?: ReadonlyArray<string> | undefined
    readonly extraParams?: Readonly<Record<string, string>> | undefined
  } = {}
): HttpClientRequest.HttpClientRequest =>
  clientPost(tokenEndpoint, client, {
    ...options.extraParams,
    grant_type: "client_credentials",
    scope: options.scopes !== undefined && options.scopes.length > 0 ? options.scopes.join(" ") : undefined
  })

// ---------------------------------------------------------------------------------------------
// Revocation (RFC 7009)
// ---------------------------------------------------------------------------------------------

/**
 * The revocation request: `token` and `token_type_hint` (RFC 7009 section 2.1).
 *
 * @internal
 */
export const revocationRequest = (
  endpoint: string,
  client: ClientAuth,
  options: { readonly token: Redacted.Redacted<string>; readonly tokenTypeHint?: "access_token" | "refresh_token" }
): HttpClientRequest.HttpClientRequest =>
  clientPost(endpoint, client, { token: Redacted.value(options.token), token_type_hint: options.tokenTypeHint })

/**
 * RFC 7009 section 2.2: 200 means revoked (or already invalid, which is the same to us); section
 * 2.2.1: 503 is transient; other errors are typed as at the token endpoint.
 *
 * @internal
 */
export const processRevocationResponse = (
  response: HttpClientResponse.HttpClientResponse,
  context: RequestContext = {}
): Effect.Effect<void, AuthError.AuthError> => {
  const options = { ...context, operation: "token revocation" }
  if (response.status === 200) return Effect.void
  return Effect.flatMap(readTokenResponse(response, options), (outcome) =>
    outcome._tag === "Error"
      ? Effect.fail(tokenError(outcome.error, outcome.status, options))
      : AuthResponse.statusError(response, { site: context.site, operation: options.operation }))
}
