import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { InvalidConfiguration } from "../src/AuthError.js"
import * as Provider from "../src/Provider.js"
import * as Sites from "./support/sites.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-sites-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const mode = (path: string) => Fs.statSync(path).mode & 0o777

/** The typed failure of an effect that must fail with `InvalidConfiguration`. */
const failure = <A>(effect: Effect.Effect<A, InvalidConfiguration>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
    if (exit.cause._tag !== "Fail") throw new Error(`expected a typed failure, got ${exit.cause._tag}`)
    assert.strictEqual(exit.cause.error._tag, "InvalidConfiguration")
    return exit.cause.error
  })

const secret = (value: Redacted.Redacted<string> | undefined) => value === undefined ? undefined : Redacted.value(value)

/** Checks that `after` holds every line of `before` except `edited`, in the same order. */
const assertKept = (before: string, after: string, edited: ReadonlyArray<string>) => {
  const kept = before.split("\n").filter((line) => !edited.includes(line))
  const lines = after.split("\n")
  let position = 0
  for (const line of kept) {
    const found = lines.indexOf(line, position)
    assert.isAtLeast(found, 0, `line ${JSON.stringify(line)} was lost or moved`)
    position = found + 1
  }
}

const fixture = `# effect-auth configuration
# (hand-written, keep these comments)
default_site = "prod"
storage = "file"     # every site stores tokens in a file
api_url = "https://api.anaplan.com"

# Production tenant
[sites.prod]
email = "me@example.com"   # my login
  auth_url = "https://auth.anaplan.com"  # indented on purpose

# CI robot, uses a certificate
[sites.ci]
method = "certificate"
certificate = "certs/ci.pem"
private_key = "certs/ci.key"
scopes = [
  "one",   # first
  "two"
]

[sites.sandbox]
provider = "oauth2"
client_id = "sandbox-client"
issuer = "https://op.example.com"
# trailing comment of the sandbox
`

describe("Sites.configPath", () => {
  it("prefers EFFECT_AUTH_CONFIG, then an absolute XDG_CONFIG_HOME, then ~/.config", () => {
    assert.strictEqual(
      Sites.configPath({ EFFECT_AUTH_CONFIG: "/etc/ea.toml", XDG_CONFIG_HOME: "/xdg", HOME: "/home/u" }),
      "/etc/ea.toml"
    )
    assert.strictEqual(
      Sites.configPath({ XDG_CONFIG_HOME: "/xdg", HOME: "/home/u" }),
      "/xdg/effect-auth/config.toml"
    )
    assert.strictEqual(Sites.configPath({ HOME: "/home/u" }), "/home/u/.config/effect-auth/config.toml")
    // empty and relative values are ignored, as the XDG specification says
    assert.strictEqual(
      Sites.configPath({ EFFECT_AUTH_CONFIG: "", XDG_CONFIG_HOME: "relative/dir", HOME: "/home/u" }),
      "/home/u/.config/effect-auth/config.toml"
    )
  })
})

