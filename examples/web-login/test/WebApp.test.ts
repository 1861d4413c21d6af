import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpServer from "@effect/platform/HttpServer"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { existsSync } from "node:fs"
import { createServer } from "node:http"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import * as WebApp from "../src/WebApp.js"

const executablePath = "/usr/bin/chromium"
const hasChromium = existsSync(executablePath)
if (!hasChromium) {
  if (process.env.CI === "true") throw new Error(`${executablePath} is missing: install the Debian package "chromium"`)
  console.warn(`examples/web-login: skipping the browser test, ${executablePath} is missing (apt-get install chromium)`)
}

const clientId = "profile-demo"
const clientSecret = "profile-demo-secret"

/** The emulator, the web app on an ephemeral port (its callback registered with the emulator), and headless Chromium. */
const setup = Effect.gen(function*() {
  const server = yield* AnaplanAuthServer.make()
  const http = yield* NodeHttpServer.make(() => createServer(), { port: 0, host: "127.0.0.1" })
  if (http.address._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
  const appUrl = `http://127.0.0.1:${http.address.port}`
  const redirectUri = `${appUrl}/oauth/callback`
  yield* server.addOAuthClient({ clientId, clientSecret, redirectUris: [redirectUri], name: "Profile demo" })
  const env = new Map([
    ["ANAPLAN_CLIENT_ID", clientId],
    ["ANAPLAN_CLIENT_SECRET", clientSecret],
    ["ANAPLAN_REDIRECT_URI", redirectUri],
    ["ANAPLAN_OAUTH_URL", server.url],
    ["ANAPLAN_AUTH_URL", server.url],
    ["ANAPLAN_API_URL", server.url],
    ["SESSION_SECRET", "an example secret of at least thirty-two characters"]
  ])
  const services = yield* Layer.build(Layer.provideMerge(WebApp.layer, NodeHttpClient.layerUndici)).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(env))
  )
  yield* HttpServer.serveEffect(WebApp.router).pipe(
    Effect.provideService(HttpServer.HttpServer, http),
    Effect.provide(services)
  )
  const browser = yield* Effect.acquireRelease(
    Effect.promise(() =>
      chromium.launch({
        executablePath,
        timeout: 15_000,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync"
        ]
      })
    ),
    (browser: Browser) => Effect.promise(() => browser.close())
  )
  return { server, appUrl, browser }
})

const newPage = (browser: Browser) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const context = await browser.newContext()
      context.setDefaultTimeout(10_000)
      return { context, page: await context.newPage() }
    }),
    ({ context }: { context: BrowserContext; page: Page }) => Effect.promise(() => context.close())
  )

const text = (page: Page, selector: string) => Effect.promise(() => page.locator(selector).innerText())

