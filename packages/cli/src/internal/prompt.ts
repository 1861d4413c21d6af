/** @internal */
import type * as PromptModule from "@effect/cli/Prompt"
import * as Terminal from "@effect/platform/Terminal"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { LoginCancelled } from "@effect-auth/core/AuthError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TtyTerminal from "./ttyTerminal.js"

const noPrompt = (): boolean => process.env.EFFECT_AUTH_NO_PROMPT !== undefined && process.env.EFFECT_AUTH_NO_PROMPT !== ""

/** stdin and stdout are the terminal: prompts use them (`@effect/platform-node`'s terminal). */
const onStdio = (): boolean => process.stdin.isTTY === true && process.stdout.isTTY === true

/**
 * Whether a person is at a keyboard: stdin and stdout are terminals, or (stdout captured, as in
 * `$(effect-auth token)`) the process has a controlling terminal; and `EFFECT_AUTH_NO_PROMPT` is
 * not set. Without one nothing ever prompts.
 *
 * @internal
 */
export const isInteractive = (): boolean => !noPrompt() && (onStdio() || TtyTerminal.controlling() !== undefined)

/**
 * The terminal prompts use: stdin and stdout when they are one, else `/dev/tty`, so that stdout
 * keeps a command's output alone.
 *
 * @internal
 */
export const terminalLayer: Layer.Layer<Terminal.Terminal> = Layer.unwrapEffect(Effect.sync(() => {
  const tty = onStdio() || noPrompt() ? undefined : TtyTerminal.controlling()
  return tty === undefined ? NodeTerminal.layer : TtyTerminal.layer(tty)
}))

/** `@effect/cli`'s prompts load only when something is asked. */
const Prompt: Effect.Effect<typeof PromptModule> = Effect.promise(() => import("@effect/cli/Prompt"))

const cancelled = (site: string | undefined) => () =>
  new LoginCancelled({ site, detail: "The prompt was cancelled" })

/** @internal */
export const text = (message: string, site?: string): Effect.Effect<string, LoginCancelled, Terminal.Terminal> =>
  Effect.flatMap(Prompt, (P) =>
    P.text({
      message,
      validate: (value) => value.trim() === "" ? Effect.fail("a value is needed") : Effect.succeed(value.trim())
    })).pipe(Effect.mapError(cancelled(site)))

/** How many times a secret is asked for before giving up, as sudo does. @internal */
export const secretTries = 3

/**
 * A prompt that echoes nothing at all, not even asterisks. An empty answer is never sent: it asks
 * again, {@link secretTries} times in all.
 *
 * @internal
 */
export const hidden = (
  message: string,
  site?: string
): Effect.Effect<Redacted.Redacted<string>, LoginCancelled, Terminal.Terminal> =>
  Effect.flatMap(Prompt, (P) => {
    const ask = (attempt: number): Effect.Effect<Redacted.Redacted<string>, LoginCancelled, Terminal.Terminal> =>
      Effect.flatMap(P.hidden({ message }).pipe(Effect.mapError(cancelled(site))), (secret) => {
        if (Redacted.value(secret) !== "") return Effect.succeed(secret)
        if (attempt >= secretTries) {
          return Effect.fail(new LoginCancelled({ site, detail: `Nothing was typed at "${message}" (${secretTries} tries); nothing was sent` }))
        }
        return Effect.zipRight(say(`Nothing typed; try again (${secretTries - attempt} more).`), ask(attempt + 1))
      })
    return ask(1)
  })

/** A line on the prompting terminal. */
const say = (text: string): Effect.Effect<void, never, Terminal.Terminal> =>
  Effect.flatMap(Terminal.Terminal, (terminal) => Effect.ignore(terminal.display(`${text}\n`)))

/** @internal */
export const confirm = (message: string): Effect.Effect<boolean, never, Terminal.Terminal> =>
  Effect.flatMap(Prompt, (P) => P.confirm({ message, initial: false })).pipe(Effect.orElseSucceed(() => false))
