/**
 * The `effect-auth` command with the Acme provider registered (from the repository root):
 * `node --conditions=source --import tsx examples/custom-provider/main.ts sites add acme --provider acme ...`.
 */
import * as Cli from "@effect-auth/cli/Cli"
import * as Effect from "effect/Effect"
import { provider } from "./src/AcmeProvider.js"

process.exitCode = await Effect.runPromise(Cli.main(process.argv, { providers: [provider] }))
