import { defineProject } from "vitest/config"
import { unitProject } from "../../scripts/vitest.shared.js"

export default defineProject(unitProject("cli"))
