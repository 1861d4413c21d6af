/** @internal */
import * as Command from "@effect/platform/Command"
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as Schema from "effect/Schema"
import type { GenerateOptions, TestCertificates } from "../TestCertificates.js"

/** @internal */
export class OpensslError extends Schema.TaggedError<OpensslError>("@effect-auth/anaplan/TestCertificates/OpensslError")(
  "OpensslError",
  {
    step: Schema.String,
    exitCode: Schema.optional(Schema.Number),
    detail: Schema.String
  }
) {
  override get message(): string {
    return `openssl failed to ${this.step}${this.exitCode === undefined ? "" : ` (exit ${this.exitCode})`}: ${this.detail}`
  }
}

const passphraseVariable = "EFFECT_AUTH_TEST_KEY_PASSPHRASE"

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  stream.pipe(
    Stream.runCollect,
    Effect.map((chunks) => Buffer.concat(Chunk.toArray(chunks)).toString("utf8")),
    Effect.orElseSucceed(() => "")
  )

/** Runs `openssl ...args`; a non-zero exit is an `OpensslError` carrying the last line of stderr. */
const run = (executable: string) => (step: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.scoped(
    Effect.gen(function*() {
      const process = yield* Command.start(Command.env(Command.make(executable, ...args), env))
      const [exitCode, , stderr] = yield* Effect.all([process.exitCode, collect(process.stdout), collect(process.stderr)], {
        concurrency: "unbounded"
      })
      if (exitCode !== 0) {
        const lines = stderr.trim().split("\n")
        return yield* Effect.fail(new OpensslError({ step, exitCode, detail: lines[lines.length - 1] ?? "no output" }))
      }
    })
  ).pipe(
    Effect.catchTag("SystemError", (error): Effect.Effect<never, OpensslError | PlatformError.PlatformError> =>
      error.reason === "NotFound"
        ? Effect.fail(
          new OpensslError({
            step,
            detail: `${executable} was not found; install the Debian package \`openssl\` (apt-get install openssl)`
          })
        )
        : Effect.fail(error))
  )

/** @internal */
export const generate = (
  dir: string,
  options?: GenerateOptions
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const root = path.resolve(dir)
    const at = (name: string) => path.join(root, name)
    const email = options?.email ?? "demo@example.com"
    const openssl = run(options?.openssl ?? "openssl")
    const subject = `/CN=${email}/emailAddress=${email}`
    const work = at(".openssl-ca")
    yield* fs.makeDirectory(work, { recursive: true })
    const passphrase = randomBytes(18).toString("base64url")

    const rsaKey = (step: string, file: string) =>
      openssl(step, ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", file])

    yield* Effect.all([
      openssl("create the test CA", [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("ca.key"), "-out", at("ca.pem"),
        "-days", "3650", "-subj", "/O=effect-auth/CN=effect-auth Test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"
      ]),
      rsaKey("create the client key", at("client.key")),
      openssl("create the untrusted self-signed certificate", [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("untrusted.key"), "-out", at("untrusted.pem"),
        "-days", "365", "-subj", subject, "-addext", `subjectAltName=email:${email}`
      ]),
      rsaKey("create the unrelated key", at("other.key"))
    ], { concurrency: 2, discard: true })

    const csr = path.join(work, "client.csr")
    const extensions = path.join(work, "client.ext")
    yield* fs.writeFileString(
      extensions,
      [
        `subjectAltName=email:${email}`,
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=clientAuth"
      ].join("\n") + "\n"
    )
    yield* openssl("create the client certificate request", ["req", "-new", "-key", at("client.key"), "-subj", subject, "-out", csr])
    yield* openssl("issue the client certificate", [
      "x509", "-req", "-in", csr, "-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-set_serial", `0x${randomBytes(8).toString("hex")}`,
      "-days", "365", "-sha256", "-extfile", extensions, "-out", at("client.pem")
    ])
    yield* openssl("encrypt the client key", [
      "pkey", "-in", at("client.key"), "-aes-256-cbc", "-passout", `env:${passphraseVariable}`, "-out", at("client-encrypted.key")
    ], { [passphraseVariable]: passphrase })

    // openssl 3.0's `x509 -req` cannot set past dates; `openssl ca` can, given a minimal database.
    const database = path.join(work, "index.txt")
    const config = path.join(work, "ca.cnf")
    yield* fs.writeFileString(database, "")
    yield* fs.writeFileString(path.join(work, "serial"), `${randomBytes(8).toString("hex")}\n`)
    yield* fs.writeFileString(
      config,
      [
        "[ ca ]",
        "default_ca = test_ca",
        "[ test_ca ]",
        `database = ${database}`,
        `new_certs_dir = ${work}`,
        `serial = ${path.join(work, "serial")}`,
        "default_md = sha256",
        "policy = policy_any",
        "unique_subject = no",
        "copy_extensions = copy",
        "x509_extensions = client_ext",
        "[ policy_any ]",
        "commonName = supplied",
        "emailAddress = optional",
        "[ client_ext ]",
        `subjectAltName = email:${email}`,
        "basicConstraints = CA:FALSE",
        ""
      ].join("\n")
    )
    yield* openssl("issue the expired certificate", [
      "ca", "-batch", "-notext", "-config", config, "-cert", at("ca.pem"), "-keyfile", at("ca.key"), "-in", csr,
      "-startdate", "20200101000000Z", "-enddate", "20210101000000Z", "-out", at("expired.pem")
    ])
    yield* fs.remove(work, { recursive: true })

    const files = [
      "ca.pem", "ca.key", "client.pem", "client.key", "client-encrypted.key", "expired.pem", "untrusted.pem",
      "untrusted.key", "other.key"
    ]
    yield* Effect.forEach(files, (name) => fs.chmod(at(name), 0o600), { discard: true })

    const result: TestCertificates = {
      dir: root,
      email,
      caCertPath: at("ca.pem"),
      caKeyPath: at("ca.key"),
      caPem: yield* fs.readFileString(at("ca.pem")),
      clientCertPath: at("client.pem"),
      clientKeyPath: at("client.key"),
      clientEncryptedKeyPath: at("client-encrypted.key"),
      passphrase: Redacted.make(passphrase),
      expiredCertPath: at("expired.pem"),
      untrustedCertPath: at("untrusted.pem"),
      untrustedKeyPath: at("untrusted.key"),
      otherKeyPath: at("other.key")
    }
    return result
  })
