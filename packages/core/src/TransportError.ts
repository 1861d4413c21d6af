/**
 * Why a request could not reach its service through the network settings of `HttpTransport`: a proxy that is down, refuses or wants
 * credentials, or a certificate that does not verify. It travels as the `cause` of the platform's
 * `RequestError` (whose `description` is this message), and {@link AuthResponse} turns it into an
 * `AuthError` with the same words. Messages name hosts and proxies without their credentials.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * What went wrong: `ProxyUnreachable` (nothing answers at the proxy's address: transient),
 * `ProxyAuthentication` (`407`), `ProxyRefused` (the proxy would not open a tunnel),
 * `UntrustedCertificate` (no trusted authority issued the server's certificate, or it expired),
 * `CertificateMismatch` (the certificate is for other names), `VerificationRefused`
 * (`tls_verify = false` asked for a host that must always be verified).
 *
 * @since 0.1.0
 * @category models
 */
export const Reason = Schema.Literal(
  "ProxyUnreachable",
  "ProxyAuthentication",
  "ProxyRefused",
  "UntrustedCertificate",
  "CertificateMismatch",
  "VerificationRefused"
)

/**
 * @since 0.1.0
 * @category models
 */
export type Reason = typeof Reason.Type

/**
 * @since 0.1.0
 * @category errors
 */
export class TransportError extends Schema.TaggedError<TransportError>("@effect-auth/core/TransportError")(
  "TransportError",
  {
    reason: Reason,
    /** What happened, naming the host or proxy (never its credentials). */
    detail: Schema.String,
    /** What to do about it. */
    hint: Schema.String
  }
) {
  /** @since 0.1.0 */
  override get message(): string {
    return `${this.detail}. ${this.hint}`
  }
}

/**
 * @since 0.1.0
 * @category predicates
 */
export const isTransportError = (u: unknown): u is TransportError =>
  Predicate.isTagged(u, "TransportError") && u instanceof TransportError

/**
 * Whether trying again later may help (only a proxy that does not answer).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTransient = (error: TransportError): boolean => error.reason === "ProxyUnreachable"
