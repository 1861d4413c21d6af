/**
 * A {@link TokenSource} for code outside Effect (a Lambda handler, an Express route): an object
 * whose `getToken()` returns a `Promise`, answered from the held token without starting a fiber
 * while it is fresh, and through the source (refresh, single flight, retries) otherwise.
 *
 * ```ts
 * const tokens = TokenAccessor.fromLayer(
 *   AnaplanAuth.layerBasicConfig().pipe(Layer.provide(NodeHttpClient.layerUndici))
 * )
 * export const handler = async () => {
 *   const token = await tokens.getAccessToken()
 *   // fetch(..., { headers: { authorization: `AnaplanAuthToken ${token}` } })
 * }
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import type { Token } from "./Token.js"
import { TokenSource } from "./TokenSource.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface TokenAccessor {
  /** A valid token: the held one while fresh (no fiber, no allocation), else the source's. */
  readonly getToken: () => Promise<Token>
  /** The access token's value, for a header built by hand. */
  readonly getAccessToken: () => Promise<string>
}

/**
 * A {@link TokenAccessor} that also owns the source's resources (from {@link fromLayer}).
 *
 * @since 0.1.0
 * @category models
 */
export interface ManagedTokenAccessor extends TokenAccessor {
  /** Closes the source (revoking its token where the strategy does) and its layer. */
  readonly dispose: () => Promise<void>
}

/**
 * The accessor over `source`; calls that must go through the source run on `runtime` (default
 * `Runtime.defaultRuntime`). A failure rejects the promise with the `AuthError` (a `FiberFailure`
 * carrying it, as `Runtime.runPromise` rejects).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <R = never>(
  source: TokenSource.Service,
  runtime: Runtime.Runtime<R> = Runtime.defaultRuntime as Runtime.Runtime<R>
): TokenAccessor => {
  const run = Runtime.runPromise(runtime)
  // The same settled promises for as long as the same token is fresh: awaiting one costs a
  // microtask and nothing else.
  let held: Token | undefined
  let answer: Promise<Token> | undefined
  let value: Promise<string> | undefined
  const fresh = (): boolean => {
    const token = source.unsafeFresh?.()
    if (token === undefined) return false
    if (token !== held) {
      held = token
      answer = Promise.resolve(token)
      value = Promise.resolve(Redacted.value(token.accessToken))
    }
    return true
  }
  return {
    getToken: () => fresh() ? answer! : run(source.get),
    getAccessToken: () =>
      fresh() ? value! : run(Effect.map(source.get, (token) => Redacted.value(token.accessToken)))
  }
}

/**
 * The accessor over the {@link TokenSource} a layer builds, built on first use and kept until
 * `dispose()`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromLayer = <E>(layer: Layer.Layer<TokenSource, E>): ManagedTokenAccessor => {
  const runtime = ManagedRuntime.make(layer)
  let ready: TokenAccessor | undefined
  let building: Promise<TokenAccessor> | undefined
  const accessor = () =>
    building ??= runtime.runtime().then((rt) => (ready = make(Runtime.runSync(rt)(TokenSource), rt)))
  return {
    getToken: () => ready !== undefined ? ready.getToken() : accessor().then((a) => a.getToken()),
    getAccessToken: () => ready !== undefined ? ready.getAccessToken() : accessor().then((a) => a.getAccessToken()),
    dispose: () => runtime.dispose()
  }
}

/**
 * The accessor over the {@link TokenSource} in context, running on the current runtime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromContext: Effect.Effect<TokenAccessor, never, TokenSource> = Effect.flatMap(
  TokenSource,
  (source) => Effect.map(Effect.runtime<never>(), (runtime) => make(source, runtime))
)
