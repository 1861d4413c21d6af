/**
 * The default site (issue 15.3): the first `sites add` makes it, so that a second site breaks no
 * command run without `--at`; `sites add --default` moves it; `status` and `sites list` mark it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Cli from "./support/cli.js"

describe("the default site", () => {
  it.scopedLive("the first site added is the default; --default moves it; status marks it", () =>
    Effect.gen(function*() {
      const home = yield* Cli.home
      const run = (args: ReadonlyArray<string>) => Cli.run(args, { env: home.env, timeoutMillis: 60_000 })
      const add = (name: string, ...extra: ReadonlyArray<string>) =>
        run(["sites", "add", name, "--email", `${name}@example.com`, "--storage", "file", "--yes", ...extra])

      const first = yield* add("one")
      assert.strictEqual(first.code, 0, first.stderr)
      assert.match(Fs.readFileSync(home.config, "utf8"), /^default_site = "one"\n/)
      const second = yield* add("two")
      assert.strictEqual(second.code, 0, second.stderr)
      assert.match(Fs.readFileSync(home.config, "utf8"), /^default_site = "one"\n/)
      // Without --at, commands still know which site to use.
      const show = yield* run(["sites", "show", "--json"])
      assert.strictEqual(show.code, 0, show.stderr)
      assert.strictEqual(JSON.parse(show.stdout).name, "one")

      const moved = yield* add("three", "--default")
      assert.strictEqual(moved.code, 0, moved.stderr)
      assert.match(Fs.readFileSync(home.config, "utf8"), /^default_site = "three"\n/)
      const list = yield* run(["sites", "list"])
      assert.match(list.stdout, /^\* three\b/m)
      assert.notMatch(list.stdout, /^\* (one|two)\b/m)
      const status = yield* run(["status", "--json"])
      const rows: ReadonlyArray<{ readonly site: string; readonly default: boolean }> = JSON.parse(status.stdout).sites
      assert.deepStrictEqual(rows.map((row) => [row.site, row.default]), [["one", false], ["two", false], ["three", true]])
      const table = yield* run(["status"])
      assert.match(table.stdout, /^\* three\b/m)
    }), { timeout: 300_000 })
})
