/**
 * A web app that signs people in with their Anaplan account (OAuth 2 authorization code grant with
 * PKCE) and shows their profile: the complete version of the FastAPI sketch in anaplan-sdk's
 * documentation, on `@effect/platform` `HttpRouter`.
 *
 * - `GET /login` sends the browser to Anaplan's login page; the login under way (`state`, PKCE
 *   verifier, deadline) goes along in a sealed (AES-256-GCM), `HttpOnly`, `SameSite=Lax` cookie, so
 *   the server keeps nothing per anonymous visitor and a flood of `/login` evicts no one's login.
 * - `GET /oauth/callback` opens the cookie and checks that the `state` came back unchanged (else
 *   `400`), exchanges the code for a token and keeps it in a server-side session; the browser only
 *   gets a random session id.
 * - `GET /profile` calls `/2/0/users/me` with the session's token, refreshing it first when it
 *   is about to expire (or when Anaplan rejects it); when the refresh is refused
 *   (`InvalidCredentials`) the session ends with a `401` page that links to `/login`.
 * - `POST /logout` (a form with the session's CSRF token, from this origin) logs the token out at
 *   Anaplan (`POST /token/logout`) and ends the session; a `GET` is refused (`405`).
 * - Every page sends a Content-Security-Policy (nothing but this origin's forms; `frame-ancestors
 *   'none'`), `Referrer-Policy: same-origin` and `X-Content-Type-Options: nosniff`.
 *
 * @since 0.1.0
 */
import * as AnaplanAuth from "@effect-auth/anaplan/AnaplanAuth"
import * as AnaplanClient from "@effect-auth/anaplan/AnaplanClient"
import * as AnaplanOAuth from "@effect-auth/anaplan/AnaplanOAuth"
import type * as AuthError from "@effect-auth/core/AuthError"
import * as RefreshPolicy from "@effect-auth/core/RefreshPolicy"
import type { Token } from "@effect-auth/core/Token"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as SynchronizedRef from "effect/SynchronizedRef"
import * as SignedCookie from "./SignedCookie.js"
import * as Sessions from "./Sessions.js"

/**
 * The app's own settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  /** The integration API, for `users/me`. */
  readonly apiUrl: string
  /** The authentication service, for logging tokens out. */
  readonly authUrl: string
  /** The key signing the `state` cookie; at least 32 characters. */
  readonly cookieSecret: Redacted.Redacted<string>
  /** Mark cookies `Secure` (the app is served over HTTPS). */
  readonly secureCookies: boolean
}

/**
 * @since 0.1.0
 * @category tags
 */
export class WebSettings extends Context.Tag("@effect-auth/examples/web-login/WebSettings")<WebSettings, Settings>() {}

/**
 * The cookie holding the sealed login under way (its `state`, PKCE verifier and deadline).
 *
 * @since 0.1.0
 * @category constants
 */
export const stateCookie = "anaplan_oauth_state"

/**
 * The cookie holding the session id.
 *
 * @since 0.1.0
 * @category constants
 */
export const sessionCookie = "session"

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * The headers of every response: no script, style, frame or plugin from anywhere, forms only to this
 * origin, never framed (clickjacking), no referrer to other sites (the callback's URL carries the
 * code; within the site the browser keeps sending `Origin`, which `POST /logout` checks).
 *
 * @since 0.1.0
 * @category constants
 */
export const securityHeaders = {
  "content-security-policy": "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "referrer-policy": "same-origin",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store"
}

const page = (status: number, title: string, body: string) =>
  HttpServerResponse.text(
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
      `<body><h1 id="title">${escapeHtml(title)}</h1>${body}</body></html>`,
    { status, contentType: "text/html; charset=utf-8" }
  )

/** How long a login may take from `/login` to the callback. */
const loginTimeout = Duration.minutes(10)

/** The login under way, sealed in the state cookie. */
const Pending = Schema.parseJson(Schema.Struct({
  state: Schema.String,
  codeVerifier: Schema.optional(Schema.String),
  until: Schema.Number
}))

/** The CSRF token of a session: the session id's signature, so the page never carries the id. */
const csrfToken = (settings: Settings, sessionId: string) => SignedCookie.signature(settings.cookieSecret, "csrf", sessionId)

