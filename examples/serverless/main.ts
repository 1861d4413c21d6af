/**
 * Invokes the handler once, as the platform would (from the repository root):
 * `ANAPLAN_EMAIL=... ANAPLAN_PASSWORD_FILE=... node --conditions=source --import tsx examples/serverless/main.ts`.
 * Prints the status only: the token is for the caller, not for a terminal or a log.
 */
import { makeHandler } from "./src/Handler.js"

const { dispose, handler } = makeHandler()
const result = await handler({})
await dispose()
console.log(`${result.status}: ${result.statusMessage}`)
process.exitCode = result.status === "SUCCESS" ? 0 : 1
