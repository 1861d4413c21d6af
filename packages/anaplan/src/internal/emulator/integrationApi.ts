/**
 * The integration API's user endpoints (`GET /2/0/users/me`, `GET /2/0/users`), with per-user
 * denied endpoints: Anaplan answers a role-restricted endpoint `401` `ACCESS_CONTROL_DENIED` when
 * the user lacks the role.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import { endpoint, type Handler } from "./faults.js"
import { customerId, liveToken, type State, type UserRecord } from "./state.js"
import { apiFailure, json } from "./wire.js"

const formatDate = (millis: number) => new Date(millis).toISOString().replace("Z", "+0000")

const userObject = (user: UserRecord, now: number) => ({
  id: user.id,
  active: true,
  email: user.email,
  emailOptIn: false,
  firstName: user.firstName,
  lastName: user.lastName,
  customerId,
  lastLoginDate: formatDate(user.lastLoginAt ?? now)
})

/** A call with a live token whose user may use this path; `401` otherwise. */
const authorized = (answer: (state: State, user: UserRecord, now: number) => unknown): Handler =>
(state, request: HttpServerRequest.HttpServerRequest, now) => {
  const live = liveToken(state, request.headers["authorization"], now)
  if (live === undefined) return Effect.succeed(apiFailure(401, "Unauthorized"))
  if (live.user.denied.has(request.url.split("?")[0])) {
    return Effect.succeed(json(401, {
      status: "ACCESS_CONTROL_DENIED",
      statusMessage: "The user does not have the role this endpoint requires"
    }))
  }
  return Effect.succeed(json(200, answer(state, live.user, now)))
}

const usersMe = authorized((state, user, now) => ({
  meta: { schema: `${state.url}/2/0/objects/user` },
  status: { code: 200, message: "Success" },
  user: userObject(user, now)
}))

/** Every user of the tenant: a role-restricted endpoint in Anaplan (tenant administrators). */
const users = authorized((state, _user, now) => ({
  meta: { schema: `${state.url}/2/0/objects/user` },
  status: { code: 200, message: "Success" },
  users: Array.from(state.users.values(), (user) => userObject(user, now))
}))

/** @internal */
export const router = (state: State) =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/2/0/users/me", endpoint(state, "usersMe", 200, usersMe)),
    HttpRouter.get("/2/0/users", endpoint(state, "users", 200, users))
  )
