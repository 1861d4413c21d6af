/**
 * The emulator in its own process, for the soak and the client benchmarks: two Anaplan emulators
 * (short-lived tokens for the soak, long-lived ones for the baseline) and a plain `200 ok` server.
 * Prints `{ short, long, plain }` (their URLs) as one JSON line; answers each `counters` line on
 * stdin with the emulators' counters as one JSON line; exits when stdin closes.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { createInterface } from "node:readline"
import * as AnaplanAuthServer from "../packages/anaplan/src/AnaplanAuthServer.js"

const lifetime = process.argv[2] ?? "3 seconds"

const main = Effect.gen(function*() {
  const short = yield* AnaplanAuthServer.make({ tokenLifetime: lifetime as Duration.DurationInput })
  const long = yield* AnaplanAuthServer.make()
  const plain = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" })
    res.end("ok")
  })
  plain.keepAliveTimeout = 60_000
  yield* Effect.async<void>((resume) => void plain.listen(0, "127.0.0.1", () => resume(Effect.void)))
  process.stdout.write(
    JSON.stringify({ short: short.url, long: long.url, plain: `http://127.0.0.1:${(plain.address() as AddressInfo).port}/` }) + "\n"
  )
  const lines = createInterface({ input: process.stdin })
  yield* Effect.async<void>((resume) => {
    lines.on("line", (line) => {
      if (line.trim() !== "counters") return
      Effect.runPromise(Effect.all({ short: short.counters, long: long.counters })).then((counters) => {
        process.stdout.write(JSON.stringify(counters) + "\n")
      })
    })
    lines.on("close", () => resume(Effect.void))
  })
  plain.close()
}).pipe(Effect.scoped)

Effect.runPromise(main).then(() => process.exit(0), (error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
