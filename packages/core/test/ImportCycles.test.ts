/**
 * No module of any package imports a value from a module that (directly or not) imports a value
 * from it: such a loop makes the order of module evaluation decide whether a class or tag is
 * defined yet. Type-only imports are erased and may loop. `dpdm` reads the imports the way the
 * TypeScript compiler does (`transform` drops the type-only ones).
 */
import { assert, describe, it } from "@effect/vitest"
import { parseCircular, parseDependencyTree } from "dpdm"
import * as Effect from "effect/Effect"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "../../..")

describe("imports", () => {
  it.live("no value import cycles in packages/*/src", () =>
    Effect.gen(function*() {
      const tree = yield* Effect.promise(() =>
        parseDependencyTree("packages/*/src/**/*.ts", {
          cwd: root,
          context: root,
          transform: true,
          skipDynamicImports: true,
          // another package's `dist` (reached through its package name) is not this check's business
          exclude: /node_modules|\/dist\//,
          tsconfig: Path.join(root, "tsconfig.base.json")
        })
      )
      const files = Object.keys(tree).filter((file) => file.startsWith("packages/"))
      assert.isAbove(files.length, 50, "the sources were found")
      const cycles = parseCircular(tree, true).map((cycle) => cycle.join(" -> "))
      assert.deepStrictEqual(cycles, [])
    }), 60_000)
})
