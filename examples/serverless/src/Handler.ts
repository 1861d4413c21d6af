/**
 * A serverless handler (AWS Lambda, Google Cloud Functions, Azure Functions...) that returns a valid
 * Anaplan token, in the shape of the classic Anaplan Lambda recipe:
 * `handler(event) -> { status, statusMessage, tokenValue }`.
 *
 * Unlike the recipe, no credential is in the code: they come from `Config` (environment variables,
 * the password optionally from a secret file mounted by the platform), and the token is shared
 * between invocations: a warm instance keeps it in memory (the `TokenSource` lives as long as the
 * instance), and with `ANAPLAN_TOKEN_STORE=file` or `redis` a cold start picks up the token an
 * earlier instance stored. The token is refreshed ahead of its expiry; invocations never log in
 * twice for the same token lifetime.
 *
 * @since 0.1.0
 */
import * as AnaplanAuth from "@effect-auth/anaplan/AnaplanAuth"
import * as AuthError from "@effect-auth/core/AuthError"
import * as CredentialStorage from "@effect-auth/core/CredentialStorage"
import * as TokenSource from "@effect-auth/core/TokenSource"
import * as TokenStore from "@effect-auth/core/TokenStore"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import type * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"

/**
 * What the handler returns: `SUCCESS` with the token, or a `FAILURE*` status with a message saying
 * what went wrong and what to do (never a secret).
 *
 * @since 0.1.0
 * @category models
 */
export interface Result {
  readonly status: "SUCCESS" | "FAILURE_BAD_CREDENTIAL" | "FAILURE_CONFIGURATION" | "FAILURE"
  readonly statusMessage: string
  readonly tokenValue?: string
}

/**
 * The handler's settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly email: string
  readonly password: Redacted.Redacted<string>
  readonly authUrl: string
  readonly storage: "memory" | "file" | "redis"
  readonly storeDirectory: string
  readonly redisUrl: string | undefined
}

/**
 * The settings from `Config`:
 *
 * | variable | meaning |
 * | --- | --- |
 * | `ANAPLAN_EMAIL` | the integration user |
 * | `ANAPLAN_PASSWORD` or `ANAPLAN_PASSWORD_FILE` | the password, or a file holding it (a mounted secret; one trailing newline is ignored) |
 * | `ANAPLAN_AUTH_URL` | default `https://auth.anaplan.com` |
 * | `ANAPLAN_TOKEN_STORE` | `memory` (default: shared within a warm instance), `file` or `redis` (shared across instances) |
 * | `ANAPLAN_STORE_DIR` | for `file`; default `/tmp/effect-auth` (the writable directory of most platforms) |
 * | `ANAPLAN_REDIS_URL` | for `redis`: `redis://host:6379` or `rediss://` |
 *
 * @since 0.1.0
 * @category config
 */
export const settings: Effect.Effect<
  Settings,
  ConfigError.ConfigError | AuthError.InvalidConfiguration,
  FileSystem.FileSystem
> = Effect.gen(function*() {
  const email = yield* Config.nonEmptyString("ANAPLAN_EMAIL")
  const direct = yield* Config.option(Config.redacted("ANAPLAN_PASSWORD"))
  const password = Option.isSome(direct) ? direct.value : yield* passwordFromFile
  return {
    email,
    password,
    authUrl: yield* Config.withDefault(Config.nonEmptyString("ANAPLAN_AUTH_URL"), AnaplanAuth.defaultAuthUrl),
    storage: yield* Config.withDefault(Config.literal("memory", "file", "redis")("ANAPLAN_TOKEN_STORE"), "memory"),
    storeDirectory: yield* Config.withDefault(Config.nonEmptyString("ANAPLAN_STORE_DIR"), "/tmp/effect-auth"),
    redisUrl: Option.getOrUndefined(yield* Config.option(Config.nonEmptyString("ANAPLAN_REDIS_URL")))
  }
})

const passwordFromFile: Effect.Effect<
  Redacted.Redacted<string>,
  ConfigError.ConfigError | AuthError.InvalidConfiguration,
  FileSystem.FileSystem