const cookieOptions = (settings: Settings, maxAge: Duration.DurationInput) => ({
  httpOnly: true,
  sameSite: "lax" as const,
  secure: settings.secureCookies,
  path: "/",
  maxAge
})

const clearCookie = (settings: Settings, name: string) =>
  HttpServerResponse.unsafeSetCookie(name, "", { ...cookieOptions(settings, 0), expires: new Date(0) })

const loginAgain = `<p><a id="login" href="/login">Sign in with Anaplan</a></p>`

/** A token about to expire (by the engine's default margin: 5 minutes or 20 % of its lifetime) is refreshed. */
const isStale = (token: Token, now: number) => !token.isFresh(now, RefreshPolicy.marginFor(RefreshPolicy.defaults, token))

/**
 * The session's token, refreshed when stale or when it is still `rejected` (compare-and-set: a
 * concurrent request may have refreshed it already).
 */
const sessionToken = (session: Sessions.Session, rejected?: Token) =>
  Effect.flatMap(AnaplanOAuth.AnaplanOAuth, (oauth) =>
    SynchronizedRef.modifyEffect(session.token, (token) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        (rejected === undefined ? isStale(token, now) : token === rejected)
          ? Effect.map(oauth.refreshToken(token), (fresh) => [fresh, fresh] as const)
          : Effect.succeed([token, token] as const))))

const profile = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const settings = yield* WebSettings
  const sessions = yield* Sessions.Sessions
  const found = yield* sessions.get(request.cookies[sessionCookie])
  if (Option.isNone(found)) return HttpServerResponse.redirect("/login", { status: 302 })
  const session = found.value
  const whoami = (token: Token) => AnaplanClient.whoami(token, { apiUrl: settings.apiUrl, site: "anaplan" })
  const token = yield* sessionToken(session)
  // Anaplan may reject a token before its expiry (logged out elsewhere): refresh once and retry.
  const user = yield* whoami(token).pipe(
    Effect.catchTag("TokenExpired", () => Effect.flatMap(sessionToken(session, token), whoami))
  )
  return page(
    200,
    `Signed in as ${user.firstName} ${user.lastName}`,
    `<dl><dt>Email</dt><dd id="email">${escapeHtml(user.email)}</dd>` +
      `<dt>Anaplan user id</dt><dd id="user-id">${escapeHtml(user.id)}</dd></dl>` +
      `<form method="post" action="/logout"><input type="hidden" name="csrf" value="${csrfToken(settings, session.id)}">` +
      `<button id="logout" type="submit">Sign out</button></form>`
  )
}).pipe(
  Effect.catchTags({
    InvalidCredentials: (error) => sessionEnded(error),
    TokenExpired: (error) => sessionEnded(error),
    LoginRequired: (error) => sessionEnded(error)
  }),
  Effect.catchAll((error) => Effect.succeed(unavailable(error)))
)

const sessionEnded = (error: AuthError.InvalidCredentials | AuthError.TokenExpired | AuthError.LoginRequired) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const settings = yield* WebSettings
    const id = request.cookies[sessionCookie]
    if (id !== undefined) yield* (yield* Sessions.Sessions).remove(id)
    yield* Effect.logInfo("session ended", error._tag)
    return page(401, "Your Anaplan sign-in has ended", `<p>Anaplan no longer accepts it. Please sign in again.</p>${loginAgain}`)
      .pipe(clearCookie(settings, sessionCookie))
  })

const unavailable = (error: { readonly _tag: string; readonly message: string }) =>
  page(
    502,
    "Anaplan is not answering",
    `<p id="error">${escapeHtml(error._tag)}: ${escapeHtml(error.message)}</p><p>Try again in a moment.</p>`
  )

const login = Effect.gen(function*() {
  const settings = yield* WebSettings
  const { codeVerifier, state, url } = yield* (yield* AnaplanOAuth.AnaplanOAuth).authorizationUrl()
  const now = yield* Clock.currentTimeMillis
  const pending = Schema.encodeSync(Pending)({
    state,
    codeVerifier: codeVerifier === undefined ? undefined : Redacted.value(codeVerifier),
    until: now + Duration.toMillis(loginTimeout)
  })
  return HttpServerResponse.redirect(url, { status: 302 }).pipe(
    HttpServerResponse.unsafeSetCookie(
      stateCookie,
      SignedCookie.seal(settings.cookieSecret, stateCookie, pending),
      cookieOptions(settings, loginTimeout)
    )
  )
})

