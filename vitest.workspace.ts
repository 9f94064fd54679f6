import { defineWorkspace } from "vitest/config"
import { alias } from "./scripts/vitest.shared.js"

// Unit projects need nothing but Node; the integration project boots a real Cassandra in its global setup.
export default defineWorkspace([
  "packages/protocol/vitest.config.ts",
  "packages/driver/vitest.config.ts",
  "packages/testing/vitest.config.ts",
  "packages/sql/vitest.config.ts",
  "packages/cli/vitest.config.ts",
  {
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
  }
])
