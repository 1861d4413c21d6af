// @ts-check
/**
 * The keyring helper process of `storeKeyring.ts`: `node keyringHelper.cjs <path of @napi-rs/keyring>`.
 *
 * `@napi-rs/keyring` talks to D-Bus synchronously on the calling thread, so a hung bus or keyring
 * daemon would block the event loop of the process that calls it, where no timeout can fire. Here
 * it blocks this process instead, which the parent kills when a call times out.
 *
 * Protocol: one JSON request a line on stdin (`{ id, op, service, account?, value? }`, `op` one of
 * `get`, `set`, `delete`, `list`), one JSON reply a line on stdout (`{ id, ok: true, value }` or
 * `{ id, ok: false, error }`, the error's first line only). Exits when stdin closes.
 *
 * @internal
 */
"use strict"

/** @type {typeof import("@napi-rs/keyring")} */
const keyring = require(process.argv[2])
const Readline = require("node:readline")

/** @param {unknown} message */
const send = (message) => process.stdout.write(JSON.stringify(message) + "\n")

/**
 * @param {{ readonly op: string, readonly service: string, readonly account: string, readonly value: string }} request
 * @returns {Promise<unknown>}
 */
const run = async (request) => {
  switch (request.op) {
    case "get":
      return (await new keyring.AsyncEntry(request.service, request.account).getPassword()) ?? null
    case "set":
      await new keyring.AsyncEntry(request.service, request.account).setPassword(request.value)
      return null
    case "delete":
      return await new keyring.AsyncEntry(request.service, request.account).deleteCredential()
    case "list":
      return (await keyring.findCredentialsAsync(request.service)).map((credential) => credential.account)
    default:
      throw new Error(`unknown operation ${request.op}`)
  }
}

const lines = Readline.createInterface({ input: process.stdin })
lines.on("close", () => process.exit(0))
lines.on("line", (line) => {
  let request
  try {
    request = JSON.parse(line)
  } catch {
    return
  }
  run(request).then(
    (value) => send({ id: request.id, ok: true, value }),
    (error) => send({ id: request.id, ok: false, error: String((error && error.message) || error).split("\n")[0] })
  )
})