describe("examples/web-login", () => {
  it.scopedLive.skipIf(!hasChromium)(
    "log in through Anaplan's page, see the profile, survive token expiry, 401 when the grant is gone",
    () =>
      Effect.gen(function*() {
        const { appUrl, browser, server } = yield* setup
        const { context, page } = yield* newPage(browser)

        // Not signed in: /profile -> /login -> Anaplan's login page.
        yield* Effect.promise(() => page.goto(`${appUrl}/profile`))
        assert.isTrue(page.url().startsWith(`${server.url}/auth/prelogin?`), page.url())
        const stateCookie = (yield* Effect.promise(() => context.cookies(appUrl))).find((c) => c.name === WebApp.stateCookie)
        assert.isDefined(stateCookie)
        assert.isTrue(stateCookie!.httpOnly)
        assert.strictEqual(stateCookie!.sameSite, "Lax")
        assert.notInclude(page.url(), "code_verifier")
        assert.include(page.url(), "code_challenge_method=S256")

        // A wrong password shows the form again; the right one comes back to the profile.
        yield* Effect.promise(async () => {
          await page.fill("#email", "demo@example.com")
          await page.fill("#password", "not-the-password")
          await page.click("#login")
        })
        assert.isTrue(page.url().startsWith(`${server.url}/auth/`), "a wrong password stays on Anaplan's page")
        assert.isNotEmpty(yield* text(page, "#error"))
        assert.strictEqual((yield* server.counters).oauthToken, 0)
        yield* Effect.promise(async () => {
          await page.fill("#email", "demo@example.com")
          await page.fill("#password", "demo-password")
          await Promise.all([page.waitForURL(`${appUrl}/profile`), page.click("#login")])
        })
        assert.strictEqual(yield* text(page, "#title"), "Signed in as Demo User")
        assert.strictEqual(yield* text(page, "#email"), "demo@example.com")
        assert.strictEqual((yield* server.counters).oauthToken, 1)
        const cookies = yield* Effect.promise(() => context.cookies(appUrl))
        const session = cookies.find((c) => c.name === WebApp.sessionCookie)
        assert.isTrue(session?.httpOnly)
        assert.strictEqual(session?.sameSite, "Lax")
        assert.isUndefined(cookies.find((c) => c.name === WebApp.stateCookie), "the state cookie is cleared after use")
        assert.strictEqual(yield* Effect.promise(() => page.evaluate(() => document.cookie)), "", "cookies must be HttpOnly")

        // Anaplan drops the access token early: the app refreshes once and retries.
        yield* server.setTokenLifetime("2 seconds")
        yield* server.expireAllTokens
        const beforeReload = yield* server.counters
        const reloaded = yield* Effect.promise(() => page.reload())
        assert.strictEqual(reloaded?.status(), 200)
        assert.strictEqual(yield* text(page, "#email"), "demo@example.com")
        const afterReload = yield* server.counters
        assert.strictEqual(afterReload.oauthToken - beforeReload.oauthToken, 1, "one refresh")
        assert.strictEqual(afterReload.usersMe - beforeReload.usersMe, 2, "a rejected call, then the retry")

        // The refreshed token (2 s) expires by the clock: the app refreshes before calling the API.
        yield* Effect.sleep("2 seconds")
        const beforeExpiry = yield* server.counters
        yield* Effect.promise(() => page.reload())
        assert.strictEqual(yield* text(page, "#title"), "Signed in as Demo User")
        const afterExpiry = yield* server.counters
        assert.strictEqual(afterExpiry.oauthToken - beforeExpiry.oauthToken, 1, "one refresh ahead of the call")
        assert.strictEqual(afterExpiry.usersMe - beforeExpiry.usersMe, 1, "no rejected call")

        // The client's secret changes (rotated by an admin): refresh is refused -> 401 page, session gone.
        yield* server.addOAuthClient({ clientId, clientSecret: "rotated", redirectUris: [`${appUrl}/oauth/callback`] })
        yield* server.expireAllTokens
        const ended = yield* Effect.promise(() => page.reload())
        assert.strictEqual(ended?.status(), 401)
        assert.strictEqual(yield* text(page, "#title"), "Your Anaplan sign-in has ended")
        assert.strictEqual(yield* Effect.promise(() => page.getAttribute("#login", "href")), "/login")
        const afterEnd = yield* Effect.promise(() => context.cookies(appUrl))
        assert.isUndefined(afterEnd.find((c) => c.name === WebApp.sessionCookie))
      })
  )

  it.scopedLive.skipIf(!hasChromium)("a tampered state or state cookie is refused with 400 and no token request", () =>
    Effect.gen(function*() {
      const { appUrl, browser, server } = yield* setup

      // The state in Anaplan's redirect back to the app is altered on the way.
      const first = yield* newPage(browser)
      yield* Effect.promise(() =>
        first.page.route(`${server.url}/auth/prelogin`, async (route) => {
          if (route.request().method() !== "POST") return route.continue()
          const answer = await route.fetch({ maxRedirects: 0 })
          const location = new URL(answer.headers()["location"])
          location.searchParams.set("state", "attacker-chosen-state")
          return route.fulfill({ status: 302, headers: { location: location.href } })
        })
      )
      yield* Effect.promise(() => first.page.goto(`${appUrl}/login`))
      const response = yield* Effect.promise(async () => {
        await first.page.fill("#email", "demo@example.com")
        await first.page.fill("#password", "demo-password")
        const [response] = await Promise.all([
          first.page.waitForResponse((r) => r.url().startsWith(`${appUrl}/oauth/callback?`)),
          first.page.click("#login")
        ])
        return response
      })
      assert.strictEqual(response.status(), 400)
      yield* Effect.promise(() => first.page.waitForLoadState())
      assert.strictEqual(yield* text(first.page, "#title"), "Sign-in could not be verified")

      // The signed state cookie is altered in the browser.
      const second = yield* newPage(browser)
      yield* Effect.promise(() => second.page.goto(`${appUrl}/login`))
      const cookie = (yield* Effect.promise(() => second.context.cookies(appUrl))).find((c) => c.name === WebApp.stateCookie)!
      const [state, signature] = [cookie.value.slice(0, cookie.value.lastIndexOf(".")), cookie.value.slice(cookie.value.lastIndexOf(".") + 1)]
      yield* Effect.promise(() =>
        second.context.addCookies([{ ...cookie, value: `${state}x.${signature}` }])
      )
      const status = yield* Effect.promise(async () => {
        await second.page.fill("#email", "demo@example.com")
        await second.page.fill("#password", "demo-password")
        const [response] = await Promise.all([
          second.page.waitForResponse((r) => r.url().startsWith(`${appUrl}/oauth/callback`)),
          second.page.click("#login")
        ])
        return response.status()
      })
      assert.strictEqual(status, 400)

      assert.strictEqual((yield* server.counters).oauthToken, 0, "no code was exchanged")
      // Without a session nothing is shown.
      const anonymous = yield* Effect.promise(() => fetch(`${appUrl}/profile`, { redirect: "manual" }))
      assert.strictEqual(anonymous.status, 302)
      assert.strictEqual(anonymous.headers.get("location"), "/login")
    }))

  const signIn = (page: Page, appUrl: string, start = "/login") =>
    Effect.promise(async () => {
      await page.goto(`${appUrl}${start}`)
      await page.fill("#email", "demo@example.com")
      await page.fill("#password", "demo-password")
      await Promise.all([page.waitForURL(`${appUrl}/profile`), page.click("#login")])
    })

  /** A page on another site (`localhost` is not the same site as `127.0.0.1`). */
  const otherSite = (html: string) =>
    Effect.acquireRelease(
      Effect.async<{ url: string; close: () => void }>((resume) => {
        const other = createServer((_req, res) => {
          res.writeHead(200, { "content-type": "text/html" })
          res.end(html)
        })
        other.listen(0, "127.0.0.1", () => {
          const address = other.address()
          const port = typeof address === "object" && address !== null ? address.port : 0
          resume(Effect.succeed({ url: `http://localhost:${port}/`, close: () => (other.closeAllConnections(), other.close()) }))
        })
      }),
      (site) => Effect.sync(site.close)
    )

  it.scopedLive.skipIf(!hasChromium)(
    "sign-out is a POST with a CSRF token from this site that also logs the token out at Anaplan; pages send CSP (frame-ancestors 'none') and a Referrer-Policy",
    () =>
      Effect.gen(function*() {
        const { appUrl, browser, server } = yield* setup
        const { context, page } = yield* newPage(browser)
        yield* signIn(page, appUrl)
        const headers = (yield* Effect.promise(() => page.reload()))!.headers()
        assert.include(headers["content-security-policy"], "frame-ancestors 'none'")
        assert.include(headers["content-security-policy"], "default-src 'none'")
        assert.strictEqual(headers["referrer-policy"], "same-origin")
        const signedIn = () =>
          Effect.promise(async () => {
            await page.goto(`${appUrl}/profile`)
            return page.url() === `${appUrl}/profile` && (await page.locator("#title").innerText()) === "Signed in as Demo User"
          })

        // Another site posts a sign-out form (and loads /logout as an image): nothing happens.
        const attacker = yield* otherSite(
          `<img src="${appUrl}/logout"><form id="f" method="post" action="${appUrl}/logout">` +
            `<input name="csrf" value="guessed"></form><script>setTimeout(() => document.getElementById("f").submit(), 200)</script>`
        )
        const forged = yield* Effect.promise(async () => {
          const [response] = await Promise.all([
            page.waitForResponse((r) => r.url() === `${appUrl}/logout` && r.request().method() === "POST"),
            page.goto(attacker.url)
          ])
          // the forged post's answer becomes the page: let that navigation finish before the next one
          await page.waitForURL(`${appUrl}/logout`)
          return response.status()
        })
        assert.strictEqual(forged, 403)
        assert.isTrue(yield* signedIn(), "still signed in after the cross-site post")

        // A GET does not sign out; a same-origin post with a wrong token neither.
        const get = yield* Effect.promise(() => page.goto(`${appUrl}/logout`))
        assert.strictEqual(get?.status(), 405)
        yield* Effect.promise(() => page.goto(`${appUrl}/profile`))
        // (the page itself cannot even try: its Content-Security-Policy allows it no fetch)
        const blocked = yield* Effect.promise(() =>
          page.evaluate(() => fetch("/logout", { method: "POST" }).then(() => "sent", () => "blocked"))
        )
        assert.strictEqual(blocked, "blocked")
        const wrongToken = yield* Effect.promise(() =>
          context.request.post(`${appUrl}/logout`, { form: { csrf: "forged" } }).then((r) => r.status())
        )
        assert.strictEqual(wrongToken, 403)
        assert.isTrue(yield* signedIn(), "still signed in after a forged token")
        assert.strictEqual((yield* server.counters).logout, 0)

        // The page's own button signs out, here and at Anaplan.
        yield* Effect.promise(() => Promise.all([page.waitForURL(`${appUrl}/logout`), page.click("#logout")]))
        assert.strictEqual(yield* text(page, "#title"), "Signed out")
        assert.strictEqual((yield* server.counters).logout, 1, "the token was logged out at Anaplan")
        assert.isUndefined((yield* Effect.promise(() => context.cookies(appUrl))).find((c) => c.name === WebApp.sessionCookie))
        yield* Effect.promise(() => page.goto(`${appUrl}/profile`))
        assert.isTrue(page.url().startsWith(`${server.url}/auth/prelogin?`), "signed out: /profile leads to the login")
      })
  )

  it.scopedLive.skipIf(!hasChromium)("10,000 anonymous GET /login cannot push out a browser's login under way", () =>
    Effect.gen(function*() {
      const { appUrl, browser } = yield* setup
      const { page } = yield* newPage(browser)
      yield* Effect.promise(() => page.goto(`${appUrl}/login`))
      const statuses = yield* Effect.forEach(
        Array.from({ length: 10_000 }, (_, i) => i),
        () => Effect.promise(() => fetch(`${appUrl}/login`, { redirect: "manual" }).then((r) => (void r.body?.cancel(), r.status))),
        { concurrency: 32 }
      )
      assert.isTrue(statuses.every((status) => status === 302))
      yield* Effect.promise(async () => {
        await page.fill("#email", "demo@example.com")
        await page.fill("#password", "demo-password")
        await Promise.all([page.waitForURL(`${appUrl}/profile`), page.click("#login")])
      })
      assert.strictEqual(yield* text(page, "#title"), "Signed in as Demo User")
    }), 180_000)
})
