/** @internal */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { InvalidConfiguration } from "@effect-auth/core/AuthError"
import { createPrivateKey, type KeyObject, randomBytes, sign, X509Certificate } from "node:crypto"
import { readFile } from "node:fs/promises"

/** @internal */
export type PemSource = { readonly path: string } | { readonly pem: string | Redacted.Redacted<string> }

/** @internal */
export interface LoadedCredentials {
  /** `CACertificate base64(whole PEM file bytes)`. */
  readonly authorization: Redacted.Redacted<string>
  readonly certificate: X509Certificate
  readonly key: KeyObject
  /** How messages name the certificate: "certificate file <path>" or "certificate given as PEM content". */
  readonly certificateName: string
  readonly notBefore: number
  readonly notAfter: number
}

const describe = (source: PemSource, what: string): string =>
  "path" in source ? `${what} file ${source.path}` : `${what} given as PEM content`

const invalid = (site: string | undefined, detail: string, hint?: string) =>
  new InvalidConfiguration({ site, detail, ...(hint === undefined ? {} : { hint }) })

const errorCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

/** Reads a PEM source as bytes; a missing or unreadable file is named with its problem, never its content. */
const readPem = (source: PemSource, what: string, site: string | undefined): Effect.Effect<Buffer, InvalidConfiguration> => {
  if (!("path" in source)) {
    const pem = Redacted.isRedacted(source.pem) ? Redacted.value(source.pem) : source.pem
    return Effect.succeed(Buffer.from(pem, "utf8"))
  }
  return Effect.tryPromise({
    try: () => readFile(source.path),
    catch: (error) => {
      const code = errorCode(error)
      const problem = code === "ENOENT"
        ? "does not exist"
        : code === "EACCES" || code === "EPERM"
        ? "cannot be read (permission denied)"
        : code === "EISDIR"
        ? "is a directory, not a file"
        : `cannot be read (${code ?? "unknown error"})`
      return invalid(site, `The ${describe(source, what)} ${problem}`, `Check the path of the ${what}.`)
    }
  })
}

const hasPemBlock = (bytes: Buffer, label: RegExp) => label.test(bytes.toString("latin1"))

/**
 * Loads and checks the certificate and key before any network call: both readable PEM, the key
 * RSA and matching the certificate, decrypted with the passphrase when encrypted, the
 * certificate valid at the Clock's time.
 *
 * @internal
 */