describe("Sites.load and parse", () => {
  it.scoped("a missing file is an empty configuration; a real file is parsed in file order with defaults", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const missing = yield* Sites.load(Path.join(dir, "nope", "config.toml"))
      assert.isFalse(missing.exists)
      assert.deepStrictEqual(missing.sites, [])
      assert.isTrue(Option.isNone(missing.defaultSite))

      const file = Path.join(dir, "config.toml")
      Fs.writeFileSync(file, fixture)
      const config = yield* Sites.load(file)
      assert.isTrue(config.exists)
      assert.strictEqual(config.path, file)
      assert.deepStrictEqual(config.defaultSite, Option.some("prod"))
      assert.deepStrictEqual(config.sites.map((site) => site.name), ["prod", "ci", "sandbox"])
      const [prod, ci, sandbox] = config.sites
      assert.instanceOf(prod, Sites.Site)
      assert.strictEqual(prod.provider, "anaplan")
      assert.strictEqual(prod.method, "basic")
      assert.strictEqual(prod.storage, "file") // top-level default
      assert.strictEqual(Sites.text(prod, "api_url"), "https://api.anaplan.com") // top-level default
      assert.strictEqual(Sites.text(prod, "auth_url"), "https://auth.anaplan.com")
      assert.strictEqual(ci.method, "certificate")
      assert.deepStrictEqual(Sites.list(ci, "scopes"), ["one", "two"])
      assert.strictEqual(sandbox.method, "oauth") // default method of oauth2
      assert.deepStrictEqual(config.warnings, [])
    }))

  it.scoped("an unreadable path is InvalidConfiguration naming the file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const error = yield* failure(Sites.load(dir)) // a directory
      assert.include(error.message, dir)
      assert.include(error.message, "EISDIR")
    }))

  it.effect("a TOML syntax error gives path:line:col and never the offending line's secret", () =>
    Effect.gen(function*() {
      const text = `default_site = "a"\n\n[sites.a]\npassword = "hunter2\nemail = "x"\n`
      const error = yield* failure(Sites.parse(text, "/cfg/config.toml"))
      assert.match(error.detail, /^\/cfg\/config\.toml:4:\d+: /)
      assert.notInclude(error.message, "hunter2")
      const other = yield* failure(Sites.parse(`[sites.a]\nemail = "x"\nemail = "y"\n`, "c.toml"))
      assert.match(other.detail, /^c\.toml:3:\d+: /)
    }))

  it.effect("an unknown key names its site, line and the closest valid key", () =>
    Effect.gen(function*() {
      const text = `[sites.prod]\nemail = "a@b"\nmethd = "basic"\n\n[sites.dev]\nclient_secrt = "s3cr3t-value"\n`
      const error = yield* failure(Sites.parse(text, "/cfg/config.toml"))
      const lines = error.detail.split("\n")
      assert.deepStrictEqual(lines, [
        "/cfg/config.toml:3: sites.prod.methd: unknown key; did you mean method?",
        "/cfg/config.toml:6: sites.dev.client_secrt: unknown key; did you mean client_secret?"
      ])
      assert.notInclude(error.message, "s3cr3t-value")
      const top = yield* failure(Sites.parse(`[site.prod]\nemail = "a@b"\n`, "c.toml"))
      assert.strictEqual(top.detail, "c.toml:1: site: unknown key; did you mean sites?")
    }))

  it.effect("anaconda-auth's ssl_verify and proxy_servers say what to write here instead of a guess", () =>
    Effect.gen(function*() {
      const text = `[sites.ana]\nprovider = "anaconda"\nssl_verify = false\nproxy_servers = { https = "http://p:3128" }\n`
      const error = yield* failure(Sites.parse(text, "c.toml"))
      const lines = error.detail.split("\n")
      assert.match(lines[0], /^c\.toml:3: sites\.ana\.ssl_verify: unknown key; anaconda-auth's ssl_verify is tls_verify here/)
      assert.match(lines[1], /^c\.toml:4: sites\.ana\.proxy_servers: unknown key; anaconda-auth's proxy_servers .* is proxy here/)
      const edit = yield* failure(Sites.modifySite(`[sites.ana]\nprovider = "anaconda"\n`, "ana", { ssl_verify: "false" }))
      assert.include(edit.message, "ssl_verify is tls_verify here")
    }))

  it.effect("unknown providers, methods and storage kinds list the allowed values", () =>
    Effect.gen(function*() {
      const text = `storage = "keyrnig"\n[sites.a]\nprovider = "anaplann"\nmethod = "magic"\n`
      const error = yield* failure(Sites.parse(text, "c.toml"))
      assert.deepStrictEqual(error.detail.split("\n"), [
        "c.toml:1: storage: \"keyrnig\" is not a storage kind; allowed: auto, keyring, file, redis, memory (did you mean keyring?)",
        "c.toml:3: sites.a.provider: \"anaplann\" is not a provider; allowed: anaplan, oauth2, foundry, anaconda (did you mean anaplan?)",
        "c.toml:4: sites.a.method: \"magic\" is not a method; allowed: basic, certificate, token, oauth, device, refresh_token, client_credentials"
      ])
    }))

  it.effect("wrong types, bad site names and bad URLs are reported without echoing secrets", () =>
    Effect.gen(function*() {
      const text = [
        "[sites.a]",
        "email = 42",
        "password = [\"pw-in-array\"]",
        "scopes = [1, 2]",
        "auth_url = \"not a url\"",
        "redis_url = \"http://user:redispass@host\"",
        "[sites.\"bad name\"]",
        "email = \"x\"",
        ""
      ].join("\n")
      const error = yield* failure(Sites.parse(text, "c.toml"))
      const lines = error.detail.split("\n")
      assert.include(lines[0], "c.toml:2: sites.a.email: expected a string in quotes, got a number")
      assert.include(lines[1], "c.toml:3: sites.a.password: expected a string in quotes, got an array")
      assert.include(lines[2], "c.toml:4: sites.a.scopes: expected an array of strings")
      assert.include(lines[3], "c.toml:5: sites.a.auth_url: \"not a url\" is not an absolute URL")
      assert.include(lines[4], "c.toml:6: sites.a.redis_url: the value has scheme http:; expected redis: or rediss:")
      assert.include(lines[5], "c.toml:7: sites.\"bad name\": site names may contain only letters, digits")
      assert.notInclude(error.message, "pw-in-array")
      assert.notInclude(error.message, "redispass")
    }))

  it.effect("a secret in the file works, with a warning naming the key and the variable but not the value", () =>
    Effect.gen(function*() {
      const text = `client_secret = "top-secret-1"\n[sites.a]\nemail = "me@x"\npassword = "hunter2"\n`
      const config = yield* Sites.parse(text, "/c/config.toml")
      assert.strictEqual(secret(Sites.secret(config.sites[0], "password")), "hunter2")
      assert.strictEqual(secret(Sites.secret(config.sites[0], "client_secret")), "top-secret-1")
      assert.strictEqual(config.warnings.length, 2)
      const [defaults, site] = config.warnings
      assert.include(defaults, "/c/config.toml:1: client_secret is written in the config file")
      assert.include(defaults, "EFFECT_AUTH_CLIENT_SECRET")
      assert.include(site, "/c/config.toml:4: sites.a.password is written in the config file")
      assert.include(site, "EFFECT_AUTH_PASSWORD")
      assert.include(site, "password_file")
      for (const warning of config.warnings) {
        assert.notInclude(warning, "hunter2")
        assert.notInclude(warning, "top-secret-1")
      }
      // and the Site never shows it either
      assert.notInclude(String(config.sites[0]), "hunter2")
      assert.notInclude(JSON.stringify(config.sites[0]), "hunter2")
    }))

  it.effect("a default_site naming no site is a warning, and scopes may be a space-separated string", () =>
    Effect.gen(function*() {
      const config = yield* Sites.parse(`default_site = "gone"\n[sites.a]\nscopes = "openid  email"\n`, "c.toml")
      assert.deepStrictEqual(Sites.list(config.sites[0], "scopes"), ["openid", "email"])
      assert.deepStrictEqual(config.warnings, [
        "c.toml:1: default_site names \"gone\", which is not a site in c.toml (known: a)."
      ])
    }))
})

describe("Sites network fields (proxy, ca_file, tls_verify)", () => {
  it.scoped("tls_verify takes a TOML boolean; ca_file is a path; proxy is secret, warned about only with credentials", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = Path.join(dir, "config.toml")
      Fs.writeFileSync(
        file,
        `[sites.a]\nemail = "a@example.com"\ntls_verify = false\nca_file = "certs/corp.pem"\nproxy = "http://proxy.corp:3128"\n` +
          `[sites.b]\nemail = "b@example.com"\ntls_verify = "true"\nproxy = "http://user:pr0xy-pw@proxy.corp:3128"\n`
      )
      const config = yield* Sites.load(file)
      const a = yield* Sites.resolve(config, { site: "a", env: {} })
      assert.strictEqual(Sites.text(a, "tls_verify"), "false")
      assert.strictEqual(Sites.text(a, "ca_file"), Path.join(dir, "certs", "corp.pem"))
      assert.strictEqual(secret(Sites.secret(a, "proxy")), "http://proxy.corp:3128")
      const b = yield* Sites.resolve(config, { site: "b", env: { EFFECT_AUTH_TLS_VERIFY: "false" } })
      assert.strictEqual(Sites.text(b, "tls_verify"), "false")
      assert.strictEqual(config.warnings.length, 1)
      assert.include(config.warnings[0], "sites.b.proxy is written in the config file in plain text")
      assert.notInclude(config.warnings.join("\n"), "pr0xy-pw")

      Fs.writeFileSync(file, `[sites.c]\ntls_verify = "no"\n`)
      const error = yield* failure(Sites.load(file))
      assert.include(error.message, "sites.c.tls_verify")
      assert.include(error.message, "allowed: true, false")
    }))
})

