/** Test support: raw HTTP answers from the emulator, and test certificates generated once per block. */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestCertificates from "../../src/TestCertificates.js"

/** An answer as the wire carried it. */
export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
}

/** Sends `request` and reads the whole answer. */
export const send = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<Answer, unknown, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const response = yield* HttpClient.execute(request)
    return { status: response.status, headers: response.headers, text: yield* response.text }
  })

/** A test CA, client certificates and keys (openssl), in a temporary directory. */
export class Certificates extends Context.Tag("test/Certificates")<Certificates, TestCertificates.TestCertificates>() {}

/** {@link Certificates}, generated once for the layer's scope. */
export const certificatesLayer = (prefix: string): Layer.Layer<Certificates> =>
  Layer.scoped(
    Certificates,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      return yield* TestCertificates.generate(yield* fs.makeTempDirectoryScoped({ prefix }))
    })
  ).pipe(Layer.provide(NodeContext.layer), Layer.orDie)
