/** @internal */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Terminal from "@effect/platform/Terminal"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as AuthError from "../AuthError.js"
import * as Spinner from "./spinner.js"
import {
  type AuthorizationResponse,
  redirectParams,
  validateAuthorizationResponse
} from "./oauth2Redirect.js"

/** @internal */
export type Redirect =
  | {
    readonly _tag: "Loopback"
    /** The address to listen on; default `127.0.0.1` (RFC 8252 section 8.3). */
    readonly host?: string | undefined
    /** The host name in the redirect URI; default the listening address. */
    readonly redirectHost?: string | undefined
    /** Default 0: an ephemeral port (RFC 8252 section 7.3). */
    readonly port?: number | undefined
    /** Default `/callback`. */
    readonly path?: string | undefined
  }
  | { readonly _tag: "Paste"; readonly redirectUri: string }

/** @internal */
export interface AuthorizeRequest {
  readonly redirect: Redirect
  /** Builds the authorization request for the redirect URI the agent chose. */
  readonly start: (redirectUri: string) => Effect.Effect<{ readonly url: URL; readonly state: string }>
  readonly issuer?: string | undefined
  readonly site?: string | undefined
  /** How long the person has; the agent's default when omitted. */
  readonly timeout?: Duration.DurationInput | undefined
}

/** @internal */
export interface AuthorizeResult extends AuthorizationResponse {
  readonly redirectUri: string
}

/** @internal */
export interface DevicePrompt {
  readonly userCode: string
  readonly verificationUri: string
  readonly verificationUriComplete?: string | undefined
  readonly expiresIn: Duration.Duration
  readonly site?: string | undefined
}

/** @internal */
export interface Service {
  readonly authorize: (request: AuthorizeRequest) => Effect.Effect<AuthorizeResult, AuthError.AuthError>
  readonly device: <A>(
    prompt: DevicePrompt,
    poll: Effect.Effect<A, AuthError.AuthError>
  ) => Effect.Effect<A, AuthError.AuthError>
}

/** @internal */
export interface Options {
  /** `"auto"` (default): open unless there is no display or we run over SSH. */
  readonly openBrowser?: boolean | "auto" | undefined
  /** How to open a URL; default the `open` package. */
  readonly open?: ((url: string) => Effect.Effect<void, unknown>) | undefined
  /** Where messages go; default standard error (standard output is for tokens). */
  readonly write?: ((text: string) => Effect.Effect<void>) | undefined
  /**
   * A spinner while waiting on the browser or on a device code. `"auto"` (default): animated only
   * when the output is a terminal (standard error is a TTY; a custom `write` counts as none),
   * `TERM` is not `dumb` and `CI` is not set; otherwise the waiting line is printed once.
   */
  readonly spinner?: boolean | "auto" | undefined
  /** The width the spinner's line must fit in; default the width of standard error's terminal. */
  readonly columns?: number | undefined
  /** How long a person has to log in; default 5 minutes. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Device flow progress messages; default every 30 seconds. */
  readonly progressInterval?: Duration.DurationInput | undefined
  /** For the browser decision; default `process.env` and `process.platform`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  readonly platform?: string | undefined
}

/** @internal */
export const defaultTimeout = Duration.minutes(5)

/** @internal */
export const canShowSpinner = Spinner.canAnimate

/**
 * Whether a browser can be opened: not when asked not to, not over SSH, not on Linux (or the BSDs)
 * without `DISPLAY`/`WAYLAND_DISPLAY`.
 *
 * @internal
 */
export const canOpenBrowser = (
  env: Readonly<Record<string, string | undefined>>,
  platform: string,
  option: boolean | "auto" = "auto"
): boolean => {
  if (option !== "auto") return option
  if (env.SSH_CONNECTION || env.SSH_TTY || env.SSH_CLIENT) return false
  if (platform === "win32" || platform === "darwin") return true
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY)
}

const defaultWrite = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stderr.write(text))

