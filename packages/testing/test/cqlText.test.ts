import { describe, expect, it } from "@effect/vitest"
import { markerBindings, parseSelect, parseUse, targetOf, tokenize } from "../src/internal/cqlText.js"

const tokens = (q: string) => {
  const t = tokenize(q)
  if (t === undefined) throw new Error(`cannot tokenize ${q}`)
  return t
}

describe("the stub's CQL reading", () => {
  it("tokenizes strings with doubled quotes, quoted identifiers, comments, named markers", () => {
    const t = tokens(`SELECT "Weird""Name" FROM ks.t -- a comment ?\nWHERE a = 'it''s ?' AND b = :bee AND c = ? AND d = -1.5e3`)
    expect(t.filter((x) => x.kind === "marker")).toEqual([
      { kind: "marker", index: 0, name: "bee" },
      { kind: "marker", index: 1, name: undefined }
    ])
    expect(t).toContainEqual({ kind: "ident", text: 'Weird"Name', quoted: true })
    expect(t).toContainEqual({ kind: "string", text: "it's ?" })
    expect(t).toContainEqual({ kind: "number", text: "-1.5e3" })
    expect(tokenize("SELECT 'open")).toBeUndefined()
  })

  it("finds the target table of each kind of statement", () => {
    expect(targetOf(tokens("SELECT a FROM ks.t WHERE k = 1"))).toEqual({ keyspace: "ks", table: "t" })
    expect(targetOf(tokens(`INSERT INTO "Ks"."T" (a) VALUES (1)`))).toEqual({ keyspace: "Ks", table: "T" })
    expect(targetOf(tokens("UPDATE t USING TTL 5 SET a = 1 WHERE k = 2"))).toEqual({ keyspace: undefined, table: "t" })
    expect(targetOf(tokens("DELETE a FROM ks.t WHERE k = 2"))).toEqual({ keyspace: "ks", table: "t" })
    expect(targetOf(tokens("TRUNCATE t"))).toBeUndefined()
  })

  it("binds markers to columns as Cassandra names them", () => {
    expect(markerBindings(tokens("INSERT INTO t (a, b, c) VALUES (?, fromJson(?), ?) USING TTL ? AND TIMESTAMP ?"))).toEqual([
      { kind: "column", column: "a", list: false },
      { kind: "unknown" },
      { kind: "column", column: "c", list: false },
      { kind: "special", name: "[ttl]" },
      { kind: "special", name: "[timestamp]" }
    ])
    expect(markerBindings(tokens("UPDATE t SET s = s + ?, n = ? WHERE k IN (?, ?) AND c >= ? AND m CONTAINS KEY ?"))).toEqual([
      { kind: "column", column: "s", list: false },
      { kind: "column", column: "n", list: false },
      { kind: "column", column: "k", list: false },
      { kind: "column", column: "k", list: false },
      { kind: "column", column: "c", list: false },
      { kind: "column", column: "m", list: false }
    ])
    expect(markerBindings(tokens("SELECT * FROM t WHERE k IN ? AND token(k) > ? LIMIT ?"))).toEqual([
      { kind: "column", column: "k", list: true },
      { kind: "unknown" },
      { kind: "special", name: "[limit]" }
    ])
  })

  it("parses the SELECTs the system tables answer, and nothing more", () => {
    expect(parseSelect(tokens("SELECT * FROM system.local WHERE key='local'"))).toEqual({
      columns: undefined,
      target: { keyspace: "system", table: "local" },
      where: [{ column: "key", values: [{ literal: "local" }] }]
    })
    expect(parseSelect(tokens("select a, b from system_schema.tables where keyspace_name in ('x', ?) and table_name = ? allow filtering;"))).toEqual({
      columns: ["a", "b"],
      target: { keyspace: "system_schema", table: "tables" },
      where: [
        { column: "keyspace_name", values: [{ literal: "x" }, { marker: 0 }] },
        { column: "table_name", values: [{ marker: 1 }] }
      ]
    })
    expect(parseSelect(tokens("SELECT count(*) FROM system.peers"))).toBeUndefined()
    expect(parseSelect(tokens("SELECT a FROM t WHERE b > 1"))).toBeUndefined()
    expect(parseSelect(tokens("SELECT a FROM t ORDER BY a"))).toBeUndefined()
    expect(parseUse(tokens(`USE "MyKs";`))).toBe("MyKs")
    expect(parseUse(tokens("USE ks extra"))).toBeUndefined()
  })
})
