/**
 * The person a provider's login may ask, for the CLI: prompts on the terminal, and the login agent
 * (browser, loopback redirect, device codes) loaded only when a login needs it.
 *
 * @internal
 */
import type * as Terminal from "@effect/platform/Terminal"
import * as Provider from "@effect-auth/core/Provider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Prompt from "./prompt.js"

const LoginAgent = Effect.promise(() => import("@effect-auth/core/LoginAgent"))

/** @internal */
export const layer = (ask: Provider.Ask): Layer.Layer<Provider.Interaction, never, Terminal.Terminal> =>
  Layer.effect(
    Provider.Interaction,
    Effect.map(Effect.context<Terminal.Terminal>(), (context) => ({
      ask,
      interactive: Prompt.isInteractive(),
      text: (message, site) => Effect.provide(Prompt.text(message, site), context),
      hidden: (message, site) => Effect.provide(Prompt.hidden(message, site), context),
      confirm: (message) => Effect.provide(Prompt.confirm(message), context),
      agent: Effect.flatMap(LoginAgent, (module) => Effect.provide(module.make(), context))
    }))
  )
