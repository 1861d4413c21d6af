import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createPrivateKey, createPublicKey, KeyObject, X509Certificate } from "node:crypto"
import { readFileSync, statSync } from "node:fs"
import * as TestCertificates from "../src/TestCertificates.js"

const spki = (key: Buffer | KeyObject) =>
  (key instanceof KeyObject && key.type === "public" ? key : createPublicKey(key))
    .export({ type: "spki", format: "der" }).toString("base64")

const generated = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const dir = yield* fs.makeTempDirectoryScoped({ prefix: "effect-auth-certs-" })
  return yield* TestCertificates.generate(dir)
}).pipe(Effect.provide(NodeContext.layer))

describe("TestCertificates", () => {
  it.scoped("generates a CA, a client certificate it issued and the broken variants, all 0600", () =>
    Effect.gen(function*() {
      const certs = yield* generated
      const now = Date.now()
      const files = [
        certs.caCertPath, certs.caKeyPath, certs.clientCertPath, certs.clientKeyPath, certs.clientEncryptedKeyPath,
        certs.expiredCertPath, certs.untrustedCertPath, certs.untrustedKeyPath, certs.otherKeyPath
      ]
      for (const file of files) {
        assert.isTrue(file.startsWith(certs.dir), file)
        assert.strictEqual(statSync(file).mode & 0o777, 0o600, file)
      }
      assert.deepStrictEqual(
        (yield* FileSystem.FileSystem.pipe(Effect.flatMap((fs) => fs.readDirectory(certs.dir)), Effect.provide(NodeContext.layer)))
          .sort(),
        files.map((file) => file.slice(certs.dir.length + 1)).sort()
      )

      const ca = new X509Certificate(certs.caPem)
      assert.strictEqual(certs.caPem, readFileSync(certs.caCertPath, "utf8"))
      assert.isTrue(ca.ca)

      const client = new X509Certificate(readFileSync(certs.clientCertPath))
      assert.isFalse(client.ca)
      assert.isTrue(client.checkIssued(ca) && client.verify(ca.publicKey))
      assert.include(client.subject, "emailAddress=demo@example.com")
      assert.include(client.subject, "CN=demo@example.com")
      assert.strictEqual(client.subjectAltName, "email:demo@example.com")
      assert.isTrue(Date.parse(client.validFrom) <= now && now < Date.parse(client.validTo))
      assert.strictEqual(client.publicKey.asymmetricKeyDetails?.modulusLength, 2048)
      assert.strictEqual(spki(readFileSync(certs.clientKeyPath)), spki(client.publicKey))

      const expired = new X509Certificate(readFileSync(certs.expiredCertPath))
      assert.isTrue(expired.checkIssued(ca) && expired.verify(ca.publicKey))
      assert.isTrue(Date.parse(expired.validTo) < now)
      assert.strictEqual(spki(expired.publicKey), spki(client.publicKey))

      const untrusted = new X509Certificate(readFileSync(certs.untrustedCertPath))
      assert.isFalse(untrusted.checkIssued(ca))
      assert.include(untrusted.subject, "emailAddress=demo@example.com")
      assert.strictEqual(spki(readFileSync(certs.untrustedKeyPath)), spki(untrusted.publicKey))

      assert.notStrictEqual(spki(readFileSync(certs.otherKeyPath)), spki(client.publicKey))
    }))

  it.scoped("encrypts the client key with the returned passphrase, which stays redacted", () =>
    Effect.gen(function*() {
      const certs = yield* generated
      const encrypted = readFileSync(certs.clientEncryptedKeyPath)
      assert.include(encrypted.toString("utf8"), "ENCRYPTED PRIVATE KEY")
      assert.throws(() => createPrivateKey({ key: encrypted, passphrase: "wrong" }))
      const key = createPrivateKey({ key: encrypted, passphrase: Redacted.value(certs.passphrase) })
      assert.strictEqual(spki(key), spki(readFileSync(certs.clientKeyPath)))
      assert.notInclude(String(certs.passphrase), Redacted.value(certs.passphrase))
      assert.notInclude(JSON.stringify(certs), Redacted.value(certs.passphrase))
    }))

  it.scoped("puts a chosen email in the subject, and each run makes new keys", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const certs = yield* TestCertificates.generate(dir, { email: "robot@example.org" })
      const other = yield* TestCertificates.generate(yield* fs.makeTempDirectoryScoped())
      const client = new X509Certificate(readFileSync(certs.clientCertPath))
      assert.strictEqual(certs.email, "robot@example.org")
      assert.include(client.subject, "CN=robot@example.org")
      assert.strictEqual(client.subjectAltName, "email:robot@example.org")
      assert.notStrictEqual(certs.caPem, other.caPem)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("without openssl it fails with OpensslError naming the Debian package", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const error = yield* Effect.flip(
        TestCertificates.generate(yield* fs.makeTempDirectoryScoped(), { openssl: "/nonexistent/openssl" })
      )
      assert.strictEqual(error._tag, "OpensslError")
      assert.include(error.message, "Debian package `openssl`")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("OpensslError says what failed without secrets", () =>
    Effect.sync(() => {
      const error = new TestCertificates.OpensslError({ step: "issue the client certificate", exitCode: 1, detail: "bad" })
      assert.strictEqual(error.message, "openssl failed to issue the client certificate (exit 1): bad")
    }))
})
