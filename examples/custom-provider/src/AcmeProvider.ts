/**
 * A provider of the user's own: the Acme API, which trades an API key (`POST /session`, header
 * `x-api-key`) for a session token that lives a few minutes, and names its owner at `GET /me`.
 * One file, no change to effect-auth: programs use it through `Sites.layer`, and the CLI through
 * `Cli.main(argv, { providers: [provider] })` (see ../main.ts).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as AuthResponse from "@effect-auth/core/AuthResponse"
import * as AuthStrategy from "@effect-auth/core/AuthStrategy"
import * as Provider from "@effect-auth/core/Provider"
import * as Token from "@effect-auth/core/Token"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

const Session = Schema.Struct({ token: Schema.String, expires_in: Schema.Number })
const Me = Schema.Struct({ email: Schema.String, name: Schema.String })

export const provider = Provider.erase(Provider.make({
  name: "acme",
  description: "The Acme API (an API key traded for session tokens)",
  methods: ["api_key", "token"],
  fields: {
    acme_url: Provider.field.url("The Acme API, e.g. https://api.acme.example", { identity: true }),
    api_key: Provider.field.secret("The API key (EFFECT_AUTH_API_KEY)", { identity: true })
  },
  requires: () => [{ fields: ["acme_url"], scope: "provider" }],
  example: { flags: "--acme-url https://api.acme.example", env: "EFFECT_AUTH_API_KEY" },
  plan: (site) => {
    const url = site.values.acme_url ?? ""
    const context = { site: site.name, operation: "Acme session" }
    const session = (client: HttpClient.HttpClient, key: Redacted.Redacted<string>) =>
      Effect.gen(function*() {
        const request = HttpClientRequest.post(`${url}/session`).pipe(
          HttpClientRequest.setHeader("x-api-key", Redacted.value(key))
        )
        const response = yield* AuthResponse.execute(client, request, context)
        if (response.status !== 200) return yield* AuthResponse.statusError(response, context)
        const body = yield* AuthResponse.json(response, Session, context)
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        return Token.make({ accessToken: body.token, issuedAt: now, expiresIn: `${body.expires_in} seconds` })
      })
    return {
      strategy: Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const asker = yield* Provider.asker(site.name)
        const key = asker.value({
          configured: site.values.api_key,
          what: "API key",
          how: "Set EFFECT_AUTH_API_KEY",
          prompt: (person) => person.hidden("Acme API key", site.name)
        })
        return AuthStrategy.make({ name: "acme-api_key", site: site.name, acquire: Effect.flatMap(key, (k) => session(client, k)) })
      }),
      whoami: (token) =>
        Effect.gen(function*() {
          const client = yield* HttpClient.HttpClient
          const request = HttpClientRequest.get(`${url}/me`).pipe(
            HttpClientRequest.setHeader("authorization", `Bearer ${Redacted.value(token.accessToken)}`)
          )
          const response = yield* AuthResponse.execute(client, request, context)
          if (response.status !== 200) return yield* AuthResponse.statusError(response, context)
          return yield* AuthResponse.json(response, Me, context)
        })
    }
  }
}))
