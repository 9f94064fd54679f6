import { describe, expect, it } from "vitest"
import type { PreparedStatement } from "../src/Registry.js"
import * as RegistryStore from "../src/internal/request/registryStore.js"

const statement = (query: string, keyspace = "ks", id = query): PreparedStatement => ({
  query,
  keyspace,
  id: Buffer.from(id),
  resultMetadataId: undefined,
  bindColumns: [],
  bindTypes: [],
  pkIndexes: [],
  resultColumns: []
})

describe("the prepared-statement registry is bounded", () => {
  it("past maxPrepared the least recently used statement goes, with its id and its hosts", () => {
    let evicted = 0
    const r = RegistryStore.make({ maxPrepared: 3, onEvict: () => evicted++ })
    for (const q of ["a", "b", "c"]) {
      r.putPrepared(statement(q))
      r.markPreparedOn("h1", "ks", q)
    }
    // "a" and "c" are used since; "b" is not.
    r.getPrepared("ks", "a")
    r.getPrepared("ks", "c")
    r.putPrepared(statement("d"))
    expect(r.preparedCount()).toBe(3)
    expect(evicted).toBe(1)
    expect(r.getPrepared("ks", "b")).toBeUndefined()
    expect(r.findPreparedById(Buffer.from("b"))).toBeUndefined()
    expect(r.isPreparedOn("h1", "ks", "b")).toBe(false)
    expect(r.allPrepared().map((s) => s.query).sort()).toEqual(["a", "c", "d"])
    expect(r.isPreparedOn("h1", "ks", "a")).toBe(true)
  })

  it("with every statement used, the one used longest ago goes", () => {
    let evicted = 0
    const r = RegistryStore.make({ maxPrepared: 2, onEvict: () => evicted++ })
    r.putPrepared(statement("a"))
    r.putPrepared(statement("b"))
    r.getPrepared("ks", "b")
    r.getPrepared("ks", "a")
    r.putPrepared(statement("c"))
    expect(evicted).toBe(1)
    expect(r.allPrepared().map((s) => s.query).sort()).toEqual(["a", "c"])
  })

  it("a statement prepared again (new id, new metadata) replaces its entry and keeps its hosts", () => {
    const r = RegistryStore.make({ maxPrepared: 2 })
    r.putPrepared(statement("a"))
    r.markPreparedOn("h1", "ks", "a")
    r.putPrepared(statement("a", "ks", "a2"))
    expect(r.preparedCount()).toBe(1)
    expect(r.getPrepared("ks", "a")?.id.toString()).toBe("a2")
    expect(r.isPreparedOn("h1", "ks", "a")).toBe(true)
    // The same text in another keyspace is another statement.
    r.putPrepared(statement("a", "other"))
    expect(r.preparedCount()).toBe(2)
  })

  it("10,000 distinct query texts through a registry of 100 keep it at 100", () => {
    let evicted = 0
    const r = RegistryStore.make({ maxPrepared: 100, onEvict: () => evicted++ })
    for (let i = 0; i < 10_000; i++) {
      r.putPrepared(statement(`SELECT ${i}`))
      r.getPrepared("ks", "SELECT 0")
    }
    expect(r.preparedCount()).toBe(100)
    expect(evicted).toBe(9_900)
    // Used on every round, it never left.
    expect(r.getPrepared("ks", "SELECT 0")).toBeDefined()
  })

  it("a size that is not a positive integer is refused", () => {
    expect(() => RegistryStore.make({ maxPrepared: 0 })).toThrow(RangeError)
  })
})
