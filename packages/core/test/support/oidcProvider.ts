/**
 * A real OpenID provider (panva's oidc-provider) on 127.0.0.1, and a scripted person who completes
 * its login and consent pages by plain HTTP form posts, as a browser would.
 */
import * as Effect from "effect/Effect"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import Provider from "oidc-provider"

export const redirectUri = "http://127.0.0.1/callback"

const grantTypes = [
  "authorization_code",
  "refresh_token",
  "urn:ietf:params:oauth:grant-type:device_code"
]

/** The registered clients: one per client authentication method. */
export const clients = {
  basic: { id: "basic-client", secret: "basic-secret-0123456789" },
  post: { id: "post-client", secret: "post-secret-0123456789" },
  public: { id: "public-client" }
} as const

export interface RunningProvider {
  readonly issuer: string
  /** Requests seen by the provider: method and path (no bodies). */
  readonly requests: Array<string>
}

/** Starts oidc-provider on an ephemeral port; stops it when the scope closes. */
export const oidcProvider: Effect.Effect<RunningProvider, never, import("effect/Scope").Scope> = Effect.acquireRelease(
  Effect.async<{ server: Server; running: RunningProvider }>((resume) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: clients.basic.id,
            client_secret: clients.basic.secret,
            token_endpoint_auth_method: "client_secret_basic",
            application_type: "native",
            redirect_uris: [redirectUri],
            grant_types: [...grantTypes, "client_credentials"],
            response_types: ["code"]
          },
          {
            client_id: clients.post.id,
            client_secret: clients.post.secret,
            token_endpoint_auth_method: "client_secret_post",
            application_type: "native",
            redirect_uris: [redirectUri],
            grant_types: [...grantTypes, "client_credentials"],
            response_types: ["code"]
          },
          {
            client_id: clients.public.id,
            token_endpoint_auth_method: "none",
            application_type: "native",
            redirect_uris: [redirectUri],
            grant_types: grantTypes,
            response_types: ["code"]
          }
        ],
        pkce: { required: () => true },
        features: {
          devInteractions: { enabled: true },
          deviceFlow: { enabled: true },
          revocation: { enabled: true },
          clientCredentials: { enabled: true }
        },
        rotateRefreshToken: true,
        // Refresh tokens for every client allowed the grant, without `offline_access` + consent.
        issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed: (type: string) => boolean }) =>
          client.grantTypeAllowed("refresh_token"),
        findAccount: async (_ctx: unknown, sub: string) => ({
          accountId: sub,
          claims: async () => ({ sub })
        }),
        cookies: { keys: ["effect-auth-test-cookie-key"] },
        ttl: {
          AccessToken: 3600,
          ClientCredentials: 600,
          DeviceCode: 600,
          Grant: 3600,
          IdToken: 3600,
          Interaction: 600,
          RefreshToken: 86400,
          Session: 3600
        }
      })
      const running: RunningProvider = { issuer, requests: [] }
      const callback = provider.callback()
      server.on("request", (req, res) => {
        running.requests.push(`${req.method} ${new URL(req.url ?? "/", issuer).pathname}`)
        callback(req, res)
      })
      resume(Effect.succeed({ server, running }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
      server.closeAllConnections()
    })
).pipe(Effect.map(({ running }) => running))

const decode = (text: string) =>
  text.replace(/&amp;/g, "&").replace(/&#x2F;/g, "/").replace(/&#39;/g, "'").replace(/&quot;/g, "\"")

/** A minimal browser: a cookie jar, manual redirects, and filling in the first form of a page. */
export class Browser {
  readonly cookies = new Map<string, string>()
  readonly visited: Array<string> = []

  constructor(
    readonly person: { readonly login: string; readonly password: string } = { login: "alice", password: "pw" }
  ) {}

  private async request(url: string, init: RequestInit = {}): Promise<Response> {
    this.visited.push(`${init.method ?? "GET"} ${new URL(url).pathname}`)
    const headers = new Headers(init.headers)
    if (this.cookies.size > 0) {
      headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "))
    }
    const response = await fetch(url, { ...init, headers, redirect: "manual" })
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(";")
      const eq = pair.indexOf("=")
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
    }
    return response
  }

  /**
   * Goes to `url` and completes every page of the provider (login, consent, device code forms),
   * following redirects while they stay on `providerOrigin`. Returns the first redirect that leaves
   * the provider (the app's redirect URI), or the final page's text.
   */
  async run(
    url: string,
    options: { readonly abort?: boolean } = {}
  ): Promise<{ readonly redirect?: string; readonly page?: string }> {
    const providerOrigin = new URL(url).origin
    let next: { url: string; init?: RequestInit } | undefined = { url }
    for (let step = 0; step < 20 && next !== undefined; step++) {
      const response = await this.request(next.url, next.init)
      if (response.status >= 300 && response.status < 400) {
        await response.arrayBuffer()
        const location: string = new URL(response.headers.get("location") ?? "/", next.url).href
        if (new URL(location).origin !== providerOrigin) return { redirect: location }
        next = { url: location }
        continue
      }
      const html = await response.text()
      const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/.exec(html)
      if (form === null) return { page: html }
      if (options.abort && /name="prompt"/.test(form[2])) {
        const abort = /href="([^"]*\/abort)"/.exec(html)
        if (abort !== null) {
          next = { url: new URL(decode(abort[1]), next.url).href }
          continue
        }
      }
      const action: string = new URL(decode(/action="([^"]*)"/.exec(form[1])?.[1] ?? next.url), next.url).href
      const body = new URLSearchParams()
      for (const input of form[2].match(/<input\b[^>]*>/g) ?? []) {
        const name = /name="([^"]*)"/.exec(input)?.[1]
        if (name === undefined) continue
        const value = name === "login"
          ? this.person.login
          : name === "password"
          ? this.person.password
          : decode(/value="([^"]*)"/.exec(input)?.[1] ?? "")
        body.append(name, value)
      }
      next = {
        url: action,
        init: {
          method: "POST",
          body: body.toString(),
          headers: { "content-type": "application/x-www-form-urlencoded" }
        }
      }
    }
    throw new Error(`the browser did not finish; visited ${this.visited.join(", ")}`)
  }
}
