/**
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { LoginCancelled, LoginRequired } from "../AuthError.js"
import type * as Provider from "../Provider.js"

/** A constructor of fields of one kind. @internal */
export const fieldOf = <K extends Provider.FieldKind>(kind: K) =>
(description: string, options?: Omit<Provider.Field, "kind" | "description">): Provider.Field<K> => ({
  kind,
  description,
  ...options
})

const kindSchema = (kind: Provider.FieldKind): Schema.Schema.Any =>
  kind === "secret" ?
    Schema.RedactedFromSelf(Schema.String) :
    kind === "list" ?
    Schema.Array(Schema.String) :
    Schema.String

/** @internal */
export const schema = <F extends Provider.Fields>(
  fields: F
): Schema.Schema<Provider.Values<F>, { readonly [K in keyof F]?: unknown }> => {
  const struct: Record<string, Schema.optional<Schema.Schema.Any>> = Object.create(null)
  for (const [name, field] of Object.entries(fields)) struct[name] = Schema.optional(kindSchema(field.kind))
  return Schema.Struct(struct) as unknown as Schema.Schema<Provider.Values<F>, { readonly [K in keyof F]?: unknown }>
}

type InteractionService = Provider.Interaction.Service

/** @internal */
export const Interaction = Context.GenericTag<Provider.Interaction, InteractionService>(
  "@effect-auth/core/Provider/Interaction"
)

const nobody = () =>
  new LoginRequired({
    detail: "This login needs a person at a browser or terminal, and this program has none",
    hint: "Log in once with `effect-auth login`, or provide an Interaction layer that can reach a person."
  })

/** @internal */
export const noInteraction: InteractionService = {
  ask: "never",
  interactive: false,
  text: (_, site) => Effect.fail(new LoginCancelled({ site, detail: "Nobody is there to answer a prompt" })),
  hidden: (_, site) => Effect.fail(new LoginCancelled({ site, detail: "Nobody is there to answer a prompt" })),
  confirm: () => Effect.succeed(false),
  agent: Effect.sync(() => ({
    authorize: () => Effect.fail(nobody()),
    device: () => Effect.fail(nobody())
  }))
}

/** @internal */
export interface Asker {
  /** A value from the configuration, else asked for, else `LoginRequired` saying how to give it. */
  readonly value: <A>(options: {
    readonly configured: A | undefined
    readonly what: string
    readonly how: string
    readonly prompt: (interaction: InteractionService) => Effect.Effect<A, LoginCancelled>
  }) => Effect.Effect<A, LoginRequired | LoginCancelled>
  /** A login that needs a person (a browser, a device code): without one, `LoginRequired`. */
  readonly person: (method: string) => Effect.Effect<void, LoginRequired>
}

const loginCommand = (site: string): string => `effect-auth login --at ${site}`

/** @internal */
export const asker = (site: string): Effect.Effect<Asker, never, Provider.Interaction> =>
  Effect.flatMap(Interaction, (interaction) => {
    let confirmed = false
    const canPrompt = interaction.ask !== "never" && interaction.interactive
    const confirm = <E>(missing: E): Effect.Effect<void, E> =>
      confirmed ?
        Effect.void :
        Effect.flatMap(interaction.confirm(`No usable login for ${site}. Log in now?`), (yes) => {
          if (!yes) return Effect.fail(missing)
          confirmed = true
          return Effect.void
        })
    return Effect.succeed<Asker>({
      value: (options) =>
        Effect.suspend(() => {
          if (options.configured !== undefined) return Effect.succeed(options.configured)
          const required = new LoginRequired({
            site,
            detail: `No ${options.what} to log in with${canPrompt ? "" : ", and no terminal to ask for it"}`,
            hint: `${options.how}, or run \`${loginCommand(site)}\` in a terminal.`
          })
          if (!canPrompt) return Effect.fail(required)
          const ask = options.prompt(interaction)
          return interaction.ask === "confirm" ? Effect.zipRight(confirm(required), ask) : ask
        }),
      person: (method) =>
        Effect.suspend(() => {
          const missing = new LoginRequired({
            site,
            detail: `Logging in to ${site} (${method}) needs a person${interaction.ask === "never" ? "" : " at a terminal"}`,
            hint:
              `Run \`${loginCommand(site)}\` in a terminal, or use the refresh_token method with EFFECT_AUTH_REFRESH_TOKEN.`
          })
          if (!canPrompt) return Effect.fail(missing)
          return interaction.ask === "prompt" ? Effect.void : confirm(missing)
        })
    })
  })

