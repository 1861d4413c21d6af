/**
 * A `KeyValueStore` in the operating system's keyring (Secret Service on Linux, Keychain on macOS,
 * Credential Manager on Windows) through `@napi-rs/keyring`.
 *
 * Each key is one keyring entry: service {@link Options.service} (default `effect-auth`), account
 * the key. Every call is bounded by a timeout, so a locked or hung keyring gives a
 * `CredentialStoreError` naming "system keyring" and the fix, never a hang. `size` and `clear` list
 * the entries of the service (`findCredentials`).
 *
 * The calls run in a small helper process (`internal/keyringHelper.cjs`, started on first use,
 * about 50 ms, shared by the store's calls, killed when a call times out or the store's scope
 * closes): `@napi-rs/keyring` talks to D-Bus synchronously on the
 * calling thread, so a hung bus or keyring daemon would otherwise freeze the event loop, where no
 * timeout can fire. Windows limits an entry to 2,560 bytes.
 *
 * @since 0.1.0
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { CredentialStoreError } from "./AuthError.js"
import * as internal from "./internal/storeKeyring.js"
import * as TokenStore from "./TokenStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The keyring service name the entries are filed under. Default `effect-auth`. */
  readonly service?: string | undefined
  /** Bound on every keyring call. Default 3 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The default service name, `effect-auth`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultService: string = internal.defaultService

/**
 * The store's description for messages: `system keyring (service "effect-auth")`.
 *
 * @since 0.1.0
 * @category utils
 */
export const describe = (options: Options = {}): string => internal.describe(options.service ?? defaultService)

/**
 * The keyring as a `KeyValueStore`, its helper process closed with the scope. Failures are
 * `PlatformError`s whose `cause` is the `CredentialStoreError` to show (`TokenStore` surfaces it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<KeyValueStore.KeyValueStore, never, Scope.Scope> = internal.make

/**
 * The keyring as a `KeyValueStore` layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<KeyValueStore.KeyValueStore> =>
  Layer.scoped(KeyValueStore.KeyValueStore, make(options))

/**
 * A `TokenStore` in the keyring.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTokenStore = (options: Options = {}): Layer.Layer<TokenStore.TokenStore> =>
  Layer.scoped(TokenStore.TokenStore, Effect.map(make(options), (store) => TokenStore.make(store, describe(options))))

/**
 * Checks that the keyring works by writing, reading back and deleting a probe entry, each call
 * bounded by the timeout; fails with a `CredentialStoreError` saying why it does not.
 *
 * @since 0.1.0
 * @category utils
 */
export const check: (options?: Options) => Effect.Effect<void, CredentialStoreError> = internal.check

/**
 * Whether the keyring works: {@link check} as a boolean.
 *
 * @since 0.1.0
 * @category utils
 */
export const probe = (options: Options = {}): Effect.Effect<boolean> =>
  check(options).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
