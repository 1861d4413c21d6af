/**
 * Where effect-auth keeps its files, by the XDG base directory rules: the sites configuration and
 * the state directory of the secure file store. Free of Effect, so that the CLI's fastest path
 * can use it without loading the runtime.
 *
 * @since 0.1.0
 */
import { homedir } from "node:os"
import { isAbsolute, join } from "node:path"

const nonEmpty = (value: string | undefined): value is string => value !== undefined && value !== ""

/**
 * The home directory: `$HOME`, else the account's.
 *
 * @since 0.1.0
 * @category paths
 */
export const home = (env: Record<string, string | undefined> = process.env): string =>
  nonEmpty(env.HOME) ? env.HOME : homedir()

/** An XDG base directory: the variable when it holds an absolute path (the spec ignores relative ones), else the default under HOME. */
const xdg = (env: Record<string, string | undefined>, variable: string, fallback: ReadonlyArray<string>): string => {
  const value = env[variable]
  return nonEmpty(value) && isAbsolute(value) ? value : join(home(env), ...fallback)
}

/**
 * The sites configuration file: `$EFFECT_AUTH_CONFIG`, else
 * `$XDG_CONFIG_HOME/effect-auth/config.toml`, else `~/.config/effect-auth/config.toml`.
 *
 * @since 0.1.0
 * @category paths
 */
export const configFile = (env: Record<string, string | undefined> = process.env): string =>
  nonEmpty(env.EFFECT_AUTH_CONFIG)
    ? env.EFFECT_AUTH_CONFIG
    : join(xdg(env, "XDG_CONFIG_HOME", [".config"]), "effect-auth", "config.toml")

/**
 * The state directory (the secure file store and its lock files): `$XDG_STATE_HOME/effect-auth`,
 * else `~/.local/state/effect-auth`.
 *
 * @since 0.1.0
 * @category paths
 */
export const stateDirectory = (env: Record<string, string | undefined> = process.env): string =>
  join(xdg(env, "XDG_STATE_HOME", [".local", "state"]), "effect-auth")
