/**
 * Child processes for the multi-process tests: `node --conditions=source --import tsx <fixture>`,
 * each bounded by a timeout and killed with the test's scope.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as esbuild from "esbuild"
import { type ChildProcess, spawn } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const here = Path.dirname(fileURLToPath(import.meta.url))

export const fixture = (name: string): string => Path.join(here, "..", "fixtures", name)

/**
 * Bundles a fixture with esbuild into `build/fixtures/` (native and CommonJS client libraries stay
 * external), so that sixteen children start in a fraction of a second each instead of compiling
 * TypeScript with tsx: the machine has two cores.
 */
export const bundle = (name: string): Effect.Effect<string> =>
  Effect.promise(() => {
    // One build per fixture per test file: concurrent builds would rewrite a file a child is loading.
    let built = bundles.get(name)
    if (built === undefined) {
      built = build(name)
      bundles.set(name, built)
    }
    return built
  })

const bundles = new Map<string, Promise<string>>()

const build = (name: string): Promise<string> =>
  (async () => {
    const outfile = Path.join(here, "..", "..", "build", "fixtures", name.replace(/\.ts$/, ".mjs"))
    await esbuild.build({
      entryPoints: [fixture(name)],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: ["source"],
      external: ["ioredis", "@napi-rs/keyring"],
      outfile,
      logLevel: "warning",
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" }
    })
    return outfile
  })()

export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface Running {
  readonly child: ChildProcess
  readonly exit: Effect.Effect<Finished>
  /** Resolves with the first stdout line matching `pattern`. */
  readonly line: (pattern: RegExp) => Effect.Effect<string>
}

/** Starts a fixture (a bundled `.mjs`, or a `.ts` run through tsx); the process is killed when the scope closes if still running. */
export const start = (
  script: string,
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string | undefined>; readonly command?: ReadonlyArray<string> } = {}
): Effect.Effect<Running, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const node = script.endsWith(".mjs")
        ? [process.execPath, script, ...args]
        : [process.execPath, "--conditions=source", "--import", "tsx", script, ...args]
      const argv = options.command === undefined ? node : [...options.command, ...node]
      const child = spawn(argv[0], argv.slice(1), {
        env: { ...process.env, ...options.env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = []
      child.stdout!.on("data", (chunk: Buffer) => {
        stdout += chunk.toString()
        for (const waiter of [...waiters]) {
          const found = stdout.split("\n").find((line) => waiter.pattern.test(line))
          if (found !== undefined) {
            waiters.splice(waiters.indexOf(waiter), 1)
            waiter.resolve(found)
          }
        }
      })
      child.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const exited = new Promise<Finished>((resolve) =>
        child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr }))
      )
      // Streams may still hold data at "exit"; "close" comes after them.
      const closed = new Promise<Finished>((resolve) =>
        child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
      )
      void exited
      return {
        child,
        exit: Effect.promise(() => closed),
        line: (pattern: RegExp) =>
          Effect.promise(() =>
            new Promise<string>((resolve) => {
              const found = stdout.split("\n").find((line) => pattern.test(line))
              if (found !== undefined) resolve(found)
              else waiters.push({ pattern, resolve })
            })
          )
      } satisfies Running
    }),
    ({ child }) =>
      Effect.sync(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      })
  )

/** Runs a fixture to completion within `timeoutMillis`; fails the test on timeout. */
export const run = (
  script: string,
  args: ReadonlyArray<string>,
  timeoutMillis: number,
  options: { readonly env?: Record<string, string | undefined>; readonly command?: ReadonlyArray<string> } = {}
): Effect.Effect<Finished, never, Scope.Scope> =>
  Effect.flatMap(start(script, args, options), (running) =>
    running.exit.pipe(
      Effect.timeoutFail({
        duration: timeoutMillis,
        onTimeout: () => new Error(`${Path.basename(script)} did not finish within ${timeoutMillis} ms`)
      }),
      Effect.orDie
    ))

/** The last stdout line that parses as JSON. */
export const result = <A>(finished: Finished): A => {
  const lines = finished.stdout.trim().split("\n").filter((line) => line.startsWith("{"))
  if (lines.length === 0) {
    throw new Error(`no result (exit ${finished.code ?? finished.signal}); stderr:\n${finished.stderr}`)
  }
  return JSON.parse(lines[lines.length - 1]) as A
}