const badRequest = (settings: Settings, why: string) =>
  page(400, "Sign-in could not be verified", `<p id="error">${escapeHtml(why)}</p>${loginAgain}`).pipe(
    clearCookie(settings, stateCookie)
  )

const callback = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const settings = yield* WebSettings
  const sessions = yield* Sessions.Sessions
  const oauth = yield* AnaplanOAuth.AnaplanOAuth
  const redirectUrl = new URL(request.url, "http://callback.invalid")
  const returned = redirectUrl.searchParams.get("state")
  const pending = SignedCookie.unseal(settings.cookieSecret, stateCookie, request.cookies[stateCookie]).pipe(
    Option.flatMap(Schema.decodeOption(Pending))
  )
  if (Option.isNone(pending)) {
    return badRequest(settings, "The sign-in cookie is missing or has been tampered with (cookies blocked, or the link was opened in another browser).")
  }
  if (returned !== pending.value.state) {
    return badRequest(settings, "The state returned by Anaplan does not match this browser's sign-in.")
  }
  if (pending.value.until <= (yield* Clock.currentTimeMillis)) {
    return badRequest(settings, "This sign-in has expired or was already used.")
  }
  const { codeVerifier, state } = pending.value
  const token = yield* oauth.fetchToken(redirectUrl.href, {
    state,
    codeVerifier: codeVerifier === undefined ? undefined : Redacted.make(codeVerifier)
  })
  const session = yield* sessions.create(token)
  return HttpServerResponse.redirect("/profile", { status: 302 }).pipe(
    clearCookie(settings, stateCookie),
    HttpServerResponse.unsafeSetCookie(sessionCookie, session.id, cookieOptions(settings, "8 hours"))
  )
}).pipe(
  Effect.catchTags({
    LoginCancelled: () => Effect.succeed(page(403, "Sign-in cancelled", `<p>You declined to sign in.</p>${loginAgain}`)),
    InvalidCredentials: (error) =>
      Effect.succeed(page(401, "Anaplan refused the sign-in", `<p id="error">${escapeHtml(error.message)}</p>${loginAgain}`))
  }),
  Effect.catchAll((error) => Effect.succeed(unavailable(error)))
)

/** A form post from another site: its `Origin` (sent by browsers with every `POST`) names another host. */
const crossOrigin = (request: HttpServerRequest.HttpServerRequest) => {
  const origin = request.headers["origin"]
  if (origin === undefined) return false
  try {
    return new URL(origin).host !== request.headers["host"]
  } catch {
    return true
  }
}

const LogoutForm = Schema.Struct({ csrf: Schema.optional(Schema.String) })

const logout = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const settings = yield* WebSettings
  const sessions = yield* Sessions.Sessions
  const refused = page(403, "Sign-out could not be verified", `<p id="error">This sign-out request did not come from this site's page.</p>`)
  // A post from another site carries no `SameSite=Lax` cookie: refused before anything is touched.
  if (crossOrigin(request)) return refused
  const found = yield* sessions.get(request.cookies[sessionCookie])
  if (Option.isNone(found)) return page(200, "Signed out", loginAgain)
  const session = found.value
  const form = yield* HttpServerRequest.schemaBodyUrlParams(LogoutForm).pipe(Effect.orElseSucceed(() => ({ csrf: undefined })))
  if (!SignedCookie.isSignature(settings.cookieSecret, "csrf", session.id, form.csrf)) return refused
  yield* sessions.remove(session.id)
  // The token dies at Anaplan too: a copy taken from this session is worth nothing.
  const token = yield* SynchronizedRef.get(session.token)
  const revoked = yield* AnaplanAuth.logout(token, { authUrl: settings.authUrl }).pipe(
    Effect.as(true),
    Effect.catchAll((error) => Effect.as(Effect.logWarning("sign-out: Anaplan did not log the token out", error._tag), false))
  )
  return page(200, "Signed out", `${revoked ? "" : `<p id="warning">Anaplan could not be reached to end the token; it expires on its own.</p>`}${loginAgain}`)
    .pipe(clearCookie(settings, sessionCookie))
})

