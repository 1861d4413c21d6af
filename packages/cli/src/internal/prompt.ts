/** @internal */
import type * as PromptModule from "@effect/cli/Prompt"
import type * as Terminal from "@effect/platform/Terminal"
import { LoginCancelled } from "@effect-auth/core/AuthError"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"

/**
 * Whether a person is at the keyboard: stdin and stdout are terminals, and
 * `EFFECT_AUTH_NO_PROMPT` is not set. Without one nothing ever prompts.
 *
 * @internal
 */
export const isInteractive = (): boolean =>
  process.stdin.isTTY === true && process.stdout.isTTY === true &&
  (process.env.EFFECT_AUTH_NO_PROMPT === undefined || process.env.EFFECT_AUTH_NO_PROMPT === "")

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

/** A prompt that echoes nothing at all, not even asterisks. @internal */
export const hidden = (
  message: string,
  site?: string
): Effect.Effect<Redacted.Redacted<string>, LoginCancelled, Terminal.Terminal> =>
  Effect.flatMap(Prompt, (P) => P.hidden({ message })).pipe(Effect.mapError(cancelled(site)))

/** @internal */
export const confirm = (message: string): Effect.Effect<boolean, never, Terminal.Terminal> =>
  Effect.flatMap(Prompt, (P) => P.confirm({ message, initial: false })).pipe(Effect.orElseSucceed(() => false))
