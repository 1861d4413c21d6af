/**
 * Server-side state of the web app: logins under way (OAuth `state` -> PKCE verifier, for ten
 * minutes) and signed-in sessions (a random id -> the person's token). Tokens never reach the
 * browser; the session cookie only carries the id.
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
import type * as Redacted from "effect/Redacted"
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
    /** Remembers a login under way: its `state` and PKCE verifier. */
    readonly begin: (state: string, codeVerifier: Redacted.Redacted<string> | undefined) => Effect.Effect<void>
    /** Takes (once) the login under way for `state`, if it has not expired. */
    readonly complete: (
      state: string
    ) => Effect.Effect<Option.Option<{ readonly codeVerifier: Redacted.Redacted<string> | undefined }>>
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
  /** How long a login may take from `/login` to the callback. Default 10 minutes. */
  readonly loginTimeout?: Duration.DurationInput | undefined
  /** How long a session lives. Default 8 hours. */
  readonly sessionLifetime?: Duration.DurationInput | undefined
  /** At most this many logins under way and sessions each (the oldest go first). Default 10 000. */
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
    const loginTimeout = Duration.toMillis(options.loginTimeout ?? "10 minutes")
    const sessionLifetime = Duration.toMillis(options.sessionLifetime ?? "8 hours")
    const capacity = options.capacity ?? 10_000
    const pending = new Map<string, { readonly codeVerifier: Redacted.Redacted<string> | undefined; readonly until: number }>()
    const sessions = new Map<string, Session & { readonly until: number }>()
    return Sessions.of({
      begin: (state, codeVerifier) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          pending.set(state, { codeVerifier, until: now + loginTimeout })
          bounded(pending, capacity)
        }),
      complete: (state) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const found = pending.get(state)
          pending.delete(state)
          return found !== undefined && found.until > now ? Option.some({ codeVerifier: found.codeVerifier }) : Option.none()
        }),
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
