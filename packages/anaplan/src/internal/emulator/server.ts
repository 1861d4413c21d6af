/**
 * The emulator assembled: the services' routes on one `HttpRouter` (`404` for unknown paths, `405`
 * with `Allow` for other methods), served on its own server on 127.0.0.1 or on a given `HttpServer`,
 * and the controls of the `AnaplanAuthServer` service.
 *
 * @internal
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { createServer } from "node:http"
import type { AnaplanAuthServer, Options, User } from "../../AnaplanAuthServer.js"
import { faulted } from "./faults.js"
import * as integrationApi from "./integrationApi.js"
import * as oauthService from "./oauthService.js"
import * as pages from "./pages.js"
import { makeState, pendingDevice, type State, toRecord, zeroCounters } from "./state.js"
import * as tokenService from "./tokenService.js"
import { apiFailure, json, redirectTo } from "./wire.js"

/** An unknown path is `404`; a known path asked with another method is `405` with `Allow`. */
const notRouted = (
  state: State,
  routes: Chunk.Chunk<HttpRouter.Route<unknown, unknown>>,
  request: HttpServerRequest.HttpServerRequest
) => {
  const path = request.url.split("?")[0]
  const allowed = Chunk.toReadonlyArray(routes).filter((route) => route.path === path).map((route) => route.method)
  return faulted(
    state,
    request,
    200,
    Effect.succeed(
      allowed.length === 0
        ? apiFailure(404, "Not Found")
        : json(405, { status: { code: 405, message: "Method Not Allowed" } }, { allow: allowed.join(", ") })
    )
  )
}

/**
 * The whole emulator as one `HttpApp` over `state`.
 *
 * @internal
 */
export const app = (state: State): HttpApp.Default<never, never> => {
  const router = HttpRouter.concatAll(
    tokenService.router(state),
    integrationApi.router(state),
    oauthService.router(state),
    pages.router(state)
  )
  return Effect.catchTag(router, "RouteNotFound", (error) => notRouted(state, router.routes, error.request))
}

/** @internal */
export interface Defaults {
  readonly demoUser: User
  readonly tokenLifetime: Duration.DurationInput
  readonly deviceCodeLifetime: Duration.DurationInput
  readonly refreshTokenLifetime: Duration.DurationInput
}

/**
 * Serves the emulator on the `HttpServer` in context; its URL is `protocol://host:port` of the
 * server's address.
 *
 * @internal
 */
export const serve = (
  options: Options & { readonly protocol?: "http" | "https" | undefined },
  defaults: Defaults
): Effect.Effect<AnaplanAuthServer.Service, never, HttpServer.HttpServer | Scope.Scope> =>
  Effect.gen(function*() {
    const state = makeState(options, defaults)
    const server = yield* HttpServer.HttpServer
    yield* server.serve(app(state))
    const address = server.address
    state.url = address._tag === "TcpAddress"
      ? `${options.protocol ?? "http"}://${address.hostname}:${address.port}`
      : `${options.protocol ?? "http"}://localhost`
    return controls(state)
  })

/**
 * Starts the emulator on its own server on 127.0.0.1.
 *
 * @internal
 */
export const make = (
  options: Options,
  defaults: Defaults
): Effect.Effect<AnaplanAuthServer.Service, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const nodeServer = createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, { port: options.port ?? 0, host: "127.0.0.1" })
    // Runs before the server's own close, which would otherwise wait for hanging requests.
    yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
    return yield* Effect.provideService(serve(options, defaults), HttpServer.HttpServer, server)
  })

const controls = (state: State): AnaplanAuthServer.Service => ({
  url: state.url,
  idTokenKey: state.verificationKeyPem,
  addUser: (user) => Effect.sync(() => void state.users.set(user.email.toLowerCase(), toRecord(user))),
  setTokenLifetime: (lifetime) => Effect.sync(() => void (state.lifetimeMillis = Duration.toMillis(lifetime))),
  counters: Effect.sync(() => ({ ...state.counters })),
  resetCounters: Effect.sync(() => void (state.counters = zeroCounters())),
  injectFault: (fault, times = 1) =>
    Effect.sync(() => {
      if (times > 0) state.faults.push({ fault, remaining: times })
    }),
  expireAllTokens: Effect.sync(() => state.tokens.clear()),
  activeTokens: Effect.map(Clock.currentTimeMillis, (now) => {
    let active = 0
    for (const record of state.tokens.values()) if (record.expiresAt > now) active += 1
    return active
  }),
  addOAuthClient: (client) => Effect.sync(() => void state.clients.set(client.clientId, client)),
  authorize: (request) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const params = new Map<string, string>([
        ["response_type", "code"],
        ["client_id", request.clientId],
        ["redirect_uri", request.redirectUri],
        ["scope", request.scope ?? oauthService.defaultScope]
      ])
      if (request.state !== undefined) params.set("state", request.state)
  if (request.nonce !== undefined) params.set("nonce", request.nonce)
      if (request.codeChallenge !== undefined) {
        params.set("code_challenge", request.codeChallenge)
        params.set("code_challenge_method", "S256")
      }
      const checked = oauthService.checkAuthorization(state, params)
      if (checked._tag === "Page") {
        return Effect.fail(
          new Cause.IllegalArgumentException("authorize: unknown client or unregistered redirect URI")
        )
      }
      if (checked._tag === "Redirect") {
        return Effect.fail(new Cause.IllegalArgumentException("authorize: invalid authorization request"))
      }
      if (request.deny === true) {
        return Effect.succeed(redirectTo(checked.redirectUri, {
          error: "access_denied",
          error_description: "The user cancelled the login",
          state: checked.state
        }))
      }
      const user = state.users.get(request.email.toLowerCase())
      if (user === undefined) return Effect.fail(new Cause.IllegalArgumentException("authorize: unknown user"))
      return Effect.succeed(oauthService.issueCode(state, checked, user, now))
    }),
  approveDevice: (userCode, email) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const record = pendingDevice(state, userCode, now)
      const user = state.users.get(email.toLowerCase())
      if (record === undefined || user === undefined) return false
      record.status = { _tag: "Approved", user: email.toLowerCase() }
      user.lastLoginAt = now
      return true
    }),
  denyDevice: (userCode) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const record = pendingDevice(state, userCode, now)
      if (record === undefined) return false
      record.status = { _tag: "Denied" }
      return true
    })
})
