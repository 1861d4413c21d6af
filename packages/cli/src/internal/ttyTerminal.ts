/**
 * The terminal a person is at when stdout is not it: `$(effect-auth token)` captures stdout, so
 * prompts go to the controlling terminal, `/dev/tty`, as git's credential prompts do, and stdout
 * keeps the token alone.
 *
 * @internal
 */
import * as PlatformError from "@effect/platform/Error"
import * as Terminal from "@effect/platform/Terminal"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as Readline from "node:readline"
import * as Tty from "node:tty"

/** The controlling terminal's read and write descriptors, when the process has one. */
export interface Descriptors {
  readonly read: number
  readonly write: number
}

let opened: Descriptors | null | undefined

/** Opens `/dev/tty` once; `undefined` without a controlling terminal (CI, cron, a daemon). @internal */
export const controlling = (): Descriptors | undefined => {
  if (opened === undefined) {
    try {
      const read = Fs.openSync("/dev/tty", "r")
      try {
        opened = Tty.isatty(read) ? { read, write: Fs.openSync("/dev/tty", "w") } : null
      } catch {
        opened = null
      }
      if (opened === null) Fs.closeSync(read)
    } catch {
      opened = null
    }
  }
  return opened ?? undefined
}

const isQuit = (key: Readline.Key | undefined): boolean => key?.ctrl === true && (key.name === "c" || key.name === "d")

/** A `Terminal` reading keys from and writing prompts to `/dev/tty`. @internal */
export const layer = (fds: Descriptors): Layer.Layer<Terminal.Terminal> =>
  Layer.scoped(
    Terminal.Terminal,
    Effect.gen(function*() {
      const input = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const stream = new Tty.ReadStream(fds.read)
          stream.pause()
          return stream
        }),
        (stream) => Effect.sync(() => stream.destroy())
      )
      const output = yield* Effect.acquireRelease(
        Effect.sync(() => new Tty.WriteStream(fds.write)),
        (stream) => Effect.sync(() => stream.destroy())
      )
      /** Raw mode and key events while a prompt reads, restored after. */
      const raw = Effect.acquireRelease(
        Effect.sync(() => {
          Readline.emitKeypressEvents(input)
          input.setRawMode(true)
          input.resume()
        }),
        () =>
          Effect.sync(() => {
            input.setRawMode(false)
            input.pause()
          })
      )
      const readInput = Effect.gen(function*() {
        yield* raw
        const mailbox = yield* Mailbox.make<Terminal.UserInput>()
        const onKey = (text: string | undefined, key: Readline.Key | undefined) => {
          mailbox.unsafeOffer({
            input: Option.fromNullable(text),
            key: { name: key?.name ?? "", ctrl: key?.ctrl === true, meta: key?.meta === true, shift: key?.shift === true }
          })
          if (isQuit(key)) mailbox.unsafeDone(Exit.void)
        }
        input.on("keypress", onKey)
        yield* Effect.addFinalizer(() => Effect.sync(() => input.off("keypress", onKey)))
        return mailbox
      })
      const readLine = Effect.scoped(Effect.gen(function*() {
        const lines = Readline.createInterface({ input, terminal: false })
        yield* Effect.addFinalizer(() => Effect.sync(() => lines.close()))
        return yield* Effect.async<string, Terminal.QuitException>((resume) => {
          lines.once("line", (line) => resume(Effect.succeed(line)))
          lines.once("close", () => resume(Effect.fail(new Terminal.QuitException())))
        })
      }))
      const display = (text: string) =>
        Effect.async<void, PlatformError.PlatformError>((resume) => {
          output.write(text, (error) =>
            resume(
              error === null || error === undefined
                ? Effect.void
                : Effect.fail(
                  new PlatformError.SystemError({
                    reason: "Unknown",
                    module: "Terminal",
                    method: "display",
                    description: `Cannot write to /dev/tty: ${error.message}`
                  })
                )
            ))
        })
      return Terminal.Terminal.of({
        columns: Effect.sync(() => output.columns),
        rows: Effect.sync(() => output.rows),
        isTTY: Effect.succeed(true),
        readInput,
        readLine,
        display
      })
    })
  )
