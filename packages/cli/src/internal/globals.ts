/** @internal */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Globals as GlobalsType } from "./globalsType.js"

/** @internal */
export const globalOptions = {
  at: Options.text("at").pipe(
    Options.withPseudoName("NAME"),
    Options.withDescription("The site to use (a [sites.NAME] table); default: default_site, or the only site"),
    Options.optional
  ),
  config: Options.text("config").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription("The configuration file; default: $EFFECT_AUTH_CONFIG or ~/.config/effect-auth/config.toml"),
    Options.optional
  ),
  json: Options.boolean("json").pipe(Options.withDescription("Print machine-readable JSON")),
  verbose: Options.boolean("verbose").pipe(Options.withDescription("Print debug logs and stack traces of errors"))
}

/**
 * The root command; subcommands read the global options by yielding it.
 *
 * @internal
 */
export const root = Command.make("effect-auth", globalOptions)

/** @internal */
export type Globals = GlobalsType

/** @internal */
export const toGlobals = (parsed: {
  readonly at: Option.Option<string>
  readonly config: Option.Option<string>
  readonly json: boolean
  readonly verbose: boolean
}): GlobalsType => ({
  at: Option.getOrUndefined(parsed.at),
  config: Option.getOrUndefined(parsed.config),
  json: parsed.json,
  verbose: parsed.verbose
})

/**
 * The parsed global options, wherever they were given on the command line.
 *
 * @internal
 */
export const Globals = Effect.map(root, toGlobals)
