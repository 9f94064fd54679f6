/**
 * Prints one closing line, "tests: N passed, N failed, N skipped", after vitest's own report, so that CI logs
 * carry a count that any reader (human or tool) can take at a glance.
 */
import type { Reporter, TestModule } from "vitest/node"

export default class SummaryReporter implements Reporter {
  private line = ""

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
    this.line = `tests: ${passed} passed, ${failed} failed, ${skipped} skipped`
  }

  // Printed from onFinished, which runs after the default reporter's summary, so the line closes the log.
  onFinished(): void {
    process.stdout.write(`\n${this.line}\n`)
  }
}
