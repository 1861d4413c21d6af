/**
 * `npm run test:packaging`: the packages as a user gets them. Packs every workspace package (after
 * `npm run build`), installs the tarballs into a fresh project outside the repository (every
 * third-party package from the npm registry, as a user gets it) and checks, with plain `node`:
 *
 * - each tarball: LICENSE, README, description, keywords, repository, homepage; no build info; no
 *   `source` export condition and no scripts in its package.json; the npm pack sizes;
 * - `effect@4` next to `@effect-auth/core` is refused by npm (ERESOLVE), not broken at run time;
 * - `npm install` of `@effect-auth/anaplan` (with `@effect-auth/core`) installs Effect 3 as peers,
 *   one copy of `effect`, and no Redis client, keyring binding or `open`; without them storage
 *   `keyring` and `redis` fail naming the package to install and a login prints its URL;
 * - every entry point of every package imports with plain `node`, also under
 *   `--conditions=source`; the internals and the emulator's module path are not exported;
 * - the README snippets marked `<!-- checked by npm run test:packaging -->`, and a file importing
 *   every entry point, type-check with `tsc --strict --noEmit` under `moduleResolution` node16,
 *   nodenext and bundler;
 * - `npm install -g @effect-auth/cli` (into a temporary prefix) brings no Effect of its own and
 *   `effect-auth --version` works, as does `npx effect-auth --version` in the project;
 *   `effect-auth token` after a login prints the token, and its cache hit prints the same token
 *   from `bin.cjs` alone (the chunks moved away), with file storage and with the keyring;
 * - `npx @effect-auth/anaplan-emulator` runs the emulator; the global `effect-auth` logs in to it
 *   and prints `whoami` with file storage, with the system keyring (gnome-keyring under
 *   `dbus-run-session`) and with Redis (a `redis-server`); a library program logs in and prints
 *   `whoami`.
 *
 * Without a keyring or `redis-server` those two logins are skipped with a message, except under
 * `CI=true` where that is a failure. `--keep` keeps the temporary directory.
 */
import { spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-auth-packaging-"))
const keep = process.argv.includes("--keep")
const ci = process.env.CI === "true"
const started = Date.now()
const marker = "<!-- checked by npm run test:packaging -->"
const children = []

const log = (line) => process.stdout.write(`${line}\n`)
const step = (name) => log(`\n== ${name} (${Math.round((Date.now() - started) / 1000)} s)`)
const check = (ok, what) => {
  if (!ok) throw new Error(`FAILED: ${what}`)
  log(`ok  ${what}`)
}
const shown = (arg) => arg.startsWith(work) ? `$TMP${arg.slice(work.length)}` : /[\s"']/.test(arg) ? JSON.stringify(arg) : arg

// Nothing of the `npm run` that started us (npm_config_*, npm_package_*) leaks into the user's npm.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && !key.startsWith("EFFECT_AUTH_")))

const run = (cwd, command, args, options = {}) => {
  log(`$ ${[command, ...args].map(shown).join(" ")}`)
  const result = spawnSync(command, args, {
    cwd,
    env: { ...cleanEnv, ...options.env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeout ?? 300_000
  })
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`
  if (result.status !== 0 && options.allowFailure !== true) {
    throw new Error(`FAILED: ${command} ${args.join(" ")} exited ${result.status ?? result.signal}\n${output}`)
  }
  return { status: result.status, stdout: result.stdout ?? "", output }
}

const npm = (cwd, args, options) => run(cwd, "npm", [...args, "--no-audit", "--no-fund"], options)

const which = (program) => spawnSync("sh", ["-c", `command -v ${program}`], { encoding: "utf8" }).stdout.trim() || undefined

/** Whether a test needing `programs` runs: always under CI (missing is a failure), else when installed. */
const canRun = (what, programs) => {
  const missing = programs.filter((program) => which(program) === undefined)
  if (missing.length === 0) return true
  if (ci) throw new Error(`FAILED: ${what} needs ${missing.join(", ")} (apt-get install redis-server gnome-keyring dbus)`)
  log(`skip ${what}: ${missing.join(", ")} not installed`)
  return false
}

const freePort = () =>
  new Promise((resolve) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

/** Starts a long-running command in its own process group; resolves once stdout matches `ready`. */
const start = (cwd, command, args, ready) =>
  new Promise((resolve, reject) => {
    log(`$ ${[command, ...args].map(shown).join(" ")} &`)
    const child = spawn(command, args, { cwd, env: cleanEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] })
    children.push(child)
    let output = ""
    const timer = setTimeout(() => reject(new Error(`FAILED: ${command} did not start within 60 s:\n${output}`)), 60_000)
    const onData = (chunk) => {
      output += chunk
      const match = ready.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve({ child, output: () => output, match })
      }
    }
    child.stdout.setEncoding("utf8").on("data", onData)
    child.stderr.setEncoding("utf8").on("data", (chunk) => (output += chunk))
    child.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`FAILED: ${command} exited (${code}) before it was ready:\n${output}`))
    })
  })

const stopChildren = () => {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGTERM")
    } catch {
      // already gone
    }
  }
}

const quote = (arg) => `'${arg.replaceAll("'", "'\\''")}'`
const readJson = (file) => JSON.parse(Fs.readFileSync(file, "utf8"))
const writeJson = (file, value) => Fs.writeFileSync(file, JSON.stringify(value, null, 2) + "\n")
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} kB`

// ---------------------------------------------------------------------------------------------

const workspaces = readJson(Path.join(root, "package.json")).workspaces
const manifestOf = (dir) => {
  const saved = Path.join(root, dir, ".package.json.repo")
  return readJson(Fs.existsSync(saved) ? saved : Path.join(root, dir, "package.json"))
}
const manifests = workspaces.map((dir) => ({ dir, manifest: manifestOf(dir) }))
const tarball = (name) => Path.join(work, "packs", `${name.replace(/^@/, "").replace("/", "-")}-0.1.0.tgz`)

const packStep = () => {
  step("pack every package")
  for (const { dir } of manifests) {
    check(Fs.existsSync(Path.join(root, dir, "dist")), `${dir} is built (npm run build)`)
  }
  for (const { dir } of manifests) {
    // a pack that failed half-way (see scripts/manifest.mjs) left the shipped manifest in place
    const saved = Path.join(root, dir, ".package.json.repo")
    if (Fs.existsSync(saved)) Fs.renameSync(saved, Path.join(root, dir, "package.json"))
  }
  Fs.mkdirSync(Path.join(work, "packs"))
  const packed = JSON.parse(npm(root, ["pack", "--workspaces", "--pack-destination", Path.join(work, "packs"), "--json"]).stdout)
  log("")
  log("| package | packed | unpacked | files |")
  log("| --- | --- | --- | --- |")
  for (const entry of packed) log(`| ${entry.name} | ${kb(entry.size)} | ${kb(entry.unpackedSize)} | ${entry.entryCount} |`)
  log("")
  for (const { dir, manifest } of manifests) {
    const file = tarball(manifest.name)
    const files = run(root, "tar", ["-tzf", file]).stdout.split("\n").filter(Boolean)
    const shipped = JSON.parse(run(root, "tar", ["-xzOf", file, "package/package.json"]).stdout)
    const name = manifest.name
    check(["package/LICENSE", "package/README.md", "package/package.json"].every((f) => files.includes(f)), `${name}: LICENSE, README.md, package.json`)
    check(!files.some((f) => f.includes("tsbuildinfo")), `${name}: no build info`)
    check(!JSON.stringify(shipped.exports ?? {}).includes("\"source\""), `${name}: no source export condition`)
    check(shipped.scripts === undefined, `${name}: no scripts`)
    check(shipped.description?.length > 20 && shipped.keywords?.length > 0 && shipped.homepage && shipped.repository?.url, `${name}: description, keywords, homepage, repository`)
    check(Fs.existsSync(Path.join(root, dir, "package.json")) && !Fs.existsSync(Path.join(root, dir, ".package.json.repo")), `${name}: the repository's package.json is back after packing`)
  }
  const anaplan = JSON.parse(run(root, "tar", ["-xzOf", tarball("@effect-auth/anaplan"), "package/package.json"]).stdout)
  check(anaplan.bin === undefined, "@effect-auth/anaplan installs no binary (the emulator's is @effect-auth/anaplan-emulator)")
  const cliFiles = run(root, "tar", ["-tzf", tarball("@effect-auth/cli")]).stdout
  check(cliFiles.includes("package/dist/chunks/keyringHelper.cjs"), "@effect-auth/cli ships the keyring helper beside its bundle")
}

const effect4Step = () => {
  step("Effect 4 next to @effect-auth/core: npm refuses it")
  const dir = Path.join(work, "effect4")
  Fs.mkdirSync(dir)
  writeJson(Path.join(dir, "package.json"), { name: "effect4-app", version: "1.0.0", private: true, type: "module" })
  const result = npm(dir, ["install", "--dry-run", "effect@4", tarball("@effect-auth/core")], { allowFailure: true })
  check(result.status !== 0 && /ERESOLVE/.test(result.output) && /effect@"\^3/.test(result.output), "npm install effect@4 @effect-auth/core fails with ERESOLVE naming effect@^3")
}

const app = Path.join(work, "app")

const libraryStep = () => {
  step("npm install @effect-auth/anaplan in an empty project")
  Fs.mkdirSync(app)
  writeJson(Path.join(app, "package.json"), { name: "app", version: "1.0.0", private: true, type: "module" })
  npm(app, ["install", tarball("@effect-auth/anaplan"), tarball("@effect-auth/core")])
  const version = (pkg) => {
    const file = Path.join(app, "node_modules", pkg, "package.json")
    return Fs.existsSync(file) ? readJson(file).version : undefined
  }
  check(/^3\./.test(version("effect") ?? ""), `effect ${version("effect")} installed as a peer (3.x)`)
  check(version("@effect/platform") !== undefined && version("@effect/platform-node") !== undefined, `@effect/platform ${version("@effect/platform")} and @effect/platform-node ${version("@effect/platform-node")} installed as peers`)
  const copies = run(app, "npm", ["ls", "effect", "--all", "--parseable"]).stdout.split("\n").filter(Boolean)
  check(new Set(copies).size === 1, "one copy of effect in the tree")
  for (const absent of ["ioredis", "@napi-rs/keyring", "open", "@effect-auth/redis"]) {
    check(version(absent) === undefined, `${absent} not installed`)
  }
  Fs.writeFileSync(Path.join(app, "optional.mjs"), `
import { CredentialStorage, LoginAgent } from "@effect-auth/core"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { Duration, Effect, Layer } from "effect"

const failure = (options) =>
  Effect.runPromise(Layer.build(CredentialStorage.layer(options)).pipe(Effect.scoped, Effect.flip, Effect.map((e) => e.message)))
process.stdout.write("keyring: " + (await failure({ kind: "keyring" })) + "\\n")
process.stdout.write("redis: " + (await failure({ kind: "redis", redisUrl: "redis://127.0.0.1:6379" })) + "\\n")
let written = ""
const agent = await Effect.runPromise(
  LoginAgent.make({ openBrowser: true, write: (text) => Effect.sync(() => void (written += text)) }).pipe(Effect.provide(NodeTerminal.layer))
)
const prompt = { userCode: "WDJB-MJHT", verificationUri: "https://example.com/device", verificationUriComplete: "https://example.com/device?user_code=WDJB-MJHT", expiresIn: Duration.minutes(5) }
await Effect.runPromise(agent.device(prompt, Effect.succeed("confirmed")))
process.stdout.write("device login: " + JSON.stringify(written) + "\\n")
`)
  const out = run(app, "node", ["optional.mjs"]).stdout
  log(out.trimEnd())
  check(/keyring: .*@napi-rs\/keyring.*npm install @napi-rs\/keyring/.test(out), "storage keyring without @napi-rs/keyring: an error naming the package to install")
  check(/redis: .*@effect-auth\/redis.*npm install @effect-auth\/redis/.test(out), "storage redis without @effect-auth/redis: an error naming the package to install")
  check(out.includes("https://example.com/device") && out.includes("WDJB-MJHT"), "without open a login prints its URL and code")
}

const restStep = () => {
  step("the README's other lines: Redis, the optional peers, the emulator; the CLI, @effect/cli and TypeScript")
  npm(app, ["install", tarball("@effect-auth/redis")])
  npm(app, ["install", "@napi-rs/keyring@^1", "open"])
  npm(app, ["install", tarball("@effect-auth/anaplan-emulator")])
  // the CLI here too, for `npx effect-auth` and its embedding API (Cli.command, Cli.run)
  npm(app, ["install", tarball("@effect-auth/cli"), "@effect/cli@^0.77.2", "typescript@~5.9.3", "@types/node@^20.19.0"])
}

/** Every specifier the packages export, from their `exports` and their `dist` (what a user can import). */
const entryPoints = () => {
  const specifiers = []
  const blocked = []
  for (const { manifest } of manifests) {
    const dir = Path.join(app, "node_modules", manifest.name)
    const exports = readJson(Path.join(dir, "package.json")).exports ?? {}
    for (const [key, value] of Object.entries(exports)) {
      const name = key === "." ? manifest.name : `${manifest.name}${key.slice(1)}`
      if (value === null) {
        if (!key.includes("*")) blocked.push(name)
        continue
      }
      if (!value.default.endsWith(".js")) continue
      if (!key.includes("*")) {
        specifiers.push(name)
        continue
      }
      const folder = Path.dirname(Path.join(dir, value.default))
      for (const file of Fs.readdirSync(folder).filter((f) => f.endsWith(".js")).sort()) {
        const subpath = key.replace("*", file.replace(/\.js$/, ""))
        if (exports[subpath] !== undefined || file === "index.js") continue // named on its own (or blocked)
        specifiers.push(`${manifest.name}${subpath.slice(1)}`)
      }
    }
  }
  blocked.push("@effect-auth/core/internal/engine", "@effect-auth/anaplan/internal/certificates")
  return { specifiers, blocked }
}

const importStep = () => {
  step("import every entry point with plain node")
  const { blocked, specifiers } = entryPoints()
  log(specifiers.join(" "))
  const script = `
const specifiers = ${JSON.stringify(specifiers)}
for (const specifier of specifiers) {
  const module = await import(specifier)
  if (Object.keys(module).length === 0) throw new Error(specifier + " exports nothing")
}
const blocked = ${JSON.stringify(blocked)}
for (const specifier of blocked) {
  const error = await import(specifier).then(() => undefined, (e) => e)
  if (error?.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw new Error(specifier + " should not be exported: " + error)
}
process.stdout.write(specifiers.length + " entry points imported, " + blocked.length + " non-exported paths refused\\n")
`
  Fs.writeFileSync(Path.join(app, "imports.mjs"), script)
  log(run(app, "node", ["imports.mjs"]).stdout.trimEnd())
  check(true, `${specifiers.length} entry points import with plain node`)
  log(run(app, "node", ["--conditions=source", "imports.mjs"]).stdout.trimEnd())
  check(true, "and with node --conditions=source")
  const documented = new Set()
  for (const readme of readmes()) {
    for (const match of Fs.readFileSync(readme, "utf8").matchAll(/["'`](@effect-auth\/[a-z-]+(?:\/[A-Za-z]+)*)["'`]/g)) documented.add(match[1])
  }
  const missing = [...documented].filter((s) => !specifiers.includes(s) && !s.endsWith("anaplan-emulator"))
  check(missing.length === 0, `every entry point the READMEs name is among them${missing.length > 0 ? `: missing ${missing.join(", ")}` : ""}`)
  return specifiers
}

const readmes = () => [Path.join(root, "README.md"), ...workspaces.map((dir) => Path.join(root, dir, "README.md"))]

const typeStep = (specifiers) => {
  step("type-check the README snippets and every entry point: tsc --strict --noEmit")
  const src = Path.join(app, "src")
  Fs.mkdirSync(src)
  let count = 0
  for (const readme of readmes()) {
    const lines = Fs.readFileSync(readme, "utf8").split("\n")
    lines.forEach((line, i) => {
      if (line.trim() !== marker) return
      const end = lines.indexOf("```", i + 2)
      if (!lines[i + 1].startsWith("```ts") || end < 0) throw new Error(`FAILED: ${readme}:${i + 1}: the marker must precede a \`\`\`ts block`)
      count++
      const name = `${Path.relative(root, readme).replace(/[/.]/g, "_")}_${i + 1}.ts`
      Fs.writeFileSync(Path.join(src, name), `${lines.slice(i + 2, end).join("\n")}\nexport {}\n`)
    })
  }
  check(count >= 3, `${count} README snippets`)
  Fs.writeFileSync(
    Path.join(src, "entryPoints.ts"),
    specifiers.map((s, i) => `import * as M${i} from "${s}"`).join("\n") +
      `\nexport const modules = [${specifiers.map((_, i) => `M${i}`).join(", ")}]\n`
  )
  // Declaration files are checked (skipLibCheck off) once, under nodenext: that takes a minute
  // (all of Effect's); under node16 and bundler the app's imports resolve and type-check.
  const settings = {
    nodenext: { module: "nodenext", moduleResolution: "nodenext", skipLibCheck: false },
    node16: { module: "node16", moduleResolution: "node16", skipLibCheck: true },
    bundler: { module: "preserve", moduleResolution: "bundler", skipLibCheck: true }
  }
  for (const [name, resolution] of Object.entries(settings)) {
    writeJson(Path.join(app, `tsconfig.${name}.json`), {
      compilerOptions: { ...resolution, target: "ES2022", lib: ["ES2022"], types: ["node"], strict: true, noEmit: true },
      include: ["src"]
    })
    // Errors in other packages' declarations (Effect's want the DOM's Transferable, @types/ws)
    // are not ours.
    const result = run(app, "npx", ["tsc", "--strict", "--noEmit", "-p", `tsconfig.${name}.json`], { allowFailure: true })
    const errors = result.stdout.split("\n").filter((line) => /error TS\d+/.test(line))
    const ours = errors.filter((line) => line.startsWith("src/") || line.startsWith("node_modules/@effect-auth/"))
    if (ours.length > 0) log(ours.join("\n"))
    check(ours.length === 0 && (result.status === 0 || errors.length > 0), `tsc --strict --noEmit, moduleResolution ${name}: no error in our declarations or the app (${errors.length - ours.length} in other packages' declarations)`)
  }
}

const globalStep = () => {
  step("npm install -g @effect-auth/cli")
  const prefix = Path.join(work, "global")
  npm(work, ["install", "-g", "--prefix", prefix, tarball("@effect-auth/cli")])
  const installed = Path.join(prefix, "lib", "node_modules", "@effect-auth", "cli", "node_modules")
  const own = Fs.existsSync(installed) ? Fs.readdirSync(installed) : []
  check(!own.includes("effect") && !own.includes("@effect"), `the global CLI brings no Effect of its own (its node_modules: ${own.join(", ")})`)
  const version = run(work, Path.join(prefix, "bin", "effect-auth"), ["--version"]).stdout.trim()
  check(version === "0.1.0", `effect-auth --version: ${version}`)
  const local = run(app, "npx", ["effect-auth", "--version"]).stdout.trim()
  check(local === "0.1.0", `npx effect-auth --version in the project: ${local}`)
  return Path.join(prefix, "bin", "effect-auth")
}

const loginStep = async (effectAuth) => {
  step("npx @effect-auth/anaplan-emulator, then log in and whoami from the installed packages")
  const emulator = await start(app, "npx", ["anaplan-emulator", "--port", "0"], /listening on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*email:\s+(\S+)\s+password:\s+(\S+)/)
  const [, url, email, password] = emulator.match
  log(`emulator at ${url}, user ${email}`)

  Fs.writeFileSync(Path.join(app, "login.mjs"), loginProgram)
  const library = run(app, "node", ["login.mjs", url, email, password])
  log(library.stdout.trimEnd())
  check(library.stdout.includes(`whoami: ${email}`), "a library program logs in and prints whoami")

  const shell = (storage, extra, wrap = (command) => command) => {
    const home = Fs.mkdtempSync(Path.join(work, `home-${storage}-`))
    const env = { HOME: home, XDG_CONFIG_HOME: Path.join(home, "config"), XDG_STATE_HOME: Path.join(home, "state"), XDG_DATA_HOME: Path.join(home, "data") }
    const add = [effectAuth, "sites", "add", "emulator", "--provider", "anaplan", "--email", email, "--auth-url", url, "--api-url", url, "--storage", storage, "--yes"]
    const cli = (...args) => [effectAuth, ...args].map(quote).join(" ")
    // The first `token` runs the full command, which records where the token lives; the second is
    // the cache hit (file and keyring storage), which must answer from bin.cjs alone: with the
    // chunks moved away.
    const chunks = quote(Path.join(Fs.realpathSync(effectAuth), "..", "chunks"))
    const tokens = [
      `first=$(${cli("token")})`,
      `mv ${chunks} ${chunks}.away`,
      `{ second=$(${cli("token")}); code=$?; mv ${chunks}.away ${chunks}; [ $code = 0 ]; }`,
      `[ -n "$first" ] && [ "$first" = "$second" ] && echo "token: the cache hit printed the full command's token without the chunks"`
    ]
    const script = [add.map(quote).join(" "), ...extra, `EFFECT_AUTH_PASSWORD=${quote(password)} ${cli("login")}`, ...(storage === "redis" ? [] : tokens), cli("whoami"), cli("status")].join(" && ")
    const [command, ...args] = wrap(["sh", "-c", script])
    const result = run(home, command, args, { env })
    log(result.stdout.trimEnd())
    check(result.stdout.includes(email), `effect-auth login and whoami with storage ${storage}`)
    if (storage !== "redis") check(result.stdout.includes("token: the cache hit printed"), `effect-auth token with storage ${storage}: the cache hit (bin.cjs alone) prints the full command's token`)
    return result.stdout
  }
  shell("file", [])
  if (canRun("the keyring login", ["dbus-run-session", "gnome-keyring-daemon"])) {
    const out = shell("keyring", [], (command) => [
      "dbus-run-session", "--", "sh", "-c",
      "echo -n packaging-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec \"$@\"", "sh", ...command
    ])
    check(out.includes("system keyring"), "the stored login is in the system keyring")
  }
  if (canRun("the Redis login", ["redis-server"])) {
    const port = await freePort()
    await start(work, "redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], /Ready to accept connections/)
    const out = shell("redis", [`printf 'redis_url = "redis://127.0.0.1:${port}"\\n' >> "$XDG_CONFIG_HOME/effect-auth/config.toml"`])
    check(out.includes(`redis redis://127.0.0.1:${port}`), "the stored login is in Redis (the bundle's @effect-auth/redis, its ioredis)")
  }
}

const loginProgram = `
import { AnaplanAuth, AnaplanClient } from "@effect-auth/anaplan"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Redacted } from "effect"

const [url, email, password] = process.argv.slice(2)
const Auth = AnaplanAuth.layerBasic({ email, password: Redacted.make(password), authUrl: url })
const program = Effect.gen(function*() {
  const me = yield* AnaplanClient.currentUser
  process.stdout.write("whoami: " + me.email + "\\n")
})
await Effect.runPromise(program.pipe(
  Effect.provide(AnaplanClient.layer({ apiUrl: url }).pipe(Layer.provideMerge(Auth))),
  Effect.provide(NodeHttpClient.layerUndici)
))
`

try {
  packStep()
  effect4Step()
  libraryStep()
  restStep()
  const specifiers = importStep()
  typeStep(specifiers)
  const effectAuth = globalStep()
  await loginStep(effectAuth)
  log(`\npackaging test passed in ${Math.round((Date.now() - started) / 1000)} s`)
} catch (error) {
  process.stderr.write(`\n${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
} finally {
  stopChildren()
  if (keep) log(`kept ${work}`)
  else Fs.rmSync(work, { recursive: true, force: true })
}