describe("Sites.resolve", () => {
  const config = Sites.parse(
    `email = "default@x"\n[sites.one]\nemail = "one@x"\n[sites.two]\nemail = "two@x"\n`,
    "/c/config.toml"
  )

  it.effect("chooses the site: --at, then EFFECT_AUTH_SITE (env, then .env), then default_site, then the only site", () =>
    Effect.gen(function*() {
      const two = yield* Sites.parse(
        `default_site = "one"\n[sites.one]\nemail = "one@x"\n[sites.two]\nemail = "two@x"\n[sites.three]\n`,
        "c.toml"
      )
      const pick = (input: Sites.ResolveInput) => Effect.map(Sites.resolve(two, { env: {}, ...input }), (s) => s.name)
      assert.strictEqual(
        yield* pick({ site: "three", env: { EFFECT_AUTH_SITE: "two" }, dotenv: { EFFECT_AUTH_SITE: "one" } }),
        "three"
      )
      assert.strictEqual(yield* pick({ env: { EFFECT_AUTH_SITE: "two" }, dotenv: { EFFECT_AUTH_SITE: "three" } }), "two")
      assert.strictEqual(yield* pick({ dotenv: { EFFECT_AUTH_SITE: "three" } }), "three")
      assert.strictEqual(yield* pick({}), "one")
      const only = yield* Sites.parse(`[sites.solo]\nemail = "s@x"\n`, "c.toml")
      assert.strictEqual((yield* Sites.resolve(only, { env: {} })).name, "solo")
    }))

  it.effect("an unknown --at lists the known sites; several sites and no default ask for a choice", () =>
    Effect.gen(function*() {
      const unknown = yield* failure(Effect.flatMap(config, (c) => Sites.resolve(c, { site: "three", env: {} })))
      assert.include(unknown.message, "There is no site named \"three\" (chosen by --at); known sites: one, two")
      const none = yield* failure(Effect.flatMap(config, (c) => Sites.resolve(c, { env: {} })))
      assert.include(none.message, "2 sites are configured in /c/config.toml (one, two) and none is chosen")
      assert.include(none.message, "--at NAME")
      assert.include(none.message, "EFFECT_AUTH_SITE")
    }))

  it.effect("with no sites, builds a `default` site from defaults and the environment, or says how to add one", () =>
    Effect.gen(function*() {
      const empty = yield* Sites.load(Path.join(Os.tmpdir(), "effect-auth-sites-missing", "config.toml"))
      const error = yield* failure(Sites.resolve(empty, { env: { EFFECT_AUTH_STORAGE: "file" } }))
      assert.include(error.message, "does not exist")
      assert.include(error.message, "effect-auth sites add NAME --provider anaplan --email")
      const site = yield* Sites.resolve(empty, {
        env: { EFFECT_AUTH_EMAIL: "env@x", EFFECT_AUTH_PASSWORD: "pw", EFFECT_AUTH_STORAGE: "memory" }
      })
      assert.strictEqual(site.name, "default")
      assert.strictEqual(site.provider, "anaplan")
      assert.strictEqual(site.method, "basic")
      assert.strictEqual(Sites.text(site, "email"), "env@x")
      assert.strictEqual(secret(Sites.secret(site, "password")), "pw")
      assert.strictEqual(site.storage, "memory")
    }))

  it.effect("field precedence: flags > environment > .env > the site's table > top-level defaults", () =>
    Effect.gen(function*() {
      const c = yield* Sites.parse(`api_url = "https://defaults.example"\nemail = "defaults@x"\n[sites.a]\napi_url = "https://table.example"\n`, "c.toml")
      const apiUrl = (input: Sites.ResolveInput) => Effect.map(Sites.resolve(c, input), (site) => Sites.text(site, "api_url"))
      const flags = { api_url: "https://flag.example" }
      const env = { EFFECT_AUTH_API_URL: "https://env.example" }
      const dotenv = { EFFECT_AUTH_API_URL: "https://dotenv.example" }
      assert.strictEqual(yield* apiUrl({ flags, env, dotenv }), "https://flag.example")
      assert.strictEqual(yield* apiUrl({ env, dotenv }), "https://env.example")
      assert.strictEqual(yield* apiUrl({ env: {}, dotenv }), "https://dotenv.example")
      assert.strictEqual(yield* apiUrl({ env: {} }), "https://table.example")
      // the top-level default shows through where the table is silent, and an empty variable counts as unset
      const site = yield* Sites.resolve(c, { env: { EFFECT_AUTH_EMAIL: "" } })
      assert.strictEqual(Sites.text(site, "email"), "defaults@x")
      // the method default follows a provider set in the environment
      const oauth = yield* Sites.resolve(c, {
        env: { EFFECT_AUTH_PROVIDER: "oauth2", EFFECT_AUTH_CLIENT_ID: "id", EFFECT_AUTH_ISSUER: "https://op.example" }
      })
      assert.strictEqual(oauth.method, "oauth")
      assert.deepStrictEqual(
        Sites.list(yield* Sites.resolve(c, { env: { EFFECT_AUTH_SCOPES: "a b" }, flags: { scopes: "x  y z" } }), "scopes"),
        ["x", "y", "z"]
      )
    }))

  it.scoped("password_file is read with one trailing newline trimmed, relative to the config file, by precedence", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      Fs.mkdirSync(Path.join(dir, "secrets"))
      Fs.writeFileSync(Path.join(dir, "secrets", "pw"), "file-pass\n\n")
      Fs.writeFileSync(Path.join(dir, "env-pw"), "env-file-pass\r\n")
      const file = Path.join(dir, "config.toml")
      Fs.writeFileSync(file, `[sites.a]\nemail = "me@x"\npassword_file = "secrets/pw"\n`)
      const c = yield* Sites.load(file)
      const password = (input: Sites.ResolveInput) =>
        Effect.map(Sites.resolve(c, { env: {}, ...input }), (site) => secret(Sites.secret(site, "password")))
      assert.strictEqual(yield* password({}), "file-pass\n")
      assert.strictEqual(Sites.text(yield* Sites.resolve(c, { env: {} }), "password_file"), Path.join(dir, "secrets", "pw"))
      // a password from a higher layer wins over the table's password_file
      assert.strictEqual(yield* password({ env: { EFFECT_AUTH_PASSWORD: "env-pass" } }), "env-pass")
      // and a password_file from a higher layer wins over a password below it
      assert.strictEqual(
        yield* password({
          env: { EFFECT_AUTH_PASSWORD_FILE: Path.join(dir, "env-pw") },
          dotenv: { EFFECT_AUTH_PASSWORD: "dotenv-pass" }
        }),
        "env-file-pass"
      )
      const missing = yield* failure(
        Sites.resolve(c, { env: { EFFECT_AUTH_PASSWORD_FILE: Path.join(dir, "nope") } })
      )
      assert.include(missing.message, Path.join(dir, "nope"))
      assert.include(missing.message, "EFFECT_AUTH_PASSWORD_FILE")
      assert.include(missing.message, "ENOENT")
      Fs.writeFileSync(Path.join(dir, "empty"), "\n")
      const empty = yield* failure(Sites.resolve(c, { env: { EFFECT_AUTH_PASSWORD_FILE: Path.join(dir, "empty") } }))
      assert.include(empty.message, "is empty")
    }))

  it.scoped("paths get ~ expanded; relative paths from the file are relative to its directory", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = Path.join(dir, "cfg", "config.toml")
      const c = yield* Sites.parse(
        `[sites.ci]\nmethod = "certificate"\ncertificate = "certs/ci.pem"\nprivate_key = "~/keys/ci.key"\n`,
        file
      )
      const site = yield* Sites.resolve(c, { env: { HOME: "/home/robot" } })
      assert.strictEqual(Sites.text(site, "certificate"), Path.join(dir, "cfg", "certs", "ci.pem"))
      assert.strictEqual(Sites.text(site, "private_key"), "/home/robot/keys/ci.key")
      const fromEnv = yield* Sites.resolve(c, { env: { EFFECT_AUTH_CERTIFICATE: "rel.pem" } })
      assert.strictEqual(Sites.text(fromEnv, "certificate"), Path.resolve("rel.pem"))
    }))

  it.effect("validation after the merge names the missing field and its environment variable", () =>
    Effect.gen(function*() {
      const c = yield* Sites.parse(
        [
          "[sites.cert]",
          "method = \"certificate\"",
          "certificate = \"/c.pem\"",
          "[sites.op]",
          "provider = \"oauth2\"",
          "[sites.mixed]",
          "provider = \"oauth2\"",
          "method = \"basic\"",
          "[sites.redis]",
          "storage = \"redis\"",
          "[sites.ft]",
          "provider = \"foundry\"",
          "client_id = \"x\"",
          ""
        ].join("\n"),
        "/c/config.toml"
      )
      const at = (site: string, env: Record<string, string> = {}) => failure(Sites.resolve(c, { site, env }))
      const cert = yield* at("cert")
      assert.strictEqual(cert.site, "cert")
      assert.include(cert.message, "method certificate needs private_key (in [sites.cert] of /c/config.toml, or EFFECT_AUTH_PRIVATE_KEY)")
      // the environment can complete it
      const fixed = yield* Sites.resolve(c, { site: "cert", env: { EFFECT_AUTH_PRIVATE_KEY: "/k.pem" } })
      assert.strictEqual(Sites.text(fixed, "private_key"), "/k.pem")
      const op = yield* at("op")
      assert.include(op.message, "needs client_id")
      assert.include(op.message, "EFFECT_AUTH_CLIENT_ID")
      assert.include(op.message, "needs issuer or token_url")
      const mixed = yield* at("mixed")
      assert.include(mixed.message, "method basic (from sites.mixed.method in /c/config.toml) does not work with provider oauth2")
      assert.include(mixed.message, "methods for oauth2: oauth, device, refresh_token, client_credentials, token")
      const redis = yield* at("redis")
      assert.include(redis.message, "storage redis needs redis_url")
      assert.include(redis.message, "EFFECT_AUTH_REDIS_URL")
      const foundry = yield* at("ft")
      assert.include(foundry.message, "needs hostname")
      const badEnv = yield* at("cert", { EFFECT_AUTH_METHOD: "certifcate" })
      assert.include(badEnv.message, "EFFECT_AUTH_METHOD: \"certifcate\" is not a method")
      assert.include(badEnv.message, "did you mean certificate?")
      const badFlag = yield* failure(Sites.resolve(c, { site: "cert", env: {}, flags: { auth_url: "ftp://x" } }))
      assert.include(badFlag.message, "--auth-url: \"ftp://x\" has scheme ftp:")
    }))

  it.effect("allow_insecure_http (a field of every site) lets plain http:// endpoints through, with a warning", () => {
    const sent: Array<string> = []
    const warnings: Array<string> = []
    const http = HttpClient.make((request) => {
      sent.push(request.url)
      return Effect.succeed(HttpClientResponse.fromWeb(
        request,
        new Response(JSON.stringify({ access_token: "at-1", token_type: "Bearer" }), {
          headers: { "content-type": "application/json" }
        })
      ))
    })
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    return Effect.gen(function*() {
      const site = (extra: string) =>
        [
          "provider = \"oauth2\"",
          "method = \"client_credentials\"",
          "client_id = \"c\"",
          "client_secret = \"client-secret-1\"",
          "token_url = \"http://auth.example.invalid/token\"",
          extra
        ].join("\n")
      const c = yield* Sites.parse(`[sites.plain]\n${site("")}\n[sites.allowed]\n${site("allow_insecure_http = true")}\n`, "c.toml")
      const acquire = (name: string) =>
        Effect.flatMap(Sites.resolve(c, { site: name, env: {} }), (resolved) =>
          Effect.flatMap(Sites.plan(Sites.providers, resolved).strategy, (strategy) => strategy.acquire))
      const refused = yield* Effect.flip(acquire("plain"))
      assert.strictEqual(refused._tag, "InvalidConfiguration")
      assert.include(refused.message, "token_url (tokenEndpoint) (http://auth.example.invalid) is plain http://")
      assert.include(refused.message, "allow_insecure_http = true")
      assert.deepStrictEqual(sent, [], "nothing was sent in clear")
      const token = yield* acquire("allowed")
      assert.strictEqual(Redacted.value(token.accessToken), "at-1")
      assert.deepStrictEqual(sent, ["http://auth.example.invalid/token"])
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0], "allowed: OAuth 2: token_url (tokenEndpoint) (http://auth.example.invalid) is plain http://")
      const env = yield* Sites.resolve(c, { site: "plain", env: { EFFECT_AUTH_ALLOW_INSECURE_HTTP: "true" } })
      assert.strictEqual(Sites.text(env, "allow_insecure_http"), "true")
      const bad = yield* failure(Sites.resolve(c, { site: "plain", env: { EFFECT_AUTH_ALLOW_INSECURE_HTTP: "yes" } }))
      assert.include(bad.message, "is not a value of allow_insecure_http; allowed: true, false")
    }).pipe(
      Effect.provideService(HttpClient.HttpClient, http),
      Effect.provide(Layer.merge(Provider.layerNoInteraction, Logger.replace(Logger.defaultLogger, logger)))
    )
  })

  it.effect("secrets from flags and the environment are Redacted in the site", () =>
    Effect.gen(function*() {
      const c = yield* Sites.parse(`[sites.a]\nmethod = "token"\n`, "c.toml")
      const site = yield* Sites.resolve(c, { env: { EFFECT_AUTH_TOKEN: "env-token-value" } })
      assert.isTrue(Redacted.isRedacted(Sites.secret(site, "token")))
      assert.strictEqual(secret(Sites.secret(site, "token")), "env-token-value")
      assert.notInclude(String(site), "env-token-value")
      const fields = Sites.fields(site)
      assert.deepStrictEqual(Object.keys(fields), ["provider", "method", "token", "storage"])
      assert.isTrue(Redacted.isRedacted(fields.token))
    }))
})

