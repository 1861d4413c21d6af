/**
 * A `KeyValueStore` in one JSON file that only its owner can read, safe for several processes.
 *
 * @since 0.1.0
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { CredentialStoreError } from "./AuthError.js"
import * as internal from "./internal/storeFile.js"
import * as TokenStore from "./TokenStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default {@link defaultDirectory}. */
  readonly directory?: string | undefined
  /** Default `credentials.json`. */
  readonly fileName?: string | undefined
  /** How long a writer waits for the file lock. Default 15 s. */
  readonly lockTimeout?: Duration.DurationInput | undefined
  /** A file lock older than this is broken (a dead holder on this host is detected at once). Default 10 s. */
  readonly lockStaleAfter?: Duration.DurationInput | undefined
  /** A larger file is refused (`CredentialStoreError`) without being read whole. Default 8 MiB. */
  readonly maxBytes?: number | undefined
}

/**
 * `$XDG_STATE_HOME/effect-auth`, or `~/.local/state/effect-auth`.
 *
 * @since 0.1.0
 * @category utils
 */
export const defaultDirectory = (env?: NodeJS.ProcessEnv): string => internal.defaultDirectory(env)

/**
 * The store's file, and its description for messages (`file ~/.local/state/effect-auth/credentials.json`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SecureFile {
  readonly store: KeyValueStore.KeyValueStore
  readonly file: string
  readonly directory: string
  readonly describe: string
}

/**
 * Opens the store:
 *
 * - the directory is created `0700`, the file `0600` with the mode given at open time;
 * - a file or directory that group or others can access, or that belongs to another user, is
 *   refused with a `CredentialStoreError` naming it and the fix (`chmod 600 <file>`); so is a
 *   file larger than {@link Options.maxBytes};
 * - keys are any strings, `constructor` and `__proto__` included;
 * - every write is a read-modify-write under an exclusive lock file (`wx`, holder pid and time,
 *   stale-lock expiry), writing a temp file (`0600`, `wx`), fsync, rename, fsync of the directory,
 *   so concurrent processes never lose each other's keys and readers always see a whole file; a
 *   write that fails (a full disk) leaves neither its temp file nor an empty lock file behind.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<SecureFile, CredentialStoreError> = internal.make

/**
 * The store as a `KeyValueStore` layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<KeyValueStore.KeyValueStore, CredentialStoreError> =>
  Layer.effect(KeyValueStore.KeyValueStore, Effect.map(make(options), (file) => file.store))

/**
 * A `TokenStore` on the secure file.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTokenStore = (options: Options = {}): Layer.Layer<TokenStore.TokenStore, CredentialStoreError> =>
  Layer.effect(TokenStore.TokenStore, Effect.map(make(options), (file) => TokenStore.make(file.store, file.describe)))
