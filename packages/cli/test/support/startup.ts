/**
 * Start-up budget of the bundled binary: `effect-auth --version` and `effect-auth token` (a fresh
 * token stored in a file) against `node -e 0`, interleaved runs, median wall time and median peak
 * RSS (GNU time), as ratios measured in one run.
 *
 *   node --conditions=source --import tsx packages/cli/test/support/startup.ts [RUNS]
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as AnaplanAuthServer from "@effect-auth/anaplan/testing"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Cli from "./cli.js"

const runs = Number(process.argv[2] ?? 21)

const hasGnuTime = Fs.existsSync("/usr/bin/time")

/** Wall millis and peak RSS (KiB, from GNU time when installed) of one run. */
const measure = (argv: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<{ millis: number; rssKiB: number | undefined; stdout: string }>((resume) => {
    const [file, args] = hasGnuTime ? ["/usr/bin/time", ["-f", "RSS %M", ...argv]] : [argv[0], argv.slice(1)]
    const started = process.hrtime.bigint()
    execFile(file, args, { env, encoding: "utf8" }, (error, stdout, stderr) => {
      const millis = Number(process.hrtime.bigint() - started) / 1e6
      if (error !== null) return resume(Effect.die(new Error(`${argv.join(" ")} failed: ${stderr}`)))
      const rss = /RSS (\d+)/.exec(stderr)
      resume(Effect.succeed({ millis, rssKiB: rss === null ? undefined : Number(rss[1]), stdout }))
    })
  })

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

const program = Effect.gen(function*() {
  const bin = yield* Cli.bundle
  const home = yield* Cli.home
  const server = yield* AnaplanAuthServer.make()
  Cli.writeConfig(
    home,
    `[sites.emu]\nprovider = "anaplan"\nemail = "demo@example.com"\nauth_url = "${server.url}"\napi_url = "${server.url}"\nstorage = "file"\n`
  )
  const login = yield* Cli.run(["login"], { env: { ...home.env, EFFECT_AUTH_PASSWORD: "demo-password" } })
  if (login.code !== 0) return yield* Effect.die(new Error(login.stderr))
  const commands = {
    "node -e 0": [process.execPath, "-e", "0"],
    "effect-auth --version": [process.execPath, bin, "--version"],
    "effect-auth token": [process.execPath, bin, "token"]
  } as const
  const samples: Record<string, Array<{ millis: number; rssKiB: number | undefined }>> = {}
  // One warm-up round, then interleaved rounds so that load on the machine hits all alike.
  for (let round = -1; round < runs; round++) {
    for (const [name, argv] of Object.entries(commands)) {
      const sample = yield* measure(argv, home.env)
      if (round >= 0) (samples[name] ??= []).push(sample)
    }
  }
  const before = yield* server.counters
  const base = samples["node -e 0"]
  const baseMillis = median(base.map((s) => s.millis))
  const baseRss = hasGnuTime ? median(base.map((s) => s.rssKiB ?? 0)) : undefined
  const dir = Path.dirname(bin)
  const bytes = (Fs.readdirSync(dir, { recursive: true, encoding: "utf8" }))
    .map((file) => Fs.statSync(Path.join(dir, file)))
    .filter((stat) => stat.isFile())
    .reduce((sum, stat) => sum + stat.size, 0)
  yield* Console.log(`${runs} interleaved runs each (binary: ${(bytes / 1024).toFixed(0)} KiB in ${dir}, entry and chunks)`)
  for (const [name, list] of Object.entries(samples)) {
    const millis = median(list.map((s) => s.millis))
    const rss = baseRss === undefined ? undefined : median(list.map((s) => s.rssKiB ?? 0))
    yield* Console.log(
      `${name.padEnd(22)} median ${millis.toFixed(1).padStart(6)} ms (x${(millis / baseMillis).toFixed(2)})` +
        (rss === undefined || baseRss === undefined
          ? ""
          : `  peak RSS ${(rss / 1024).toFixed(1).padStart(5)} MiB (x${(rss / baseRss).toFixed(2)})`)
    )
  }
  yield* Console.log(`logins during the token runs: ${before.authenticate - 1} (expected 0)`)
})

NodeRuntime.runMain(Effect.scoped(program).pipe(Effect.provide(NodeContext.layer)))
