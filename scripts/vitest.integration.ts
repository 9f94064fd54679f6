import { defineProject } from "vitest/config"
import { alias, repoRoot } from "./vitest.shared.js"

// Every test here runs against a real Cassandra 5.0, which the global setup starts when none answers.
export default defineProject({
  root: repoRoot,
  resolve: { alias },
  test: {
    name: "integration",
    include: ["packages/*/test/integration/**/*.test.ts"],
    globalSetup: ["scripts/vitest-cassandra.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // One file at a time: the files share one Cassandra and two cores.
    poolOptions: { forks: { singleFork: true } }
  }
})
