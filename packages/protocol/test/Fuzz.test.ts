import { describe, expect, it } from "@effect/vitest"
import { buildCorpus, describeInput, fuzz } from "../../../scripts/fuzz-decoder.js"

describe("fuzzing the inbound path (scripts/fuzz-decoder.ts, a smaller batch)", () => {
  it("the corpus covers every response and request kind in both versions", () => {
    const corpus = buildCorpus()
    const opcodes = (version: 4 | 5) => new Set(corpus.filter((s) => s.version === version).map((s) => s.envelope[4]))
    // Every opcode of spec section 2.4 but 0x04.
    const all = [0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10]
    expect([...opcodes(4)].sort((a, b) => a! - b!)).toEqual(all)
    expect([...opcodes(5)].sort((a, b) => a! - b!)).toEqual(all)
  })

  it("20,000 mutated inputs: no exception escapes, every valid input decodes, none is slow", () => {
    const r = fuzz({ count: 20_000, seed: 20_240_229, limitMs: 250 })
    expect(r.problems).toEqual([])
    expect(r.escaped).toBe(0)
    expect(r.validRejected).toBe(0)
    expect(r.hung).toBe(0)
    expect(r.slow).toBe(0)
    expect(r.inputs).toBe(20_000)
    expect(r.decoded + r.framingErrors + r.messageErrors).toBe(20_000)
    // The mix is not degenerate: inputs reach every outcome, so the checks above are not vacuous.
    expect(r.byStrategy.valid).toBeGreaterThan(500)
    expect(r.decoded).toBeGreaterThan(2_000)
    expect(r.framingErrors).toBeGreaterThan(2_000)
    expect(r.messageErrors).toBeGreaterThan(2_000)
    expect(r.messagesDecoded).toBeGreaterThan(r.decoded)
  })

  it("an input is reproducible from its seed and index", () => {
    expect(describeInput(7, 123)).toBe(describeInput(7, 123))
    expect(describeInput(7, 123)).not.toBe(describeInput(7, 124))
  })
})
