/**
 * The pages a person sees: the login page of the authorization code grant (`/auth/prelogin`, posted
 * to `/auth/prelogin` or `/auth/login`) and the device grant's verification page (`/activate`).
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import type { OAuthClient } from "../../AnaplanAuthServer.js"
import { endpoint, type Handler } from "./faults.js"
import { checkAuthorization, issueCode } from "./oauthService.js"
import { passwordMatches, pendingDevice, type State } from "./state.js"
import { bodyParams, escapeHtml, html, queryParams, redirect, redirectTo } from "./wire.js"

/** The parameters of an authorization request, carried through the login form. */
const authorizationParams = [
  "response_type",
  "client_id",
  "redirect_uri",
  "scope",
  "state",
  "code_challenge",
  "code_challenge_method",
  "nonce"
] as const

const loginForm = (params: Map<string, string>, client: OAuthClient, email: string, error?: string) =>
  html(
    200,
    `<h1 id="title">Log in to Anaplan</h1>` +
      `<p>Application <strong id="client">${escapeHtml(client.name ?? client.clientId)}</strong> asks to act on your behalf.</p>` +
      (error === undefined ? "" : `<p id="error" role="alert" style="color:#b00">${escapeHtml(error)}</p>`) +
      `<form method="post" action="/auth/prelogin">` +
      authorizationParams.map((key) => {
        const value = params.get(key)
        return value === undefined ? "" : `<input type="hidden" name="${key}" value="${escapeHtml(value)}">`
      }).join("") +
      `<p><label for="email">Email</label><br><input id="email" name="email" type="email" autocomplete="username" ` +
      `value="${escapeHtml(email)}" required></p>` +
      `<p><label for="password">Password</label><br><input id="password" name="password" type="password" ` +
      `autocomplete="current-password" required></p>` +
      `<p><button id="login" type="submit" name="action" value="login">Log in</button> ` +
      `<button id="cancel" type="submit" name="action" value="deny" formnovalidate>Cancel</button></p>` +
      `</form>`
  )

const prelogin: Handler = (state, request, now) => {
  if (request.method === "GET") {
    const params = queryParams(request)
    const checked = checkAuthorization(state, params)
    switch (checked._tag) {
      case "Page":
        return Effect.succeed(checked.page)
      case "Redirect":
        return Effect.succeed(checked.response)
      case "Valid":
        return Effect.succeed(loginForm(params, checked.client, ""))
    }
  }
  return Effect.map(bodyParams(request), (params) => {
    const checked = checkAuthorization(state, params)
    if (checked._tag === "Page") return checked.page
    if (checked._tag === "Redirect") return checked.response
    if (params.get("action") === "deny") {
      return redirect(redirectTo(checked.redirectUri, {
        error: "access_denied",
        error_description: "The user cancelled the login",
        state: checked.state
      }))
    }
    const email = params.get("email") ?? ""
    const user = state.users.get(email.toLowerCase())
    if (!passwordMatches(user, params.get("password") ?? "")) {
      return loginForm(params, checked.client, email, "The email or password is incorrect. Try again.")
    }
    return redirect(issueCode(state, checked, user, now))
  })
}

const activationForm = (userCode: string, email: string, message?: { readonly id: string; readonly text: string }) =>
  html(
    200,
    `<h1 id="title">Activate a device</h1>` +
      (message === undefined ? "" : `<p id="${message.id}" role="alert">${escapeHtml(message.text)}</p>`) +
      `<form method="post" action="/activate">` +
      `<p><label for="user_code">Code shown on the device</label><br><input id="user_code" name="user_code" ` +
      `value="${escapeHtml(userCode)}" autocomplete="off" required></p>` +
      `<p><label for="email">Email</label><br><input id="email" name="email" type="email" autocomplete="username" ` +
      `value="${escapeHtml(email)}" required></p>` +
      `<p><label for="password">Password</label><br><input id="password" name="password" type="password" ` +
      `autocomplete="current-password" required></p>` +
      `<p><button id="approve" type="submit" name="action" value="approve">Approve</button> ` +
      `<button id="deny" type="submit" name="action" value="deny">Deny</button></p>` +
      `</form>`
  )

/** The verification page of the device grant (RFC 8628 section 3.3): the person confirms the code. */
const activate: Handler = (state, request, now) => {
  if (request.method === "GET") return Effect.succeed(activationForm(queryParams(request).get("user_code") ?? "", ""))
  return Effect.map(bodyParams(request), (params) => {
    const userCode = params.get("user_code") ?? ""
    const email = params.get("email") ?? ""
    const user = state.users.get(email.toLowerCase())
    if (!passwordMatches(user, params.get("password") ?? "")) {
      return activationForm(userCode, email, { id: "error", text: "The email or password is incorrect. Try again." })
    }
    const record = pendingDevice(state, userCode, now)
    if (record === undefined) {
      return activationForm("", email, { id: "error", text: "This code is unknown, expired or already used." })
    }
    if (params.get("action") === "deny") {
      record.status = { _tag: "Denied" }
      return activationForm("", "", { id: "done", text: "The device was denied access. You can close this window." })
    }
    record.status = { _tag: "Approved", user: user.email.toLowerCase() }
    user.lastLoginAt = now
    return activationForm("", "", { id: "done", text: "The device is now connected. You can close this window." })
  })
}

/** `/auth/authorize` answers a `302` to the login page with the same request (ANAPLAN.md, "Authorization"). */
const authorize: Handler = (_state, request) => {
  const query = request.url.indexOf("?")
  return Effect.succeed(redirect(`/auth/prelogin${query < 0 ? "" : request.url.slice(query)}`))
}

/** @internal */
export const router = (state: State) =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/auth/authorize", endpoint(state, "prelogin", 302, authorize)),
    HttpRouter.get("/auth/prelogin", endpoint(state, "prelogin", 200, prelogin)),
    HttpRouter.post("/auth/prelogin", endpoint(state, "prelogin", 200, prelogin)),
    HttpRouter.post("/auth/login", endpoint(state, "prelogin", 200, prelogin)),
    HttpRouter.get("/activate", endpoint(state, "activate", 200, activate)),
    HttpRouter.post("/activate", endpoint(state, "activate", 200, activate))
  )
