import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["source"] },
  // the test runner resolves in its SSR environment: without this, the packages' own imports of
  // each other would load their built `dist` (stale until a build) instead of their sources
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    name: "core",
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