> = Effect.gen(function*() {
  const path = yield* Config.nonEmptyString("ANAPLAN_PASSWORD_FILE").pipe(
    Config.orElse(() => Config.fail("Set ANAPLAN_PASSWORD, or ANAPLAN_PASSWORD_FILE to a file holding the password"))
  )
  const fs = yield* FileSystem.FileSystem
  const text = yield* fs.readFileString(path).pipe(
    Effect.mapError((error) =>
      new AuthError.InvalidConfiguration({
        detail: `The password file ${path} cannot be read (${error._tag === "SystemError" ? error.reason : error.description ?? error._tag})`,
        hint: "Check ANAPLAN_PASSWORD_FILE and the secret mounted at that path."
      })
    )
  )
  const password = text.replace(/\r?\n$/, "")
  if (password === "") {
    return yield* new AuthError.InvalidConfiguration({
      detail: `The password file ${path} is empty`,
      hint: "Put the password in the secret that ANAPLAN_PASSWORD_FILE points to."
    })
  }
  return Redacted.make(password)
})

/**
 * The `TokenSource` of the handler: Anaplan basic login made persistent in the configured store.
 * Closing it does not log out (`TokenStore.layerPersisted`): the stored token outlives the instance.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  TokenSource.TokenSource,
  ConfigError.ConfigError | AuthError.InvalidConfiguration | AuthError.CredentialStoreError,
  HttpClient.HttpClient | FileSystem.FileSystem
> = Layer.unwrapEffect(
  Effect.map(settings, (settings) =>
    TokenStore.layerPersisted(AnaplanAuth.basic({ ...settings, site: "anaplan" }), {
      key: TokenStore.key(`anaplan ${new URL(settings.authUrl).host}`, settings.email)
    }).pipe(
      Layer.provide(CredentialStorage.layer({
        kind: settings.storage,
        directory: settings.storeDirectory,
        redisUrl: settings.redisUrl
      }))
    ))
)

/**
 * The result for a failure: the error's own message (it says what to do next), never a secret.
 *
 * @since 0.1.0
 * @category constructors
 */
export const failure = (cause: Cause.Cause<unknown>): Result => {
  const error = Cause.squash(cause)
  if (ConfigError.isConfigError(error)) {
    return { status: "FAILURE_CONFIGURATION", statusMessage: `Configuration: ${String(error)}` }
  }
  const tag = Predicate.hasProperty(error, "_tag") ? error._tag : undefined
  return {
    status: tag === "InvalidCredentials"
      ? "FAILURE_BAD_CREDENTIAL"
      : tag === "InvalidConfiguration"
      ? "FAILURE_CONFIGURATION"
      : "FAILURE",
    statusMessage: error instanceof Error ? error.message : String(error)
  }
}

/**
 * Options of {@link makeHandler}; the defaults are what a deployment uses.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandlerOptions {
  /** Default: the environment. */
  readonly configProvider?: ConfigProvider.ConfigProvider | undefined
  /** Default `NodeHttpClient.layerUndici`. */
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient> | undefined
}

/**
 * A handler with its own runtime: the first invocation builds the `TokenSource` (reading the config),
 * later invocations of the same instance reuse it. A failed build is not kept: the next invocation
 * tries again (a Redis that was down, a secret mounted late). `dispose` closes the runtime (not
 * needed on serverless platforms, which freeze and drop instances).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeHandler = (options: HandlerOptions = {}): {
  readonly handler: (event?: unknown) => Promise<Result>
  readonly dispose: () => Promise<void>
} => {
  const configured = options.configProvider === undefined
    ? layer
    : Layer.provide(layer, Layer.setConfigProvider(options.configProvider))
  const live = configured.pipe(
    Layer.provide(Layer.merge(options.httpClient ?? NodeHttpClient.layerUndici, NodeFileSystem.layer))
  )
  let runtime: ManagedRuntime.ManagedRuntime<TokenSource.TokenSource, unknown> | undefined

  const invoke = Effect.map(TokenSource.get, (token): Result => ({
    status: "SUCCESS",
    statusMessage: "Token retrieved",
    tokenValue: Redacted.value(token.accessToken)
  }))

  const handler = async (_event?: unknown): Promise<Result> => {
    runtime ??= ManagedRuntime.make(live)
    const current = runtime
    const built = await Effect.runPromiseExit(current.runtimeEffect)
    if (Exit.isFailure(built)) {
      if (runtime === current) runtime = undefined
      await current.dispose()
      return failure(built.cause)
    }
    const exit = await Runtime.runPromiseExit(built.value)(invoke)
    return Exit.match(exit, { onFailure: failure, onSuccess: (result) => result })
  }

  return {
    handler,
    dispose: async () => {
      const current = runtime
      runtime = undefined
      if (current !== undefined) await current.dispose()
    }
  }
}

/**
 * The handler to deploy (`export { handler }` from your function's entry module).
 *
 * @since 0.1.0
 * @category handlers
 */
export const handler: (event?: unknown) => Promise<Result> = makeHandler().handler
