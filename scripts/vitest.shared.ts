import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { UserWorkspaceConfig } from "vitest/config"

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

/**
 * Tests import the packages' sources, so nothing has to be built before `vitest run`. A key also matches its
 * subpaths and the first match wins, so a subpath entry comes before its package's.
 */
export const alias = {
  "@effect-cql/protocol/internal": path.join(root, "packages/protocol/src/internal.ts"),
  "@effect-cql/protocol": path.join(root, "packages/protocol/src/index.ts"),
  "@effect-cql/driver": path.join(root, "packages/driver/src/index.ts"),
  "@effect-cql/testing": path.join(root, "packages/testing/src/index.ts"),
  "@effect-cql/sql": path.join(root, "packages/sql/src/index.ts")
}

/** A unit-test project: test/**, minus test/integration (those need Cassandra). */
export const unitProject = (name: string): UserWorkspaceConfig => ({
  resolve: { alias },
  test: {
    name,
    include: ["test/**/*.test.ts"],
    exclude: ["test/integration/**"],
    setupFiles: [path.join(root, "scripts/vitest-warnings.ts")],
    testTimeout: 30_000
  }
})
