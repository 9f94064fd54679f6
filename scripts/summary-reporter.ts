/**
 * Prints one closing line, "tests on Node vX: N passed, N failed, N skipped", after vitest's own report, so that
 * CI logs carry a count, and the Node it ran on, that any reader (human or tool) can take at a glance. With
 * TEST_SUMMARY_FILE set (scripts/test.sh), it also appends "passed failed skipped" there, for the sum of passes.
 */
import * as fs from "node:fs"
import type { Reporter, TestModule } from "vitest/node"

export default class SummaryReporter implements Reporter {
  private counts = { passed: 0, failed: 0, skipped: 0 }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0
    let failed = unhandledErrors.length
    let skipped = 0
    for (const module of testModules) {
      // A file that failed to load or whose hooks failed counts as a failure even when it ran no test.
      if (module.state() === "failed" && [...module.children.allTests()].every((t) => t.result().state !== "failed")) failed++
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === "passed") passed++
        else if (state === "failed") failed++
        else skipped++
      }
    }
    this.counts = { passed, failed, skipped }
  }

  // Printed from onFinished, which runs after the default reporter's summary, so the line closes the log.
  onFinished(): void {
    const { failed, passed, skipped } = this.counts
    process.stdout.write(`\ntests on Node ${process.version}: ${passed} passed, ${failed} failed, ${skipped} skipped\n`)
    const file = process.env["TEST_SUMMARY_FILE"]
    if (file !== undefined) fs.appendFileSync(file, `${passed} ${failed} ${skipped}\n`)
  }
}