export const load = (options: {
  readonly certificate: PemSource
  readonly privateKey: PemSource
  readonly passphrase?: Redacted.Redacted<string> | undefined
  readonly site?: string | undefined
}): Effect.Effect<LoadedCredentials, InvalidConfiguration> =>
  Effect.gen(function*() {
    const site = options.site
    const certificateName = describe(options.certificate, "certificate")
    const keyName = describe(options.privateKey, "private key")
    const certificateBytes = yield* readPem(options.certificate, "certificate", site)
    const keyBytes = yield* readPem(options.privateKey, "private key", site)

    if (!hasPemBlock(certificateBytes, /-----BEGIN CERTIFICATE-----/)) {
      return yield* invalid(
        site,
        `The ${certificateName} holds no PEM certificate (no "BEGIN CERTIFICATE" block)`,
        "Give the X.509 certificate in PEM format (convert DER with `openssl x509 -inform der -in cert.der -out cert.pem`)."
      )
    }
    let certificate: X509Certificate
    try {
      certificate = new X509Certificate(certificateBytes)
    } catch {
      return yield* invalid(site, `The ${certificateName} could not be parsed as an X.509 certificate`)
    }

    if (!hasPemBlock(keyBytes, /-----BEGIN [A-Z ]*PRIVATE KEY-----/)) {
      return yield* invalid(
        site,
        `The ${keyName} holds no PEM private key (no "BEGIN ... PRIVATE KEY" block)`,
        "Give the certificate's RSA private key in PEM format."
      )
    }
    const encrypted = hasPemBlock(keyBytes, /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/)
    if (encrypted && options.passphrase === undefined) {
      return yield* invalid(
        site,
        `The ${keyName} is encrypted and no passphrase was given`,
        "Give the passphrase (ANAPLAN_PRIVATE_KEY_PASSPHRASE, or the `passphrase` option)."
      )
    }
    let key: KeyObject
    try {
      key = createPrivateKey({
        key: keyBytes,
        format: "pem",
        ...(encrypted && options.passphrase !== undefined ? { passphrase: Redacted.value(options.passphrase) } : {})
      })
    } catch (error) {
      const code = errorCode(error)
      if (!encrypted) {
        return yield* invalid(site, `The ${keyName} could not be read as a private key (${code ?? "unknown error"})`)
      }
      return yield* code === "ERR_OSSL_BAD_DECRYPT" || code === "ERR_OSSL_EVP_BAD_DECRYPT"
        ? invalid(site, `The passphrase for the ${keyName} is wrong`, "Check the passphrase of the private key.")
        : invalid(
          site,
          `The ${keyName} could not be decrypted with the given passphrase (${code ?? "unknown error"})`,
          "Check the passphrase of the private key."
        )
    }
    if (key.asymmetricKeyType !== "rsa") {
      return yield* invalid(
        site,
        `The ${keyName} is a ${key.asymmetricKeyType ?? "unknown"} key; Anaplan certificate authentication needs an RSA key`
      )
    }
    if (!certificate.checkPrivateKey(key)) {
      return yield* invalid(
        site,
        `The ${keyName} does not match the ${certificateName}`,
        "Give the private key that belongs to this certificate."
      )
    }
    const credentials: LoadedCredentials = {
      authorization: Redacted.make(`CACertificate ${certificateBytes.toString("base64")}`),
      certificate,
      key,
      certificateName,
      notBefore: Date.parse(certificate.validFrom),
      notAfter: Date.parse(certificate.validTo)
    }
    yield* checkValidity(credentials, site)
    return credentials
  })

/**
 * Fails with `InvalidConfiguration` when the certificate is not valid at the Clock's time.
 *
 * @internal
 */
export const checkValidity = (
  credentials: LoadedCredentials,
  site: string | undefined
): Effect.Effect<void, InvalidConfiguration> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    if (now > credentials.notAfter) {
      return Effect.fail(invalid(
        site,
        `The ${credentials.certificateName} expired on ${new Date(credentials.notAfter).toISOString()}`,
        "Renew the certificate with your certificate authority and register the new one in Anaplan."
      ))
    }
    if (now < credentials.notBefore) {
      return Effect.fail(invalid(
        site,
        `The ${credentials.certificateName} is not valid before ${new Date(credentials.notBefore).toISOString()}`,
        "Check the system clock, or wait until the certificate becomes valid."
      ))
    }
    return Effect.void
  })

/** The random bytes signed at each login; Anaplan asks for at least 100, anaplan-sdk sends 150. */
const payloadBytes = 150

/**
 * The JSON body of a certificate login: fresh random data, prefixed for `v2` with an 8-byte
 * big-endian epoch-seconds timestamp from the Clock, and its RSA PKCS#1 v1.5 SHA-512 signature.
 *
 * @internal
 */
export const signedBody = (
  key: KeyObject,
  format: "v1" | "v2"
): Effect.Effect<Record<string, string>> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const random = randomBytes(payloadBytes)
    let data = random
    if (format === "v2") {
      const stamp = Buffer.alloc(8)
      stamp.writeBigUInt64BE(BigInt(Math.floor(now / 1000)))
      data = Buffer.concat([stamp, random])
    }
    const signature = sign("sha512", data, key)
    return {
      ...(format === "v2" ? { encodedDataFormat: "v2" } : {}),
      encodedData: data.toString("base64"),
      encodedSignedData: signature.toString("base64")
    }
  })
