/**
 * Server-side state of the web app: signed-in sessions (a random id -> the person's token). Tokens
 * never reach the browser; the session cookie only carries the id. Logins under way are not kept
 * here: each browser holds its own in a sealed cookie, so anonymous `/login` requests, however
 * many, cost the server no memory and cannot push out another browser's login.
 *
 * @since 0.1.0
 */
import type { Token } from "@effect-auth/core/Token"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as SynchronizedRef from "effect/SynchronizedRef"
import { randomBytes } from "node:crypto"

/**
 * A signed-in session. Its token is a `SynchronizedRef` so that concurrent requests of one person
 * refresh it once: Anaplan refresh tokens rotate, and spending one twice revokes the whole grant.
 *
 * @since 0.1.0
 * @category models
 */
export interface Session {
  readonly id: string
  readonly token: SynchronizedRef.SynchronizedRef<Token>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Sessions extends Context.Tag("@effect-auth/examples/web-login/Sessions")<Sessions, Sessions.Service>() {}

/**
 * @since 0.1.0
 */
export declare namespace Sessions {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** A new session holding `token`. */
    readonly create: (token: Token) => Effect.Effect<Session>
    /** The live session with this id. */
    readonly get: (id: string | undefined) => Effect.Effect<Option.Option<Session>>
    readonly remove: (id: string) => Effect.Effect<void>
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How long a session lives. Default 8 hours. */
  readonly sessionLifetime?: Duration.DurationInput | undefined
  /** At most this many sessions (the oldest go first). Default 10 000. */
  readonly capacity?: number | undefined
}

const bounded = <V>(map: Map<string, V>, capacity: number) => {
  while (map.size > capacity) {
    const oldest = map.keys().next()
    if (oldest.done === true) return
    map.delete(oldest.value)
  }
}

/**
 * Sessions in this process's memory (run one instance, or put them in Redis for several).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options: Options = {}): Effect.Effect<Sessions.Service> =>
  Effect.sync(() => {
    const sessionLifetime = Duration.toMillis(options.sessionLifetime ?? "8 hours")
    const capacity = options.capacity ?? 10_000
    const sessions = new Map<string, Session & { readonly until: number }>()
    return Sessions.of({
      create: (token) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const session = { id: randomBytes(32).toString("base64url"), token: yield* SynchronizedRef.make(token) }
          sessions.set(session.id, { ...session, until: now + sessionLifetime })
          bounded(sessions, capacity)
          return session
        }),
      get: (id) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const found = id === undefined ? undefined : sessions.get(id)
          if (found === undefined) return Option.none()
          if (found.until <= now) {
            sessions.delete(found.id)
            return Option.none()
          }
          return Option.some(found)
        }),
      remove: (id) => Effect.sync(() => void sessions.delete(id))
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: Options): Layer.Layer<Sessions> => Layer.effect(Sessions, makeMemory(options))
