/**
 * `node --conditions=source --import tsx examples/anaplan-app/main.ts` (from the repository root),
 * with `ANAPLAN_CERTIFICATE` + `ANAPLAN_PRIVATE_KEY` or `ANAPLAN_EMAIL` + `ANAPLAN_PASSWORD` set.
 * A failure prints its message (what happened, what to do) and exits 1.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { main } from "./src/App.js"

main.pipe(
  Effect.tapError((error) => Console.error(`anaplan-app: ${error._tag === "ConfigError" ? String(error) : error.message}`)),
  Effect.provide(NodeHttpClient.layerUndici),
  (program) => NodeRuntime.runMain(program, { disableErrorReporting: true })
)