const defaultOpen = (url: string): Effect.Effect<void, unknown> =>
  Effect.tryPromise(async () => {
    const { default: open } = await import("open")
    const child = await open(url)
    child.once("error", () => {})
  })

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const page = (title: string, body: string): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
  `<body style="font-family:sans-serif;margin:3em"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(body)}</p></body></html>`

/** The loopback pages send nothing a page could load, frame or leak onwards. */
const pageHeaders = {
  "cache-control": "no-store",
  "connection": "close",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff"
}

const reply = (status: number, title: string, body: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(page(title, body), {
    status,
    contentType: "text/html; charset=utf-8",
    headers: pageHeaders
  })

/**
 * The one-shot redirect server: `app` on `host:port` (0: ephemeral) on `@effect/platform`'s
 * `HttpServer`, untraced (the redirect's URL carries the code and the state). Closing the scope
 * closes every connection, so a browser that keeps one open cannot hold the login up.
 */
const serve = <E>(
  host: string,
  port: number,
  app: HttpApp.Default<E>
): Effect.Effect<number, AuthError.AuthError, Scope.Scope> =>
  Effect.gen(function*() {
    let node: Http.Server | undefined
    const server = yield* NodeHttpServer.make(() => (node = Http.createServer()), { host, port }).pipe(
      Effect.mapError((error) =>
        new AuthError.InvalidConfiguration({
          detail: `Cannot listen for the login redirect on ${host}:${port} (${errorCode(error.cause)})`,
          hint: port === 0 ? "Check the loopback interface." : `Free port ${port} or configure another.`
        })
      )
    )
    yield* Effect.addFinalizer(() => Effect.sync(() => node?.closeAllConnections()))
    yield* server.serve(app).pipe(HttpMiddleware.withTracerDisabledWhenEffect(() => true))
    return server.address._tag === "TcpAddress" ? server.address.port : port
  })

const errorCode = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : "error"

/** @internal */
export const make = (options: Options = {}): Effect.Effect<Service, never, Terminal.Terminal> =>
  Effect.gen(function*() {
    const terminal = yield* Terminal.Terminal
    const write = options.write ?? defaultWrite
    const openUrl = options.open ?? defaultOpen
    const browser = canOpenBrowser(options.env ?? process.env, options.platform ?? process.platform, options.openBrowser)
    const progressInterval = Duration.decode(options.progressInterval ?? Duration.seconds(30))
    const animate = Spinner.canAnimate(
      options.env ?? process.env,
      options.write === undefined && process.stderr.isTTY === true,
      options.spinner
    )
    const spinner = Spinner.make({
      write,
      animate,
      columns: options.columns !== undefined
        ? () => options.columns
        : options.write === undefined
        ? () => process.stderr.columns
        : undefined
    })

    const present = (url: string, what: string): Effect.Effect<void> =>
      Effect.zipRight(
        write(`${what}\n\n  ${url}\n\n`),
        browser
          ? openUrl(url).pipe(
            Effect.catchAll(() =>
              Effect.zipRight(
                Effect.logDebug("could not open a browser"),
                write("Could not open a browser; open the URL above yourself.\n")
              )
            )
          )
          : Effect.void
      )

    const timeoutOf = (request: AuthorizeRequest) =>
      Effect.timeoutFail({
        duration: request.timeout ?? options.timeout ?? defaultTimeout,
        onTimeout: () =>
          new AuthError.LoginTimeout({
            site: request.site,
            detail: `The login was not completed within ${
              Duration.format(request.timeout ?? options.timeout ?? defaultTimeout)
            }`
          })
      })

    const loopback = (
      request: AuthorizeRequest,
      redirect: Extract<Redirect, { _tag: "Loopback" }>
    ): Effect.Effect<AuthorizeResult, AuthError.AuthError> =>
      Effect.scoped(Effect.gen(function*() {
        const host = redirect.host ?? "127.0.0.1"
        const path = redirect.path ?? "/callback"
        const result = yield* Deferred.make<AuthorizeResult, AuthError.AuthError>()
        // The app is set up before the state is known; it answers 503 until then.
        const login: {
          expected?: { readonly state: string; readonly redirectUri: string; readonly hosts: Set<string> }
        } = {}
        let settled = false
        const app = Effect.gen(function*() {
          const req = yield* HttpServerRequest.HttpServerRequest
          const target = new URL(req.url, "http://loopback")
          if (req.method !== "GET" || target.pathname !== path) {
            return reply(404, "Not found", "This address only receives the login redirect.")
          }
          const expected = login.expected
          if (expected === undefined) return reply(503, "Not ready", "The login has not started yet.")
          if (!expected.hosts.has((req.headers.host ?? "").toLowerCase())) {
            return reply(400, "Not this login", "This request was not addressed to the login redirect.")
          }
          // Requests without our state are not the login's redirect: turn them away and keep waiting.
          if (target.searchParams.get("state") !== expected.state) {
            return reply(400, "Not this login", "This request does not belong to the login in progress.")
          }
          if (settled) {
            return reply(400, "Login already completed", "You can close this window.")
          }
          settled = true
          const redirectUri = expected.redirectUri
          const validated = validateAuthorizationResponse(target.searchParams, {
            state: expected.state,
            issuer: request.issuer,
            site: request.site
          })
          // The login completes once the page has gone out (or the browser went away).
          const complete = (exit: Exit.Exit<AuthorizeResult, AuthError.AuthError>) =>
            void NodeHttpServerRequest.toServerResponse(req).once("close", () => Deferred.unsafeDone(result, exit))
          return Either.match(validated, {
            onLeft: (error) => {
              complete(Exit.fail(error))
              return reply(400, "Login failed", `${error.message} You can close this window.`)
            },
            onRight: (response) => {
              complete(Exit.succeed({ ...response, redirectUri }))
              return reply(200, "Logged in", "You are logged in. You can close this window and return to the terminal.")
            }
          })
        })
        const port = yield* serve(host, redirect.port ?? 0, app)
        const redirectHost = redirect.redirectHost ?? (host.includes(":") ? `[${host}]` : host)
        const redirectUri = `http://${redirectHost}:${port}${path}`
        const { state, url } = yield* request.start(redirectUri)
        // The browser sends the redirect URI's host; any other `Host` is not the login's redirect
        // (DNS rebinding: a page elsewhere reaching the loopback port under its own name).
        // (A browser leaves out the default port 80.)
        const names = [redirectHost, host.includes(":") ? `[${host}]` : host]
        const hosts = new Set([...names.map((name) => `${name}:${port}`), ...(port === 80 ? names : [])]
          .map((h) => h.toLowerCase()))
        login.expected = { state, redirectUri, hosts }
        yield* present(url.href, "Log in with your browser at this URL:")
        return yield* Deferred.await(result).pipe(
          spinner.around("Waiting for the browser login... (Ctrl-C to cancel)")
        )
      })).pipe(timeoutOf(request))

    const paste = (
      request: AuthorizeRequest,
      redirect: Extract<Redirect, { _tag: "Paste" }>
    ): Effect.Effect<AuthorizeResult, AuthError.AuthError> =>
      Effect.gen(function*() {
        const { state, url } = yield* request.start(redirect.redirectUri)
        yield* present(url.href, "Log in with your browser at this URL:")
        yield* write(
          "After logging in, your browser shows an address (perhaps an error page): copy the whole address\n" +
            "from the address bar, paste it here and press Enter.\n> "
        )
        const line = yield* terminal.readLine.pipe(
          Effect.catchTag("QuitException", () =>
            Effect.fail(new AuthError.LoginCancelled({ site: request.site, detail: "The login was aborted" })))
        )
        return yield* Either.match(parsePasted(line, state, request), {
          onLeft: Effect.fail,
          onRight: (response) => Effect.succeed({ ...response, redirectUri: redirect.redirectUri })
        })
      }).pipe(timeoutOf(request))

    const device = <A>(
      prompt: DevicePrompt,
      poll: Effect.Effect<A, AuthError.AuthError>
    ): Effect.Effect<A, AuthError.AuthError> =>
      Effect.gen(function*() {
        yield* write(
          `To log in, visit\n\n  ${prompt.verificationUri}\n\nand enter the code\n\n  ${prompt.userCode}\n\n` +
            `The code expires in ${Duration.format(prompt.expiresIn)}.\n`
        )
        if (browser && prompt.verificationUriComplete !== undefined) {
          yield* openUrl(prompt.verificationUriComplete).pipe(Effect.ignore)
        }
        // Without animation, a line now and then shows that the login is still alive.
        const progress = animate ? Effect.void : Effect.sleep(progressInterval).pipe(
          Effect.zipRight(
            Effect.repeat(write("Still waiting for the code to be confirmed...\n"), Schedule.spaced(progressInterval))
          )
        )
        const waiting = `Waiting for you to confirm code ${prompt.userCode} at ${prompt.verificationUri}...`
        const exit = yield* Effect.fork(progress).pipe(
          Effect.flatMap((fiber) => Effect.ensuring(Effect.exit(poll), Fiber.interrupt(fiber))),
          spinner.around(waiting)
        )
        yield* Exit.match(exit, {
          onSuccess: () => write("Logged in.\n"),
          onFailure: () => write("The device login did not complete.\n")
        })
        return yield* exit
      })

    return {
      authorize: (request) =>
        request.redirect._tag === "Loopback" ? loopback(request, request.redirect) : paste(request, request.redirect),
      device
    }
  })

/**
 * A pasted redirect: a full URL or query string (checked like any redirect), or a bare code (no
 * `state` to check; PKCE still binds the code to this login).
 *
 * @internal
 */
export const parsePasted = (
  line: string,
  state: string,
  request: { readonly issuer?: string | undefined; readonly site?: string | undefined }
): Either.Either<AuthorizationResponse, AuthError.AuthError> => {
  const trimmed = line.trim()
  const params = redirectParams(trimmed)
  if (params === undefined) {
    if (/^[\x21-\x7e]{1,2048}$/.test(trimmed)) return Either.right({ code: trimmed, params: new URLSearchParams() })
    return Either.left(
      new AuthError.MalformedResponse({
        site: request.site,
        detail: "What was pasted is neither a redirect URL nor a code",
        hint: "Paste the whole address from the browser's address bar."
      })
    )
  }
  return validateAuthorizationResponse(params, { state, issuer: request.issuer, site: request.site })
}

/**
 * The agent for tests: `browser` plays the person in the browser and returns the URL the browser was
 * finally redirected to; `device` plays the person confirming a device code, concurrently with the
 * polling. Redirects are validated exactly as the real agent validates pasted ones.
 *
 * @internal
 */
export const makeTest = (options: {
  readonly browser?: ((url: URL, redirectUri: string) => Effect.Effect<string, AuthError.AuthError>) | undefined
  readonly device?: ((prompt: DevicePrompt) => Effect.Effect<void, AuthError.AuthError>) | undefined
}): Service => ({
  authorize: (request) =>
    Effect.gen(function*() {
      const redirect = request.redirect
      const redirectUri = redirect._tag === "Paste"
        ? redirect.redirectUri
        : `http://${redirect.redirectHost ?? redirect.host ?? "127.0.0.1"}${redirect.port ? `:${redirect.port}` : ""}${
          redirect.path ?? "/callback"
        }`
      const { state, url } = yield* request.start(redirectUri)
      if (options.browser === undefined) {
        return yield* Effect.fail(
          new AuthError.LoginRequired({ site: request.site, detail: "The test login agent has no browser" })
        )
      }
      const landed = yield* options.browser(url, redirectUri)
      const response = yield* Either.match(parsePasted(landed, state, request), {
        onLeft: Effect.fail,
        onRight: Effect.succeed
      })
      return { ...response, redirectUri }
    }),
  device: (prompt, poll) =>
    options.device === undefined
      ? poll
      : Effect.map(Effect.zip(options.device(prompt), poll, { concurrent: true }), ([, a]) => a)
})
