/**
 * Throw-away certificate fixtures for tests and demos of Anaplan certificate authentication: a test
 * CA, a client certificate it issued, and the broken variants a client must cope with (expired,
 * untrusted, mismatched key, encrypted key). Generated with the `openssl` CLI into a directory the
 * caller owns; nothing here is meant for production.
 *
 * @since 0.1.0
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as PlatformError from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as internal from "./internal/certificates.js"

/**
 * The generated files (absolute paths, all mode 0600) and the CA certificate's PEM text, ready
 * for `AnaplanAuthServer.layer({ trustedCaPem })`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestCertificates {
  readonly dir: string
  /** The subject of the client certificates: `demo@example.com` unless told otherwise. */
  readonly email: string
  /** `ca.pem`: the test CA's self-signed certificate. */
  readonly caCertPath: string
  /** `ca.key`: the test CA's private key. */
  readonly caKeyPath: string
  /** The PEM text of `ca.pem`. */
  readonly caPem: string
  /** `client.pem`: a client certificate for `email`, issued by the CA, valid for a year from now. */
  readonly clientCertPath: string
  /** `client.key`: the client certificate's private key, unencrypted PKCS#8 PEM. */
  readonly clientKeyPath: string
  /** `client-encrypted.key`: the same key, encrypted (PKCS#8, AES-256) with `passphrase`. */
  readonly clientEncryptedKeyPath: string
  readonly passphrase: Redacted.Redacted<string>
  /** `expired.pem`: a certificate for `email` issued by the CA, valid only during 2020 (key: `client.key`). */
  readonly expiredCertPath: string
  /** `untrusted.pem`: a self-signed certificate for `email`, not from the CA. */
  readonly untrustedCertPath: string
  /** `untrusted.key`: the private key of `untrusted.pem`. */
  readonly untrustedKeyPath: string
  /** `other.key`: an RSA key that matches none of the certificates. */
  readonly otherKeyPath: string
}

/**
 * An `openssl` invocation failed, or `openssl` is not installed.
 *
 * @since 0.1.0
 * @category errors
 */
export const OpensslError: typeof internal.OpensslError = internal.OpensslError

/**
 * @since 0.1.0
 * @category errors
 */
export type OpensslError = internal.OpensslError

/**
 * Options of {@link generate}.
 *
 * @since 0.1.0
 * @category models
 */
export interface GenerateOptions {
  /** The email in the client certificates' subject (`emailAddress`, CN and subjectAltName). */
  readonly email?: string
  /** The openssl executable (default `openssl` on the PATH), e.g. a Homebrew build on macOS. */
  readonly openssl?: string
}

/**
 * Writes the fixtures into `dir` (which must exist) with the `openssl` CLI, through
 * `@effect/platform` `Command` (provide `NodeContext.layer`). RSA 2048 keys; takes a second or two.
 * When `openssl` is missing it fails with {@link OpensslError} naming the Debian package.
 *
 * @since 0.1.0
 * @category constructors
 */
export const generate: (
  dir: string,
  options?: GenerateOptions
) => Effect.Effect<
  TestCertificates,
  OpensslError | PlatformError.PlatformError,
  CommandExecutor.CommandExecutor | FileSystem.FileSystem | Path.Path
> = internal.generate