describe("Sites.parseDotEnv", () => {
  it("reads KEY=VALUE lines with quotes, comments and export", () => {
    const text = [
      "# a comment",
      "EFFECT_AUTH_EMAIL=me@example.com",
      "export EFFECT_AUTH_SITE = prod   # inline comment",
      "EFFECT_AUTH_PASSWORD='p#ss \"word\"'",
      "DOUBLE=\"line1\\nline2 \\\"q\\\" # not a comment\"",
      "MULTI=\"first",
      "second\"",
      "URL=https://x.example/#fragment",
      "EMPTY=",
      "not a line",
      "  INDENTED=yes\r",
      "EFFECT_AUTH_EMAIL=later@example.com"
    ].join("\n")
    assert.deepStrictEqual(Sites.parseDotEnv(text), {
      EFFECT_AUTH_EMAIL: "later@example.com",
      EFFECT_AUTH_SITE: "prod",
      EFFECT_AUTH_PASSWORD: "p#ss \"word\"",
      // dotenv's rules: in double quotes `\n` is expanded and `\"` kept as written; unquoted, `#`
      // starts a comment (quote a value that holds one)
      DOUBLE: "line1\nline2 \\\"q\\\" # not a comment",
      MULTI: "first\nsecond",
      URL: "https://x.example/",
      EMPTY: "",
      INDENTED: "yes"
    })
  })

  it.scoped("loadDotEnv reads a file and treats a missing one as empty", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      assert.deepStrictEqual(yield* Sites.loadDotEnv(Path.join(dir, ".env")), {})
      Fs.writeFileSync(Path.join(dir, ".env"), "EFFECT_AUTH_SITE=ci\n")
      assert.deepStrictEqual(yield* Sites.loadDotEnv(Path.join(dir, ".env")), { EFFECT_AUTH_SITE: "ci" })
    }))
})

