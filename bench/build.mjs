// Bundles the orchestrator and the JavaScript runners into bench/.build/*.mjs with esbuild, straight from the
// TypeScript sources (@effect-cql/* through the root tsconfig's paths): the measured processes then run under
// Node's own loader (vite-node's per-module transform would slow the hot code) and need no `npm run build`.
// npm packages stay external and load from node_modules as in an application.
import * as esbuild from "esbuild"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const bench = path.dirname(fileURLToPath(import.meta.url))
const entries = ["run", "stub-target", "lookups", "runners/raw", "runners/datastax", "runners/effect-cql", "chaos/run", "chaos/effect-cql", "chaos/datastax", "burst", "copy"]

await esbuild.build({
  entryPoints: entries.map((e) => ({ in: path.join(bench, `${e}.ts`), out: e })),
  outdir: path.join(bench, ".build"),
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  tsconfig: path.join(bench, "../tsconfig.json"),
  logLevel: "warning"
})
