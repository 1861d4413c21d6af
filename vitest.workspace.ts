/**
 * The test projects: one per package (each `packages/<name>/vitest.config.ts` names its project)
 * and the examples. The root `vitest.config.ts` runs them as its `test.projects`
 * (`npx vitest run --project core` for one).
 */
import type { TestProjectConfiguration } from "vitest/config"

const projects: Array<TestProjectConfiguration> = [
  "packages/core/vitest.config.ts",
  "packages/redis/vitest.config.ts",
  "packages/anaplan/vitest.config.ts",
  "packages/cli/vitest.config.ts",
  "examples/vitest.config.ts"
]

export default projects