describe("Sites editing", () => {
  it.effect("addSite appends a table and keeps the rest byte for byte; an existing name fails", () =>
    Effect.gen(function*() {
      const after = yield* Sites.addSite(fixture, "eu", {
        provider: "anaplan",
        email: "eu@example.com",
        auth_url: "https://auth.eu.anaplan.com",
        scopes: "openid email"
      })
      assert.strictEqual(
        after,
        fixture +
          "\n[sites.eu]\nprovider = \"anaplan\"\nauth_url = \"https://auth.eu.anaplan.com\"\nscopes = [\"openid\", \"email\"]\nemail = \"eu@example.com\"\n"
      )
      const config = yield* Sites.parse(after, "c.toml")
      assert.deepStrictEqual(config.sites.map((site) => site.name), ["prod", "ci", "sandbox", "eu"])
      const exists = yield* failure(Sites.addSite(fixture, "ci", { email: "x" }))
      assert.include(exists.message, "A site named ci already exists")
      assert.include(exists.message, "sites modify ci")
      const badName = yield* failure(Sites.addSite(fixture, "my site", {}))
      assert.include(badName.message, "\"my site\" is not a valid site name")
      const badValue = yield* failure(Sites.addSite(fixture, "x", { method: "magic" }))
      assert.include(badValue.message, "sites.x.method: \"magic\" is not a method")
      assert.strictEqual(yield* Sites.addSite("", "first", { email: "a@b" }), "[sites.first]\nemail = \"a@b\"\n")
    }))

  it.effect("modifySite replaces values in place, inserts new keys after the site's last key, removes unset lines", () =>
    Effect.gen(function*() {
      const after = yield* Sites.modifySite(
        fixture,
        "prod",
        { email: "new@example.com", auth_url: "https://auth.eu.anaplan.com", client_id: "cid" },
        []
      )
      assert.strictEqual(
        after,
        fixture
          .replace("email = \"me@example.com\"   # my login", "email = \"new@example.com\"   # my login")
          .replace(
            "  auth_url = \"https://auth.anaplan.com\"  # indented on purpose\n",
            "  auth_url = \"https://auth.eu.anaplan.com\"  # indented on purpose\n  client_id = \"cid\"\n"
          )
      )
      const ci = yield* Sites.modifySite(fixture, "ci", { scopes: ["three"] }, ["private_key"])
      assert.strictEqual(
        ci,
        fixture
          .replace("private_key = \"certs/ci.key\"\n", "")
          .replace("scopes = [\n  \"one\",   # first\n  \"two\"\n]", "scopes = [\"three\"]")
      )
      const sandbox = yield* Sites.modifySite(fixture, "sandbox", { token_url: "https://op.example.com/token" })
      assert.strictEqual(
        sandbox,
        fixture.replace(
          "issuer = \"https://op.example.com\"\n",
          "issuer = \"https://op.example.com\"\ntoken_url = \"https://op.example.com/token\"\n"
        )
      )
      assertKept(fixture, sandbox, [])
      const missing = yield* failure(Sites.modifySite(fixture, "nope", { email: "x" }))
      assert.include(missing.message, "There is no site named \"nope\"; known sites: prod, ci, sandbox")
      // an empty value unsets the field
      assert.strictEqual(
        yield* Sites.modifySite(fixture, "ci", { certificate: "" }),
        fixture.replace("certificate = \"certs/ci.pem\"\n", "")
      )
      const conflict = yield* failure(Sites.modifySite(fixture, "prod", { email: "x" }, ["email"]))
      assert.include(conflict.message, "email cannot be both set and unset")
    }))

  it.effect("modifySite edits sites written with dotted keys, keeps CRLF, and refuses inline tables", () =>
    Effect.gen(function*() {
      const dotted = "# top\r\n[sites]\r\nprod.email = \"a@b\"  # e\r\n\r\n# end\r\n"
      const after = yield* Sites.modifySite(dotted, "prod", { api_url: "https://api.example" })
      assert.strictEqual(
        after,
        "# top\r\n[sites]\r\nprod.email = \"a@b\"  # e\r\nprod.api_url = \"https://api.example\"\r\n\r\n# end\r\n"
      )
      const root = yield* Sites.modifySite("sites.x.email = \"a@b\"", "x", { email: "c@d", api_url: "https://a.example" })
      assert.strictEqual(root, "sites.x.email = \"c@d\"\nsites.x.api_url = \"https://a.example\"\n")
      const inline = yield* failure(Sites.modifySite("[sites]\nprod = { email = \"a@b\" }\n", "prod", { email: "x" }))
      assert.include(inline.message, "inline table")
    }))

  it.effect("removeSite removes the table and its comment; the default needs a new default or force", () =>
    Effect.gen(function*() {
      const ci = yield* Sites.removeSite(fixture, "ci")
      assert.strictEqual(
        ci,
        fixture.replace(
          "# CI robot, uses a certificate\n[sites.ci]\nmethod = \"certificate\"\ncertificate = \"certs/ci.pem\"\nprivate_key = \"certs/ci.key\"\nscopes = [\n  \"one\",   # first\n  \"two\"\n]\n\n",
          ""
        )
      )
      const last = yield* Sites.removeSite(fixture, "sandbox")
      assert.isTrue(last.endsWith("  \"two\"\n]\n"))
      assertKept(fixture, last, [
        "[sites.sandbox]",
        "provider = \"oauth2\"",
        "client_id = \"sandbox-client\"",
        "issuer = \"https://op.example.com\"",
        "# trailing comment of the sandbox",
        ""
      ])
      const refused = yield* failure(Sites.removeSite(fixture, "prod"))
      assert.include(refused.message, "prod is the default site")
      assert.include(refused.message, "--new-default ci")
      assert.include(refused.message, "--force")
      const moved = yield* Sites.removeSite(fixture, "prod", { newDefault: "ci" })
      const movedConfig = yield* Sites.parse(moved, "c.toml")
      assert.deepStrictEqual(movedConfig.defaultSite, Option.some("ci"))
      assert.deepStrictEqual(movedConfig.sites.map((site) => site.name), ["ci", "sandbox"])
      assert.include(moved, "# effect-auth configuration\n# (hand-written, keep these comments)\ndefault_site = \"ci\"\n")
      const forced = yield* Sites.removeSite(fixture, "prod", { force: true })
      const forcedConfig = yield* Sites.parse(forced, "c.toml")
      assert.isTrue(Option.isNone(forcedConfig.defaultSite))
      assertKept(fixture, forced, [
        "default_site = \"prod\"",
        "# Production tenant",
        "[sites.prod]",
        "email = \"me@example.com\"   # my login",
        "  auth_url = \"https://auth.anaplan.com\"  # indented on purpose",
        ""
      ])
      const self = yield* failure(Sites.removeSite(fixture, "prod", { newDefault: "prod" }))
      assert.include(self.message, "cannot be prod")
    }))

  it.effect("removeSite of the last table in a file that starts with blank lines ends (found by the edit property)", () =>
    Effect.gen(function*() {
      const text = "\n[sites.a]\npassword = \"p\"\nmethod = \"basic\""
      const removed = yield* Sites.removeSite(text, "a", { force: true })
      assert.strictEqual(removed, "")
      const two = yield* Sites.removeSite("\n\n[sites.a]\nemail = \"a@x\"\n\n[sites.b]\nemail = \"b@x\"\n", "b")
      assert.strictEqual(two, "\n\n[sites.a]\nemail = \"a@x\"\n")
    }))

  it.effect("setDefault edits default_site in place, or adds it before the first statement", () =>
    Effect.gen(function*() {
      assert.strictEqual(
        yield* Sites.setDefault(fixture, "sandbox"),
        fixture.replace("default_site = \"prod\"", "default_site = \"sandbox\"")
      )
      assert.strictEqual(
        yield* Sites.setDefault("# head\n\n[sites.a]\nemail = \"x\"\n", "a"),
        "# head\n\ndefault_site = \"a\"\n\n[sites.a]\nemail = \"x\"\n"
      )
      assert.strictEqual(
        yield* Sites.setDefault("storage = \"file\"\n[sites.a]\n", "a"),
        "default_site = \"a\"\nstorage = \"file\"\n[sites.a]\n"
      )
      const unknown = yield* failure(Sites.setDefault(fixture, "nope"))
      assert.include(unknown.message, "known sites: prod, ci, sandbox")
    }))

  it.effect("edits refuse a file that does not parse", () =>
    Effect.gen(function*() {
      const error = yield* failure(Sites.addSite("[sites.a]\nemail = \n", "b", {}))
      assert.include(error.message, "cannot be edited while it has errors")
      assert.include(error.message, ":2:")
    }))

  it("diff shows the change with context and masks secrets", () => {
    const before = "a = \"1\"\nb = \"2\"\nc = \"3\"\npassword = \"old-secret\"\n"
    const after = "a = \"1\"\nb = \"two\"\nc = \"3\"\npassword = \"new-secret\"\nd = \"4\"\n"
    const text = Sites.diff(before, after)
    assert.strictEqual(
      text,
      [
        "@@ -1,4 +1,5 @@",
        " a = \"1\"",
        "-b = \"2\"",
        "+b = \"two\"",
        " c = \"3\"",
        "-password = \"********\"",
        "+password = \"********\"  # (secret changed)",
        "+d = \"4\"",
        ""
      ].join("\n")
    )
    assert.notInclude(text, "old-secret")
    assert.notInclude(text, "new-secret")
    assert.strictEqual(Sites.diff(before, before), "")
    // an unchanged secret is context, not a change
    assert.notInclude(Sites.diff(before, before.replace("\"2\"", "\"3\"")), "+password")
    const broken = Sites.diff("", "token = \"raw-token\nx")
    assert.notInclude(broken, "raw-token")
  })
})

