/** The control connection's event debouncer, under TestClock. */
import { describe, expect, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Debouncer from "../src/internal/control/debouncer.js"

const setup = (window: Duration.DurationInput, maxWait: Duration.DurationInput, runFor = 0) =>
  Effect.gen(function* () {
    const batches: Array<ReadonlyArray<number>> = []
    const d = yield* Debouncer.make<number>({
      window,
      maxWait,
      run: (batch) => Effect.zipRight(Effect.sleep(runFor), Effect.sync(() => batches.push(batch)))
    })
    // Lets the loop fiber take what was offered and reach its next sleep.
    const settle = Effect.repeatN(Effect.yieldNow(), 10)
    const advance = (ms: number) => Effect.zipRight(TestClock.adjust(ms), settle)
    return { d, batches, settle, advance }
  })

describe("debouncer", () => {
  it.scoped("a burst gives one batch, once a whole window passed since its last item", () =>
    Effect.gen(function* () {
      const { advance, batches, d, settle } = yield* setup("1 second", "10 seconds")
      for (let i = 1; i <= 5; i++) d.offer(i)
      yield* settle
      yield* advance(600)
      d.offer(6)
      yield* settle
      // Not at 1 s: the window starts again with item 6 (at 600 ms).
      yield* advance(999)
      expect(batches).toEqual([])
      yield* advance(1)
      expect(batches).toEqual([[1, 2, 3, 4, 5, 6]])
      yield* advance(10_000)
      expect(batches).toHaveLength(1)
    }))

  it.scoped("a single item runs after one window", () =>
    Effect.gen(function* () {
      const { advance, batches, d, settle } = yield* setup("1 second", "10 seconds")
      d.offer(1)
      yield* settle
      yield* advance(999)
      expect(batches).toEqual([])
      yield* advance(1)
      expect(batches).toEqual([[1]])
    }))

  it.scoped("items that never stop still run a batch every maxWait", () =>
    Effect.gen(function* () {
      const { advance, batches, d, settle } = yield* setup("1 second", "3 seconds")
      let n = 0
      d.offer(n++)
      yield* settle
      for (let t = 0; t < 6; t++) {
        yield* advance(500)
        d.offer(n++)
        yield* settle
        yield* advance(500)
        d.offer(n++)
        yield* settle
      }
      // One item every 500 ms: each batch is cut 3 s after its first item (0..5 at 0..2.5 s, 6..11 at 3..5.5 s).
      expect(batches).toEqual([[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    }))

  it.scoped("items offered while a batch runs make the next batch", () =>
    Effect.gen(function* () {
      const { advance, batches, d, settle } = yield* setup("100 millis", "1 second", 500)
      d.offer(1)
      yield* settle
      yield* advance(100)
      // Running (500 ms): these wait for the next batch.
      d.offer(2)
      d.offer(3)
      yield* advance(500)
      expect(batches).toEqual([[1]])
      // The next batch starts as the first ends, runs 100 ms later and takes 500 ms.
      yield* advance(100)
      yield* advance(499)
      expect(batches).toEqual([[1]])
      yield* advance(1)
      expect(batches).toEqual([[1], [2, 3]])
    }))
})
