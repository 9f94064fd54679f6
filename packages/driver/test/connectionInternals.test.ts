import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { Deadlines } from "../src/internal/connection/deadlines.js"
import { MAX_STREAM_IDS, StreamIds } from "../src/internal/connection/streamIds.js"

describe("StreamIds", () => {
  it("hands out every id once, then -1; a released id comes back first", () => {
    const ids = new StreamIds(MAX_STREAM_IDS)
    const seen = new Set<number>()
    for (let i = 0; i < MAX_STREAM_IDS; i++) seen.add(ids.acquire())
    expect(seen.size).toBe(MAX_STREAM_IDS)
    expect(Math.min(...seen)).toBe(0)
    expect(Math.max(...seen)).toBe(MAX_STREAM_IDS - 1)
    expect(ids.acquire()).toBe(-1)
    expect(ids.used).toBe(MAX_STREAM_IDS)
    ids.release(1234)
    expect(ids.used).toBe(MAX_STREAM_IDS - 1)
    expect(ids.acquire()).toBe(1234)
  })

  it("rejects capacities the protocol cannot carry", () => {
    for (const n of [0, -1, 2.5, MAX_STREAM_IDS + 1]) expect(() => new StreamIds(n)).toThrow(RangeError)
  })
})

/** White-box: every parent's deadline is at most its children's. */
const heapOrdered = (d: Deadlines): boolean => {
  const { heap, at } = d as unknown as { heap: Int32Array; at: Float64Array }
  for (let i = 1; i < d.size; i++) if (at[heap[(i - 1) >> 1]!]! > at[heap[i]!]!) return false
  return true
}

type Op = { readonly add: true; readonly id: number; readonly at: number } | { readonly add: false; readonly id: number }

describe("Deadlines", () => {
  it.prop("after any adds and removes the heap stays ordered, and draining the earliest gives the deadlines in order", [
    fc.array(
      fc.oneof(
        fc.record({ add: fc.constant(true as const), id: fc.nat(15), at: fc.integer({ min: 0, max: 1000 }) }),
        fc.record({ add: fc.constant(false as const), id: fc.nat(15) })
      ),
      { maxLength: 300 }
    )
  ], ([ops]) => {
    const d = new Deadlines(16)
    const model = new Map<number, number>()
    for (const op of ops as ReadonlyArray<Op>) {
      if (op.add) {
        if (model.has(op.id)) continue // an id has at most one deadline
        d.add(op.id, op.at)
        model.set(op.id, op.at)
      } else {
        d.remove(op.id)
        model.delete(op.id)
      }
      expect(heapOrdered(d)).toBe(true)
      expect(d.size).toBe(model.size)
      expect(d.earliest).toBe(model.size === 0 ? Infinity : Math.min(...model.values()))
    }
    const drained: Array<number> = []
    while (d.size > 0) {
      const id = d.first
      drained.push(model.get(id)!)
      d.remove(id)
    }
    expect(drained).toEqual([...model.values()].sort((a, b) => a - b))
  }, { fastCheck: { numRuns: 500 } })
})