describe("Sites.write", () => {
  it.scoped("creates directories 0700 and the file 0600, keeps an existing file's mode, leaves no temp file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = Path.join(dir, "a", "b", "config.toml")
      yield* Sites.write(file, "one\n")
      assert.strictEqual(Fs.readFileSync(file, "utf8"), "one\n")
      assert.strictEqual(mode(file), 0o600)
      assert.strictEqual(mode(Path.join(dir, "a")), 0o700)
      assert.strictEqual(mode(Path.join(dir, "a", "b")), 0o700)
      Fs.chmodSync(file, 0o644)
      yield* Sites.write(file, "two\n")
      assert.strictEqual(Fs.readFileSync(file, "utf8"), "two\n")
      assert.strictEqual(mode(file), 0o644)
      assert.deepStrictEqual(Fs.readdirSync(Path.join(dir, "a", "b")), ["config.toml"])
    }))

  it.scoped("writes through a symbolic link instead of replacing it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const real = Path.join(dir, "dotfiles", "config.toml")
      Fs.mkdirSync(Path.dirname(real))
      Fs.writeFileSync(real, "old\n", { mode: 0o640 })
      const link = Path.join(dir, "config.toml")
      Fs.symlinkSync(real, link)
      yield* Sites.write(link, "new\n")
      assert.isTrue(Fs.lstatSync(link).isSymbolicLink())
      assert.strictEqual(Fs.readFileSync(real, "utf8"), "new\n")
      assert.strictEqual(mode(real), 0o640)
    }))

  it.scoped("fails with InvalidConfiguration naming the path when it cannot write", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      Fs.writeFileSync(Path.join(dir, "file"), "")
      const error = yield* failure(Sites.write(Path.join(dir, "file", "config.toml"), "x"))
      assert.include(error.message, Path.join(dir, "file", "config.toml"))
      assert.include(error.message, "ENOTDIR")
    }))

  it.scoped("a reader in another process never sees a partly written file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = Path.join(dir, "config.toml")
      const a = `# ${"a".repeat(400_000)}\n`
      const b = `# ${"b".repeat(600_000)}\n`
      Fs.writeFileSync(file, a)
      Fs.writeFileSync(Path.join(dir, "a"), a)
      Fs.writeFileSync(Path.join(dir, "b"), b)
      const stop = Path.join(dir, "stop")
      const reader = ChildProcess.spawn(process.execPath, [
        "-e",
        `const fs = require("fs"); let reads = 0, torn = 0;
         const a = fs.readFileSync(${JSON.stringify(Path.join(dir, "a"))}, "utf8");
         const b = fs.readFileSync(${JSON.stringify(Path.join(dir, "b"))}, "utf8");
         process.stdout.write("ready\\n");
         while (!fs.existsSync(${JSON.stringify(stop)})) {
           let text; try { text = fs.readFileSync(${JSON.stringify(file)}, "utf8") } catch { torn++; continue }
           reads++; if (text !== a && text !== b) torn++
         }
         process.stdout.write(JSON.stringify({ reads, torn }))`
      ])
      let output = ""
      const ready = new Promise<void>((resolve) =>
        reader.stdout.on("data", (chunk) => {
          output += chunk
          if (output.startsWith("ready\n")) resolve()
        })
      )
      const done = new Promise<void>((resolve) => reader.on("exit", () => resolve()))
      yield* Effect.promise(() => ready)
      // at least 40 writes and at least half a second of them, so that the reader overlaps many
      const started = performance.now()
      let rounds = 0
      while (rounds < 40 || performance.now() - started < 500) {
        yield* Sites.write(file, rounds % 2 === 0 ? b : a)
        rounds++
      }
      Fs.writeFileSync(stop, "")
      yield* Effect.promise(() => done)
      const result: { reads: number; torn: number } = JSON.parse(output.slice("ready\n".length))
      // eslint-disable-next-line no-console -- the figure is part of the report
      console.log(`Sites.write: ${rounds} writes of 400-600 kB, concurrent reader: ${result.reads} reads, ${result.torn} torn`)
      // a plain fs.writeFile in place shows hundreds of torn reads in this harness
      assert.isAbove(result.reads, 10)
      assert.strictEqual(result.torn, 0)
    }))
})

