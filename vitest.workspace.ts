import { defineWorkspace } from "vitest/config"

// Unit projects need nothing but Node; the integration project boots a real Cassandra in its global setup.
export default defineWorkspace([
  "packages/protocol/vitest.config.ts",
  "packages/driver/vitest.config.ts",
  "packages/testing/vitest.config.ts",
  "scripts/vitest.integration.ts"
])
