/**
 * An Effect program that signs in to Anaplan with a CA certificate (or email and password when no
 * certificate is configured), keeps the token in a secure file between runs, and prints who is
 * signed in. Everything comes from `Config` (`ANAPLAN_*` environment variables).
 *
 * @since 0.1.0
 */
import * as AnaplanAuth from "@effect-auth/anaplan/AnaplanAuth"
import * as AnaplanClient from "@effect-auth/anaplan/AnaplanClient"
import type * as AuthError from "@effect-auth/core/AuthError"
import type * as AuthStrategy from "@effect-auth/core/AuthStrategy"
import * as SecureFileStore from "@effect-auth/core/SecureFileStore"
import * as TokenLock from "@effect-auth/core/TokenLock"
import * as TokenSource from "@effect-auth/core/TokenSource"
import * as TokenStore from "@effect-auth/core/TokenStore"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"

/**
 * How the program signs in.
 *
 * @since 0.1.0
 * @category models
 */
export type Credentials =
  | {
    readonly _tag: "Certificate"
    readonly certificate: string
    readonly privateKey: string
    readonly passphrase: Option.Option<Redacted.Redacted<string>>
  }
  | { readonly _tag: "Basic"; readonly email: string; readonly password: Redacted.Redacted<string> }

/**
 * The program's settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly credentials: Credentials
  readonly authUrl: string
  readonly apiUrl: string
  /** Where the token is kept between runs (`credentials.json`, mode 0600, and its lock files). */
  readonly storeDirectory: string
}

/**
 * The settings from `Config`:
 *
 * | variable | meaning |
 * | --- | --- |
 * | `ANAPLAN_CERTIFICATE`, `ANAPLAN_PRIVATE_KEY` | paths of the certificate and its private key; when set, certificate login |
 * | `ANAPLAN_PRIVATE_KEY_PASSPHRASE` | optional, for an encrypted key |
 * | `ANAPLAN_EMAIL`, `ANAPLAN_PASSWORD` | basic login, used when no certificate is configured |
 * | `ANAPLAN_AUTH_URL`, `ANAPLAN_API_URL` | optional, default `https://auth.anaplan.com`, `https://api.anaplan.com` |
 * | `ANAPLAN_STORE_DIR` | optional, default `$XDG_STATE_HOME/effect-auth` or `~/.local/state/effect-auth` |
 *
 * @since 0.1.0
 * @category config
 */
export const settings: Effect.Effect<Settings, ConfigError.ConfigError> = Effect.gen(function*() {
  const certificate = yield* Config.option(Config.nonEmptyString("ANAPLAN_CERTIFICATE"))
  const credentials: Credentials = Option.isSome(certificate)
    ? {
      _tag: "Certificate",
      certificate: certificate.value,
      privateKey: yield* Config.nonEmptyString("ANAPLAN_PRIVATE_KEY"),
      passphrase: yield* Config.option(Config.redacted("ANAPLAN_PRIVATE_KEY_PASSPHRASE"))
    }
    : {
      _tag: "Basic",
      email: yield* Config.nonEmptyString("ANAPLAN_EMAIL"),
      password: yield* Config.redacted("ANAPLAN_PASSWORD")
    }
  const storeDirectory = yield* Config.option(Config.nonEmptyString("ANAPLAN_STORE_DIR"))
  return {
    credentials,
    authUrl: yield* Config.withDefault(Config.nonEmptyString("ANAPLAN_AUTH_URL"), AnaplanAuth.defaultAuthUrl),
    apiUrl: yield* Config.withDefault(Config.nonEmptyString("ANAPLAN_API_URL"), AnaplanAuth.defaultApiUrl),
    storeDirectory: Option.getOrElse(storeDirectory, () => SecureFileStore.defaultDirectory())
  }
})

/**
 * The login strategy for the configured credentials.
 *
 * @since 0.1.0
 * @category constructors
 */
export const strategy = (
  settings: Settings
): Effect.Effect<AuthStrategy.AuthStrategy, AuthError.InvalidConfiguration, HttpClient.HttpClient> => {
  const credentials = settings.credentials
  return credentials._tag === "Certificate"
    ? AnaplanAuth.certificate({
      certificate: { path: credentials.certificate },
      privateKey: { path: credentials.privateKey },
      passphrase: Option.getOrUndefined(credentials.passphrase),
      authUrl: settings.authUrl
    })
    : AnaplanAuth.basic({ email: credentials.email, password: credentials.password, authUrl: settings.authUrl })
}

/**
 * The store key: one token per login (certificate file or email) and authentication service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const storeKey = (settings: Settings): string =>
  TokenStore.key(
    `anaplan-app ${new URL(settings.authUrl).host}`,
    settings.credentials._tag === "Certificate" ? `certificate ${settings.credentials.certificate}` : settings.credentials.email
  )

/**
 * `AnaplanClient` over a persisted `TokenSource`: the token is read from the secure file when it is
 * still fresh, refreshed when stale, and every new token is saved before use. Lock files in the same
 * directory make concurrent runs log in once.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  AnaplanClient.AnaplanClient | TokenSource.TokenSource,
  ConfigError.ConfigError | AuthError.InvalidConfiguration | AuthError.CredentialStoreError,
  HttpClient.HttpClient
> = Layer.unwrapEffect(
  Effect.map(settings, (settings) => {
    const storage = Layer.merge(
      SecureFileStore.layerTokenStore({ directory: settings.storeDirectory }),
      TokenLock.layerFile({ directory: settings.storeDirectory })
    )
    const auth = TokenStore.layerPersisted(strategy(settings), { key: storeKey(settings) }).pipe(
      Layer.provide(storage)
    )
    return AnaplanClient.layer({ apiUrl: settings.apiUrl }).pipe(Layer.provideMerge(auth))
  })
)

/**
 * Prints who is signed in and until when the token is valid (never the token).
 *
 * @since 0.1.0
 * @category programs
 */
export const program = Effect.gen(function*() {
  const { storeDirectory } = yield* settings
  const client = yield* AnaplanClient.AnaplanClient
  const source = yield* TokenSource.TokenSource
  const user = yield* client.whoami
  const token = yield* source.get
  const until = Option.match(token.expiresAt, { onNone: () => "no expiry", onSome: DateTime.formatIso })
  yield* Console.log(`Signed in to Anaplan as ${user.firstName} ${user.lastName} <${user.email}> (user ${user.id})`)
  yield* Console.log(`Token valid until ${until}, kept in ${storeDirectory} for the next run`)
  return user
})

/**
 * The program with everything it needs but an `HttpClient`.
 *
 * @since 0.1.0
 * @category programs
 */
export const main = program.pipe(Effect.provide(layer))
