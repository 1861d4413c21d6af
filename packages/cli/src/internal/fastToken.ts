/**
 * `effect-auth token` without `@effect/cli`: the command a script runs most, loaded with as
 * little as possible.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { finish } from "./finish.js"
import type { Globals } from "./globalsType.js"
import * as Network from "./network.js"
import { printToken } from "./printToken.js"
import * as Prompt from "./prompt.js"
import * as Session from "./session.js"

/** @internal */
export const main = (globals: Globals): Effect.Effect<number> =>
  finish(printToken(globals), globals.verbose).pipe(
    Effect.provide(Layer.merge(Prompt.terminalLayer, Network.layer(Session.siteFor(globals))))
  )
