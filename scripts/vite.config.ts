// For `npx vite-node --config scripts/vite.config.ts <script>`: scripts and benchmarks import the packages' sources.
import { defineConfig } from "vite"
import { alias } from "./vitest.shared.js"

export default defineConfig({ resolve: { alias } })
