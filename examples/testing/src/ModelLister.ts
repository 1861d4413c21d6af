/**
 * A service of a user's own application: it lists the Anaplan models the signed-in user can see
 * (`GET /2/0/models` of Anaplan's integration API) through `AnaplanClient`, which signs every
 * request and recovers from a `401`. Nothing here knows how the token is obtained: the tests swap
 * the `TokenSource` for test layers, or run the real login against the emulator.
 *
 * @since 0.1.0
 */
import * as AnaplanClient from "@effect-auth/anaplan/AnaplanClient"
import type * as AuthError from "@effect-auth/core/AuthError"
import type { TokenSource } from "@effect-auth/core/TokenSource"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/**
 * A model, as `GET /2/0/models` describes it (fields the app does not use are ignored).
 *
 * @since 0.1.0
 * @category models
 */
export class Model extends Schema.Class<Model>("@my-app/Model")({
  id: Schema.String,
  name: Schema.String,
  activeState: Schema.String,
  currentWorkspaceId: Schema.String,
  currentWorkspaceName: Schema.optional(Schema.String)
}) {}

const ModelsResponse = Schema.Struct({ models: Schema.optionalWith(Schema.Array(Model), { default: () => [] }) })

/**
 * The API answered something other than a model list: an error status, or a body that does not
 * decode.
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelListError extends Schema.TaggedError<ModelListError>("@my-app/ModelListError")("ModelListError", {
  detail: Schema.String
}) {
  override get message(): string {
    return `Listing the Anaplan models failed: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ModelLister extends Context.Tag("@my-app/ModelLister")<ModelLister, {
  /** Every model the user can see. */
  readonly listModels: Effect.Effect<ReadonlyArray<Model>, AuthError.AuthError | ModelListError>
  /** The names of the models that are not archived, sorted. */
  readonly activeModelNames: Effect.Effect<ReadonlyArray<string>, AuthError.AuthError | ModelListError>
}>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const anaplan = yield* AnaplanClient.AnaplanClient
  const listModels = anaplan.http.get("/models").pipe(
    Effect.flatMap(HttpClientResponse.filterStatusOk),
    Effect.flatMap(HttpClientResponse.schemaBodyJson(ModelsResponse)),
    Effect.map((body) => body.models),
    Effect.catchTags({
      RequestError: (error) => Effect.fail(new ModelListError({ detail: error.message })),
      ResponseError: (error) => Effect.fail(new ModelListError({ detail: error.message })),
      ParseError: (error) => Effect.fail(new ModelListError({ detail: `unexpected answer: ${error.message}` }))
    }),
    Effect.withSpan("ModelLister.listModels")
  )
  return ModelLister.of({
    listModels,
    activeModelNames: Effect.map(listModels, (models) =>
      models.filter((model) => model.activeState !== "ARCHIVED").map((model) => model.name).sort())
  })
})

/**
 * The service over the `AnaplanClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ModelLister, never, AnaplanClient.AnaplanClient> = Layer.effect(ModelLister, make)

/**
 * The service with its own `AnaplanClient` (default API host) over the `TokenSource` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (
  options?: AnaplanClient.Options
): Layer.Layer<ModelLister, AuthError.InvalidConfiguration, TokenSource | HttpClient.HttpClient> =>
  layer.pipe(Layer.provide(AnaplanClient.layer(options)))
