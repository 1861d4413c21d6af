/**
 * The human side of interactive logins: opening the browser (or printing the URL), receiving the
 * redirect on a one-shot loopback server or as a pasted URL, and showing device codes. All output
 * goes to standard error: standard output is reserved for tokens.
 *
 * @since 0.1.0
 */
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import type * as Terminal from "@effect/platform/Terminal"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as AuthError from "./AuthError.js"
import * as internal from "./internal/loginAgent.js"
import type { AuthorizationResponse } from "./internal/oauth2Redirect.js"

/**
 * Talks to the person during interactive logins.
 *
 * @since 0.1.0
 * @category tags
 */
export class LoginAgent extends Context.Tag("@effect-auth/core/LoginAgent")<LoginAgent, LoginAgent.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace LoginAgent {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /**
     * Runs the browser part of the authorization code grant: picks the redirect URI, has
     * `request.start` build the authorization URL for it, sends the person there and returns the
     * validated redirect (state checked, `error=` mapped to typed errors).
     */
    readonly authorize: (request: AuthorizeRequest) => Effect.Effect<AuthorizeResult, AuthError.AuthError>
    /** Shows a device code and reports progress while `poll` runs. */
    readonly device: <A>(
      prompt: DevicePrompt,
      poll: Effect.Effect<A, AuthError.AuthError>
    ) => Effect.Effect<A, AuthError.AuthError>
  }
}

/**
 * Where the redirect arrives: a one-shot server on the loopback interface (RFC 8252 section 7.3:
 * ephemeral port unless `port` is set, path `/callback` unless `path` is set), or a redirect URI
 * the person copies back from the browser (for providers that cannot register loopback URIs).
 *
 * @since 0.1.0
 * @category models
 */
export type Redirect = internal.Redirect

/**
 * A loopback redirect (the default for desktop logins).
 *
 * @since 0.1.0
 * @category constructors
 */
export const loopback = (options: Omit<Extract<Redirect, { _tag: "Loopback" }>, "_tag"> = {}): Redirect => ({
  _tag: "Loopback",
  ...options
})

/**
 * A pasted redirect to the registered `redirectUri`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const paste = (redirectUri: string): Redirect => ({ _tag: "Paste", redirectUri })

/**
 * @since 0.1.0
 * @category models
 */
export type AuthorizeRequest = internal.AuthorizeRequest

/**
 * The validated redirect: the code, its parameters and the redirect URI used (needed for the code
 * exchange, RFC 6749 section 4.1.3).
 *
 * @since 0.1.0
 * @category models
 */
export type AuthorizeResult = internal.AuthorizeResult

/**
 * @since 0.1.0
 * @category models
 */
export type DevicePrompt = internal.DevicePrompt

/**
 * Options of the real agent.
 *
 * @since 0.1.0
 * @category models
 */
export type Options = internal.Options

/**
 * How long a person has to log in by default: 5 minutes.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTimeout: Duration.Duration = internal.defaultTimeout

/**
 * Whether a browser can be opened: not when `option` is `false`, not over SSH (`SSH_CONNECTION`),
 * not on Linux without `DISPLAY` or `WAYLAND_DISPLAY`.
 *
 * @since 0.1.0
 * @category utils
 */
export const canOpenBrowser: (
  env: Readonly<Record<string, string | undefined>>,
  platform: string,
  option?: boolean | "auto"
) => boolean = internal.canOpenBrowser

/**
 * Whether the spinner shown while waiting on a browser or a device code is animated: as `option`
 * says when it is a boolean; for `"auto"` (the default) only when `isTTY` (the output is a terminal),
 * `TERM` is not `dumb` and `CI` is not set. Otherwise the waiting line is printed once.
 *
 * @since 0.1.0
 * @category utils
 */
export const canShowSpinner: (
  env: Readonly<Record<string, string | undefined>>,
  isTTY: boolean,
  option?: boolean | "auto"
) => boolean = internal.canShowSpinner

/**
 * The real agent. Paste mode reads the pasted URL through the platform `Terminal`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<LoginAgent.Service, never, Terminal.Terminal> = internal.make

/**
 * The real agent as a layer, given a `Terminal`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<LoginAgent, never, Terminal.Terminal> =>
  Layer.effect(LoginAgent, internal.make(options))

/**
 * The real agent on Node, reading pasted URLs from standard input.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNode = (options?: Options): Layer.Layer<LoginAgent> =>
  layer(options).pipe(Layer.provide(NodeTerminal.layer))

/**
 * Parses and validates a pasted redirect: a full URL or query string (state checked), or a bare code.
 *
 * @since 0.1.0
 * @category utils
 */
export const parsePasted: (
  line: string,
  state: string,
  request: { readonly issuer?: string | undefined; readonly site?: string | undefined }
) => Either.Either<AuthorizationResponse, AuthError.AuthError> = internal.parsePasted

/**
 * An agent for tests: `browser` plays the person in the browser and returns the URL the browser
 * ends on; `device` plays the person confirming a device code while the client polls.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeTest: (options: {
  readonly browser?: ((url: URL, redirectUri: string) => Effect.Effect<string, AuthError.AuthError>) | undefined
  readonly device?: ((prompt: DevicePrompt) => Effect.Effect<void, AuthError.AuthError>) | undefined
}) => LoginAgent.Service = internal.makeTest

/**
 * {@link makeTest} as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (options: Parameters<typeof makeTest>[0]): Layer.Layer<LoginAgent> =>
  Layer.succeed(LoginAgent, internal.makeTest(options))