const logoutByGet = Effect.succeed(
  page(405, "Sign out from the profile page", `<p>Signing out is a button on <a href="/profile">your profile</a>.</p>`).pipe(
    HttpServerResponse.setHeader("allow", "POST")
  )
)

const home = Effect.succeed(page(200, "Anaplan profile demo", `${loginAgain}<p><a href="/profile">Your profile</a></p>`))

/**
 * The routes: `/`, `/login`, `/oauth/callback`, `/profile`, `POST /logout`; every response with
 * {@link securityHeaders}.
 *
 * @since 0.1.0
 * @category routes
 */
export const router = HttpRouter.empty.pipe(
  HttpRouter.get("/", home),
  HttpRouter.get("/login", login),
  HttpRouter.get("/oauth/callback", callback),
  HttpRouter.get("/profile", profile),
  HttpRouter.post("/logout", logout),
  HttpRouter.get("/logout", logoutByGet),
  HttpRouter.use(Effect.map(HttpServerResponse.setHeaders(securityHeaders)))
)

/**
 * The settings from `Config`: `ANAPLAN_API_URL` (default `https://api.anaplan.com`),
 * `ANAPLAN_AUTH_URL` (default `https://auth.anaplan.com`),
 * `SESSION_SECRET` (at least 32 characters), `SECURE_COOKIES` (default: whether
 * `ANAPLAN_REDIRECT_URI` is `https:`).
 *
 * @since 0.1.0
 * @category config
 */
export const settingsConfig: Config.Config<Settings> = Config.all({
  apiUrl: Config.withDefault(Config.nonEmptyString("ANAPLAN_API_URL"), AnaplanAuth.defaultApiUrl),
  authUrl: Config.withDefault(Config.nonEmptyString("ANAPLAN_AUTH_URL"), AnaplanOAuth.defaultAuthUrl),
  cookieSecret: Config.redacted("SESSION_SECRET").pipe(
    Config.validate({
      message: "SESSION_SECRET must be at least 32 random characters (e.g. `openssl rand -base64 32`)",
      validation: (secret) => Redacted.value(secret).length >= 32
    })
  ),
  secureCookies: Config.boolean("SECURE_COOKIES").pipe(
    Config.orElse(() => Config.map(Config.string("ANAPLAN_REDIRECT_URI"), (uri) => uri.startsWith("https:")))
  )
})

/**
 * The OAuth client from `Config`: `ANAPLAN_CLIENT_ID`, `ANAPLAN_CLIENT_SECRET`,
 * `ANAPLAN_REDIRECT_URI` (this app's `/oauth/callback` as registered with the client),
 * `ANAPLAN_OAUTH_URL` (default `https://us1a.app.anaplan.com`), `ANAPLAN_AUTH_URL` (default
 * `https://auth.anaplan.com`).
 *
 * @since 0.1.0
 * @category config
 */
export const oauthConfig: Config.Config<AnaplanOAuth.Options> = Config.all({
  clientId: Config.nonEmptyString("ANAPLAN_CLIENT_ID"),
  clientSecret: Config.redacted("ANAPLAN_CLIENT_SECRET"),
  redirectUri: Config.nonEmptyString("ANAPLAN_REDIRECT_URI"),
  oauthUrl: Config.withDefault(Config.nonEmptyString("ANAPLAN_OAUTH_URL"), AnaplanOAuth.defaultOAuthUrl),
  authUrl: Config.withDefault(Config.nonEmptyString("ANAPLAN_AUTH_URL"), AnaplanOAuth.defaultAuthUrl),
  site: Config.succeed("anaplan")
})

/**
 * What the routes need but an `HttpClient`: the OAuth service, the settings and in-memory sessions.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  AnaplanOAuth.AnaplanOAuth | WebSettings | Sessions.Sessions,
  ConfigError.ConfigError | AuthError.InvalidConfiguration,
  HttpClient.HttpClient
> = Layer.mergeAll(
  Layer.unwrapEffect(Effect.map(oauthConfig, AnaplanOAuth.layer)),
  Layer.effect(WebSettings, settingsConfig),
  Sessions.layerMemory()
)
