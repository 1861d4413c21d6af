/**
 * The `TokenStore` of storage `auto`: the store the decision names (`storageDecision.ts`), with
 * the secure file behind the keyring. While the decision is the keyring, reads ask both (an entry
 * the file got while the keyring was down must not be lost) and the freshest entry wins; a keyring
 * that fails or hangs during a call turns the decision to the file for this call and every later
 * one. While the decision is the file, the keyring is left alone (but for a logout's best effort
 * when it failed without hanging), so a keyring that hung is never waited on again.
 *
 * @internal
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { CredentialStoreError } from "../AuthError.js"
import type { Token } from "../Token.js"
import type { TokenStore } from "../TokenStore.js"
import * as StorageDecision from "./storageDecision.js"

/** @internal */
export interface Stores {
  readonly target: StorageDecision.Target
  readonly keyring: TokenStore.Service
  readonly file: TokenStore.Service
}

/** The later `issuedAt`, then the later expiry; the first on a tie. @internal */
export const freshest = (a: Option.Option<Token>, b: Option.Option<Token>): Option.Option<Token> => {
  if (Option.isNone(a)) return b
  if (Option.isNone(b)) return a
  const [x, y] = [a.value, b.value]
  const byIssue = DateTime.toEpochMillis(y.issuedAt) - DateTime.toEpochMillis(x.issuedAt)
  return byIssue > 0 || (byIssue === 0 && y.expiresAtMillis > x.expiresAtMillis) ? b : a
}

/** A failure of the keyring itself (not a corrupt entry in it): what makes `auto` fall back. */
const isKeyringFailure = (error: CredentialStoreError): boolean => error.reason === "Unavailable"

/** @internal */
export const make = ({ file, keyring, target }: Stores): TokenStore.Service => {
  const onKeyring = () => StorageDecision.current(target)?.kind === "keyring"
  /** `onKeyring` for as long as the keyring works; after its first failure, `onFile`. */
  const withFallback = <A>(
    useKeyring: Effect.Effect<A, CredentialStoreError>,
    onFile: Effect.Effect<A, CredentialStoreError>
  ): Effect.Effect<A, CredentialStoreError> =>
    Effect.suspend(() =>
      onKeyring()
        ? Effect.catchIf(
          useKeyring,
          isKeyringFailure,
          (error) => Effect.zipRight(StorageDecision.fallBack(target, error, file.describe), onFile)
        )
        : onFile
    )
  return {
    get describe() {
      return onKeyring() ? keyring.describe : file.describe
    },
    load: (key) =>
      withFallback(
        Effect.flatMap(
          Effect.all([Effect.either(keyring.load(key)), Effect.either(file.load(key))], { concurrency: 2 }),
          ([inKeyring, inFile]) =>
            Either.isLeft(inKeyring)
              ? Effect.fail(inKeyring.left)
              : Effect.map(inFile, (fromFile) => freshest(inKeyring.right, fromFile))
        ),
        file.load(key)
      ),
    save: (key, token) => withFallback(keyring.save(key, token), file.save(key, token)),
    // A logout removes the entry from both, the keyring's at best effort once it failed (a login
    // from before the fallback), and not at all once it hung.
    remove: (key) =>
      Effect.zipRight(
        withFallback(
          keyring.remove(key),
          Effect.suspend(() => StorageDecision.current(target)?.timedOut === false ? Effect.ignore(keyring.remove(key)) : Effect.void)
        ),
        file.remove(key)
      )
  }
}
