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

/** Waits, in real time, until `condition` holds: the HTTP exchanges behind a TestClock step are real I/O. */
export const eventually = <E, R>(condition: Effect.Effect<boolean, E, R>, what: string): Effect.Effect<void, E, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < 400; i++) {
      if (yield* condition) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }
    return yield* Effect.dieMessage(`timed out waiting until ${what}`)
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
