/**
 * The typed failures of authentication. Every message says what happened and what to do next,
 * and never contains a secret.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@effect-auth/core/AuthError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

const fields = {
  /** What happened, in one sentence, without secrets. */
  detail: Schema.String,
  /** The site or strategy concerned, when known. */
  site: Schema.optional(Schema.String),
  /** What the user can do about it; each error has a sensible default. */
  hint: Schema.optional(Schema.String)
}

const render = (self: { readonly detail: string; readonly site?: string | undefined; readonly hint?: string | undefined }, hint: string) => {
  const where = self.site ? `[${self.site}] ` : ""
  const detail = self.detail.endsWith(".") ? self.detail : `${self.detail}.`
  return `${where}${detail} ${self.hint ?? hint}`
}

/**
 * The service rejected what we sent: a wrong password, an untrusted certificate, a revoked refresh
 * token, a second `401` from an API right after a fresh token.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidCredentials extends Schema.TaggedError<InvalidCredentials>(
  "@effect-auth/core/InvalidCredentials"
)("InvalidCredentials", fields) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return render(this, "Check the credentials and log in again.")
  }
}

/**
 * The token expired and cannot be renewed without a new login.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenExpired extends Schema.TaggedError<TokenExpired>("@effect-auth/core/TokenExpired")(
  "TokenExpired",
  fields
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return render(this, "Log in again (for the CLI: `effect-auth login`).")
  }
}

/**
 * The token is good but the account lacks the permission for what was asked (Anaplan's `401`
 * `ACCESS_CONTROL_DENIED`, RFC 6750's `insufficient_scope`). Refreshing or logging in again cannot
 * fix it, so nothing is retried. `resource` is what was refused (`GET /2/0/users`), `reason` the
 * service's code for the refusal.
 *
 * @since 0.1.0
 * @category errors
 */
export class AccessDenied extends Schema.TaggedError<AccessDenied>("@effect-auth/core/AccessDenied")("AccessDenied", {
  ...fields,
  resource: Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return render(
      this,
      "The account lacks the permission: ask an administrator for the role or scope. Logging in again will not help."
    )
  }
}

/**
 * Nothing usable is stored and the strategy cannot log in without a person.
 *
 * @since 0.1.0
 * @category errors
 */
export class LoginRequired extends Schema.TaggedError<LoginRequired>("@effect-auth/core/LoginRequired")(
  "LoginRequired",
  fields
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return render(this, "Log in first (for the CLI: `effect-auth login`).")
  }
}

/**
 * The service could not be reached or answered with a transient failure (network error, timeout,
 * 5xx, 429) after retries. Carries the status and the server's `Retry-After`, when there was one.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthServiceUnavailable extends Schema.TaggedError<AuthServiceUnavailable>(
  "@effect-auth/core/AuthServiceUnavailable"
)("AuthServiceUnavailable", {
  ...fields,
  status: Schema.optional(Schema.Number),
  retryAfterMillis: Schema.optional(Schema.Number)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return render(this, "The service may be down or rate limiting; try again shortly.")
  }
}

/**
 * The service answered something that cannot be decoded: HTML instead of JSON, a missing field,
 * a non-numeric expiry.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>(
  "@effect-auth/core/MalformedResponse"
)("MalformedResponse", {
  ...fields,
  status: Schema.optional(Schema.Number)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return render(this, "Check that the configured host is the right authentication service.")
  }
}

/**
 * The person declined or aborted an interactive login.
 *
 * @since 0.1.0
 * @category errors
 */
export class LoginCancelled extends Schema.TaggedError<LoginCancelled>("@effect-auth/core/LoginCancelled")(
  "LoginCancelled",
  fields
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return render(this, "Run the login again when ready.")
  }
}

/**
 * An interactive login did not complete in time.
 *
 * @since 0.1.0
 * @category errors
 */
export class LoginTimeout extends Schema.TaggedError<LoginTimeout>("@effect-auth/core/LoginTimeout")(
  "LoginTimeout",
  fields
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return render(this, "Run the login again and complete it before the deadline.")
  }
}

/**
 * Local configuration is unusable: a missing certificate file, a key that does not match its
 * certificate, a wrong passphrase, a missing setting. Raised before any network call.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidConfiguration extends Schema.TaggedError<InvalidConfiguration>(
  "@effect-auth/core/InvalidConfiguration"
)("InvalidConfiguration", fields) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return render(this, "Fix the configuration and try again.")
  }
}

/**
 * A credential store failed or holds an entry that cannot be read. Names the store and the key;
 * the entry is left in place for inspection.
 *
 * @since 0.1.0
 * @category errors
 */
export class CredentialStoreError extends Schema.TaggedError<CredentialStoreError>(
  "@effect-auth/core/CredentialStoreError"
)("CredentialStoreError", {
  ...fields,
  store: Schema.String,
  key: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    const where = this.key === undefined ? `${this.store}` : `${this.store}, key "${this.key}"`
    return render(
      { ...this, detail: `${this.detail} (store: ${where})` },
      "Log out to remove the entry, or fix the store, then log in again."
    )
  }
}

/**
 * Every failure of authentication.
 *
 * @since 0.1.0
 * @category errors
 */
export type AuthError =
  | InvalidCredentials
  | TokenExpired
  | AccessDenied
  | LoginRequired
  | AuthServiceUnavailable
  | MalformedResponse
  | LoginCancelled
  | LoginTimeout
  | InvalidConfiguration
  | CredentialStoreError

/**
 * @since 0.1.0
 * @category refinements
 */
export const isAuthError = (u: unknown): u is AuthError => Predicate.hasProperty(u, TypeId)

/**
 * Whether retrying the same call may succeed: only {@link AuthServiceUnavailable}.
 *
 * @since 0.1.0
 * @category refinements
 */
export const isTransient = (error: AuthError): error is AuthServiceUnavailable =>
  error._tag === "AuthServiceUnavailable"