describe("Sites properties", () => {
  const tomlish = FastCheck.array(
    FastCheck.oneof(
      FastCheck.constantFrom(
        "[sites.a]",
        "[sites.b]",
        "[[sites]]",
        "[sites]",
        "default_site = \"a\"",
        "default_site = 3",
        "email = \"x\"",
        "method = \"basic\"",
        "provider = \"nope\"",
        "scopes = [\"a\", 1]",
        "password = \"p\"",
        "sites = 1",
        "a.b.c = {x = 1}",
        "\"quoted key\" = 'v'",
        "x = \"\"\"\nmulti\n\"\"\"",
        "# comment",
        "",
        "= =",
        "[",
        "date = 1979-05-27T07:32:00Z",
        "__proto__ = \"x\"",
        "[sites.constructor]"
      ),
      FastCheck.string()
    ),
    { maxLength: 12 }
  ).map((lines) => lines.join("\n"))

  it.effect.prop(
    "parse of any text gives a configuration or InvalidConfiguration, never a defect",
    [FastCheck.oneof(FastCheck.string(), FastCheck.fullUnicodeString(), tomlish)],
    ([text]) =>
      Effect.gen(function*() {
        const result = yield* Effect.either(Sites.parse(text, "p.toml"))
        if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "InvalidConfiguration")
        else assert.isTrue(result.right.exists)
      }),
    { timeout: 180_000, fastCheck: { numRuns: 500 } }
  )

  const nasty = FastCheck.oneof(
    FastCheck.fullUnicodeString({ minLength: 1 }),
    FastCheck.stringOf(
      FastCheck.constantFrom("\"", "\\", "\n", "\r", "\t", "'", "\"\"\"", "é", "🙂", "\u0000", "\u007f", "#", "=", "[", "a"),
      { minLength: 1 }
    )
  )

  it.effect.prop(
    "addSite then parse returns the same values (quotes, backslashes, unicode, newlines)",
    { email: nasty, clientId: nasty, password: nasty, scopes: FastCheck.array(nasty, { maxLength: 4 }) },
    ({ clientId, email, password, scopes }) =>
      Effect.gen(function*() {
        const text = yield* Sites.addSite(fixture, "new", { email, client_id: clientId, password, scopes })
        const site = (yield* Sites.parse(text, "c.toml")).sites.find((candidate) => candidate.name === "new")!
        assert.strictEqual(Sites.text(site, "email"), email)
        assert.strictEqual(Sites.text(site, "client_id"), clientId)
        assert.strictEqual(secret(Sites.secret(site, "password")), password)
        assert.deepStrictEqual(Sites.list(site, "scopes"), scopes)
        assert.isTrue(text.startsWith(fixture))
      }),
    { timeout: 180_000, fastCheck: { numRuns: 200 } }
  )

  it.effect.prop(
    "modifySite then parse returns the new values and keeps every other line",
    { email: nasty, clientId: nasty, name: FastCheck.constantFrom("prod", "ci", "sandbox") },
    ({ clientId, email, name }) =>
      Effect.gen(function*() {
        const text = yield* Sites.modifySite(fixture, name, { email, client_id: clientId })
        const site = (yield* Sites.parse(text, "c.toml")).sites.find((candidate) => candidate.name === name)!
        assert.strictEqual(Sites.text(site, "email"), email)
        assert.strictEqual(Sites.text(site, "client_id"), clientId)
        assertKept(fixture, text, ["email = \"me@example.com\"   # my login", "client_id = \"sandbox-client\""])
      }),
    { timeout: 180_000, fastCheck: { numRuns: 200 } }
  )

  const prototypeName = FastCheck.oneof(
    FastCheck.constantFrom(
      "constructor",
      "toString",
      "__proto__",
      "hasOwnProperty",
      "valueOf",
      "isPrototypeOf",
      "__defineGetter__",
      "toLocaleString"
    ),
    FastCheck.stringMatching(/^[A-Za-z0-9_-]{1,12}$/)
  )

  it.effect.prop(
    "site names like Object.prototype's members are sites like any other: add, parse, resolve, modify, default, remove",
    { names: FastCheck.uniqueArray(prototypeName, { minLength: 1, maxLength: 4 }) },
    ({ names }) =>
      Effect.gen(function*() {
        let text = ""
        for (const name of names) text = yield* Sites.addSite(text, name, { email: `${name}@x` })
        text = yield* Sites.setDefault(text, names[0])
        const config = yield* Sites.parse(text, "c.toml")
        assert.deepStrictEqual(config.sites.map((site) => site.name), names)
        for (const name of names) {
          const site = yield* Sites.resolve(config, { site: name, env: {} })
          assert.strictEqual(Sites.text(site, "email"), `${name}@x`)
          assert.strictEqual(Sites.plan(Sites.providers, site).storeKey, `${name}/${name}@x`)
          // the environment and .env are read as own keys only
          const fromEnv = yield* Sites.resolve(config, { site: name, env: { [`EFFECT_AUTH_EMAIL`]: "env@x" }, dotenv: {} })
          assert.strictEqual(Sites.text(fromEnv, "email"), "env@x")
        }
        assert.strictEqual((yield* Sites.resolve(config, { env: {} })).name, names[0])
        const modified = yield* Sites.modifySite(text, names[0], { api_url: "https://api.example" })
        const site = (yield* Sites.parse(modified, "c.toml")).sites.find((candidate) => candidate.name === names[0])
        assert.strictEqual(site === undefined ? undefined : Sites.text(site, "api_url"), "https://api.example")
        const removed = yield* Sites.removeSite(modified, names[0], { force: true })
        assert.deepStrictEqual((yield* Sites.parse(removed, "c.toml")).sites.map((s) => s.name), names.slice(1))
        // a .env `__proto__` line is dropped (as dotenv does); other such names are plain keys
        const variables = Sites.parseDotEnv("__proto__=x\nconstructor=y\n")
        assert.deepStrictEqual(Object.entries(variables), [["constructor", "y"]])
        assert.isNull(Object.getPrototypeOf(variables))
      }),
    { timeout: 180_000, fastCheck: { numRuns: 100 } }
  )

  let editsSucceeded = 0
  const configish = FastCheck.array(
    FastCheck.constantFrom(
      "# comment",
      "",
      "   ",
      "[sites.a]",
      "[sites.b]  # b",
      "[ sites . \"a\" ]",
      "[sites]",
      "[other]",
      "default_site = \"a\"",
      "email = \"x\"",
      "  email = 'y'  # indented",
      "a.email = \"z\"",
      "sites.a.client_id = \"c\"",
      "sites.b = { email = \"w\" }",
      "scopes = [\n  \"a\", # one\n  \"b\"\n]",
      "token = \"\"\"\nmulti \\\"\"\"\nline\"\"\"",
      "password = '''\nraw\n'''",
      "storage = \"file\"\r",
      "x = 1979-05-27 07:32:00",
      "\"quoted.key\" = \"v\""
    ),
    { maxLength: 14 }
  ).map((lines) => lines.join("\n"))

  it.effect.prop(
    "edits of any text give a file that parses and says what was asked, or fail with InvalidConfiguration",
    [FastCheck.oneof(configish, configish, tomlish)],
    ([text]) =>
      Effect.gen(function*() {
        const table = (config: Sites.SitesConfig, name: string) => config.raw?.tables.get(name)
        const names = (config: Sites.SitesConfig) => config.sites.map((site) => site.name)
        const attempts: ReadonlyArray<
          readonly [Effect.Effect<string, InvalidConfiguration>, (config: Sites.SitesConfig) => void]
        > = [
          [Sites.addSite(text, "new", { email: "n@x", scopes: ["s"] }), (config) => {
            assert.strictEqual(table(config, "new")?.get("email"), "n@x")
            assert.deepStrictEqual(table(config, "new")?.get("scopes"), ["s"])
          }],
          [
            Sites.modifySite(text, "a", { email: "m@x", api_url: "https://a.example" }, ["scopes", "token"]),
            (config) => {
              assert.strictEqual(table(config, "a")?.get("email"), "m@x")
              assert.strictEqual(table(config, "a")?.get("api_url"), "https://a.example")
              assert.isUndefined(table(config, "a")?.get("scopes"))
              assert.isUndefined(table(config, "a")?.get("token"))
            }
          ],
          [Sites.modifySite(text, "b", { client_id: "id" }), (config) => {
            assert.strictEqual(table(config, "b")?.get("client_id"), "id")
          }],
          [Sites.removeSite(text, "a", { force: true }), (config) => {
            assert.notInclude(names(config), "a")
            assert.isFalse(Option.contains(config.defaultSite, "a"))
          }],
          [Sites.removeSite(text, "b", { newDefault: "a" }), (config) => {
            assert.notInclude(names(config), "b")
            assert.deepStrictEqual(config.defaultSite, Option.some("a"))
          }],
          [Sites.setDefault(text, "b"), (config) => {
            assert.deepStrictEqual(config.defaultSite, Option.some("b"))
          }]
        ]
        for (const [attempt, check] of attempts) {
          const result = yield* Effect.either(attempt)
          if (Either.isLeft(result)) {
            assert.strictEqual(result.left._tag, "InvalidConfiguration")
            continue
          }
          editsSucceeded++
          check(yield* Sites.parse(result.right, "c.toml"))
          assert.strictEqual(typeof Sites.diff(text, result.right), "string")
        }
      }),
    { timeout: 180_000, fastCheck: { numRuns: 400 } }
  )

  it("the edit property above exercised successful edits", () => {
    assert.isAbove(editsSucceeded, 100)
  })
})
