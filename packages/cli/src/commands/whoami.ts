/**
 * `effect-auth whoami`: the signed-in user, from the site's API.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import { TokenExpired } from "@effect-auth/core/AuthError"
import * as Effect from "effect/Effect"
import * as Output from "../internal/output.js"
import { Globals } from "../internal/globals.js"
import * as Session from "../internal/session.js"
import * as SiteStrategy from "../internal/siteStrategy.js"

/**
 * The `whoami` command: the site's user API (Anaplan's `users/me`, OpenID userinfo), or for a
 * client-credentials site the client the token belongs to.
 *
 * @since 0.1.0
 * @category commands
 */
export const whoami = Command.make("whoami", {}, () =>
  Effect.gen(function*() {
    const { globals, plan, site } = yield* Session.current(yield* Globals)
    const token = yield* Session.withStorage(plan, Effect.scoped(Session.token(plan, "confirm")))
    const user = yield* plan.whoami(token).pipe(
      Effect.mapError((error) =>
        error._tag === "TokenExpired" || error._tag === "InvalidCredentials"
          ? new TokenExpired({
            site: site.name,
            detail: "The site's API rejected the stored token (logged out or revoked elsewhere)",
            hint: `Log in again: \`effect-auth login --at ${site.name}\`.`
          })
          : error
      )
    )
    const client = user.client
    yield* globals.json
      ? Output.json({
        site: site.name,
        email: user.email ?? null,
        name: user.name ?? null,
        id: user.id ?? null,
        ...(client === undefined ? {} : {
          client: { client_id: client.clientId, subject: client.subject ?? null, scopes: client.scopes ?? null }
        })
      })
      : Output.line(
        client !== undefined && user.email === undefined
          ? `${SiteStrategy.describeClient(client)} on ${site.name}`
          : `${user.email ?? "(no email)"}${user.name ? ` (${user.name})` : ""} on ${site.name}`
      )
  })).pipe(Command.withDescription("Show the signed-in user, from the site's API"))
