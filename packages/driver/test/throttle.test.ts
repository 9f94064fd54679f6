import { describe, expect, it } from "vitest"
import type { ThrottleMetrics } from "../src/Metrics.js"
import { Throttle } from "../src/internal/request/throttle.js"
import { Waiting } from "../src/internal/request/waitingRequests.js"

const metrics: ThrottleMetrics = { queued: () => {}, rejected: () => {}, waited: () => {} }

describe("Throttle", () => {
  it("a long queue of requests that end at once (no host to send to) drains without growing the stack", () => {
    const t = new Throttle({ maxConcurrent: 1 }, metrics)
    expect(t.tryStart()).toBe(true)
    let started = 0
    const n = 100_000
    for (let i = 0; i < n; i++) {
      expect(t.tryStart()).toBe(false)
      // Each one fails as it starts, releasing its slot inside `start`.
      t.enqueue(() => {
        started++
        t.release()
      }, () => expect.fail("refused"), undefined)
    }
    t.release()
    expect(started).toBe(n)
    expect(t.tryStart()).toBe(true)
  })

  it("first in, first out; a removed entry is skipped; with no bound the queue takes 100,000", () => {
    const t = new Throttle({ maxConcurrent: 1 }, metrics)
    expect(t.tryStart()).toBe(true)
    const order: Array<number> = []
    const slots: Array<Waiting> = []
    for (let i = 0; i < 100_000; i++) {
      const waiting = new Waiting()
      slots.push(waiting)
      t.enqueue(() => order.push(i), () => expect.fail("refused"), waiting)
    }
    // The second request's fiber stops waiting.
    slots[1]!.abandon()
    for (let i = 0; i < 5; i++) t.release()
    expect(order).toEqual([0, 2, 3, 4, 5])
  })
})
