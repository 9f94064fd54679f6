/**
 * Setup file of the unit projects: a process warning fails the test file that raised it. Node 24 warns where Node 20
 * stayed silent (a negative or NaN timer delay, which both then run after 1 ms) and npm test runs on both, so a
 * warning here is a bug of ours on either Node, not noise.
 */
import { afterAll, expect } from "vitest"

const warnings: Array<string> = []
process.on("warning", (w) => warnings.push(`${w.name}: ${w.message}`))

afterAll(() => {
  expect(warnings).toEqual([])
})
