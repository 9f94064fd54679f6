/**
 * Prints one closing line, "tests on Node vX: N passed, N failed, N skipped", after vitest's own report, so that
 * CI logs carry a count, and the Node it ran on, that any reader (human or tool) can take at a glance. With
 * TEST_SUMMARY_FILE set (scripts/test.sh), it also appends "passed failed skipped" there, for the sum of passes,
 * and each failure's file, name and first error line to TEST_FAILURES_FILE, which test.sh prints last: a CI log
 * that keeps only its tail still names what failed.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { Reporter, TestModule } from "vitest/node"

export default class SummaryReporter implements Reporter {
  private counts = { passed: 0, failed: 0, skipped: 0 }
  private failures: Array<string> = []

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0
    let failed = unhandledErrors.length
    let skipped = 0
    const failures = unhandledErrors.map((error) => `unhandled error: ${firstLine(error)}`)
    for (const module of testModules) {
      const tests = [...module.children.allTests()]
      // A file that failed to load or whose hooks failed counts as a failure even when it ran no test.
      if (module.state() === "failed" && tests.every((t) => t.result().state !== "failed")) {
        failed++
        failures.push(`${path.relative(process.cwd(), module.moduleId)}: ${firstLine(module.errors()[0])}`)
      }
      for (const test of tests) {
        const result = test.result()
        if (result.state === "passed") passed++
        else if (result.state === "failed") {
          failed++
          failures.push(`${path.relative(process.cwd(), module.moduleId)} > ${test.fullName}: ${firstLine(result.errors[0])}`)
        } else skipped++
      }
    }
    this.counts = { passed, failed, skipped }
    this.failures = failures
  }

  // Printed from onFinished, which runs after the default reporter's summary, so the line closes the log.
  onFinished(): void {
    const { failed, passed, skipped } = this.counts
    process.stdout.write(`\ntests on Node ${process.version}: ${passed} passed, ${failed} failed, ${skipped} skipped\n`)
    const file = process.env["TEST_SUMMARY_FILE"]
    if (file !== undefined) fs.appendFileSync(file, `${passed} ${failed} ${skipped}\n`)
    const failuresFile = process.env["TEST_FAILURES_FILE"]
    if (failuresFile !== undefined && this.failures.length > 0) {
      fs.appendFileSync(failuresFile, this.failures.map((line) => `Node ${process.version}: ${line}\n`).join(""))
    }
  }
}

const firstLine = (error: unknown): string => {
  const message = typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)
  return message.split("\n", 1)[0]!.slice(0, 300)
}
