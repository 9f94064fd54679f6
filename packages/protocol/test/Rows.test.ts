import { addEqualityTesters, describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import type { DataType } from "../src/DataType.js"
import { native } from "../src/DataType.js"
import { ByteReader } from "../src/internal/reader.js"
import { ByteWriter } from "../src/internal/writer.js"
import { DecodeError, EncodeError } from "../src/ProtocolError.js"
import type { ColumnSpec, PreparedMetadata, RowsMetadata } from "../src/Rows.js"
import * as Rows from "../src/Rows.js"
import { dataType, sampleOf } from "./CodecArbitraries.js"

addEqualityTesters()

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex")
const str = (s: string) => {
  const b = Buffer.from(s, "utf8")
  return b.length.toString(16).padStart(4, "0") + b.toString("hex")
}
const col = (name: string, type: DataType = native.int, table = "t"): ColumnSpec => ({ keyspace: "ks", table, name, type })

const writeMeta = (m: RowsMetadata, version: 4 | 5) => {
  const w = new ByteWriter(8)
  Rows.writeRowsMetadata(w, m, version)
  return w.finish().toString("hex")
}
const readMeta = (bytes: string, version: 4 | 5) => {
  const r = new ByteReader(hex(bytes))
  const m = Rows.readRowsMetadata(r, version)
  r.expectEnd("metadata")
  return m
}

describe("Rows metadata (spec 4.2.5.2)", () => {
  const twoCols = [col("a"), col("b", native.varchar)]

  it("Global_tables_spec when all columns share a table", () => {
    const bytes = `00000001 00000002 ${str("ks")} ${str("t")} ${str("a")} 0009 ${str("b")} 000d`
    const m: RowsMetadata = { flags: 1, columnCount: 2, columns: twoCols, pagingState: undefined, newMetadataId: undefined }
    expect(writeMeta(m, 4)).toBe(hex(bytes).toString("hex"))
    expect(readMeta(bytes, 4)).toEqual(m)
  })

  it("a table spec per column otherwise", () => {
    const cols = [col("a"), col("b", native.int, "u")]
    const bytes = `00000000 00000002 ${str("ks")} ${str("t")} ${str("a")} 0009 ${str("ks")} ${str("u")} ${str("b")} 0009`
    const m: RowsMetadata = { flags: 0, columnCount: 2, columns: cols, pagingState: undefined, newMetadataId: undefined }
    expect(writeMeta(m, 5)).toBe(hex(bytes).toString("hex"))
    expect(readMeta(bytes, 5)).toEqual(m)
  })

  it("Has_more_pages with a paging state, and No_metadata", () => {
    const bytes = `00000006 00000002 00000003 aabbcc`
    const m: RowsMetadata = {
      flags: 6,
      columnCount: 2,
      columns: undefined,
      pagingState: hex("aabbcc"),
      newMetadataId: undefined
    }
    expect(writeMeta(m, 4)).toBe(bytes.replace(/\s/g, ""))
    expect(readMeta(bytes, 4)).toEqual(m)
  })

  it("v5 Metadata_changed: new_metadata_id after the paging state, before the columns", () => {
    const bytes = `0000000b 00000001 00000001 ff 0002 abcd ${str("ks")} ${str("t")} ${str("a")} 0009`
    const m: RowsMetadata = {
      flags: 0x0b,
      columnCount: 1,
      columns: [col("a")],
      pagingState: hex("ff"),
      newMetadataId: hex("abcd")
    }
    expect(writeMeta(m, 5)).toBe(hex(bytes).toString("hex"))
    expect(readMeta(bytes, 5)).toEqual(m)
    expect(() => readMeta(bytes, 4)).toThrow(/Metadata_changed in a v4 result/)
    expect(() => writeMeta(m, 4)).toThrow(EncodeError)
  })

  it("the paging state and metadata id are copies, not views of the frame", () => {
    const frame = hex(`0000000a 00000000 00000001 ff 0001 ab`)
    const m = Rows.readRowsMetadata(new ByteReader(frame), 5)
    frame.fill(0)
    expect(m.pagingState).toEqual(hex("ff"))
    expect(m.newMetadataId).toEqual(hex("ab"))
  })

  it("fails on hostile counts", () => {
    expect(() => readMeta("00000001 7fffffff 0002 6b73 0001 74", 4)).toThrow(/column count 2147483647 exceeds/)
    expect(() => readMeta("00000000 ffffffff", 4)).toThrow(/negative column count/)
    expect(() => readMeta("00000002 00000000 7ffffff0", 4)).toThrow(DecodeError)
  })
})

describe("Prepared metadata (spec 4.2.5.4)", () => {
  it("pk_indexes, byte by byte", () => {
    const bytes = `00000001 00000003 00000002 0002 0000 ${str("ks")} ${str("t")} ${str("a")} 0009 ${str("b")} 0009 ${str("c")} 000d`
    const m: PreparedMetadata = { flags: 1, columns: [col("a"), col("b"), col("c", native.varchar)], pkIndexes: [2, 0] }
    const w = new ByteWriter(8)
    Rows.writePreparedMetadata(w, m, 5)
    expect(w.finish().toString("hex")).toBe(hex(bytes).toString("hex"))
    const r = new ByteReader(hex(bytes))
    expect(Rows.readPreparedMetadata(r, 5)).toEqual(m)
    r.expectEnd("prepared metadata")
  })

  it("fails on a pk index past the bind markers and on hostile counts", () => {
    expect(() => Rows.readPreparedMetadata(new ByteReader(hex("00000001 00000001 00000001 0005")), 4)).toThrow(
      /partition key index 5 with 1 bind markers/
    )
    expect(() => Rows.readPreparedMetadata(new ByteReader(hex("00000000 00000000 7fffffff")), 4)).toThrow(
      /partition key index count/
    )
  })
})

describe("Rows", () => {
  const columns = [col("id"), col("name", native.varchar), col("tags", { kind: "list", element: native.varchar })]

  it("decodes rows to objects keyed by column name, byte by byte", () => {
    const good = `00000002 00000004 00000001 00000002 6869 00000004 00000000
      00000004 00000002 ffffffff 0000000d 00000001 00000005 7a7a7a7a7a`
    const r2 = new ByteReader(hex(good))
    expect(Rows.readRows(r2, columns)).toEqual([
      { id: 1, name: "hi", tags: [] },
      { id: 2, name: null, tags: ["zzzzz"] }
    ])
    r2.expectEnd("rows")
    const w = new ByteWriter(8)
    Rows.writeRows(w, columns, [
      { id: 1, name: "hi", tags: [] },
      { id: 2, tags: ["zzzzz"] }
    ])
    expect(w.finish().toString("hex")).toBe(hex(good).toString("hex"))
  })

  it("refuses row counts the bytes cannot hold, before allocating", () => {
    expect(() => Rows.readRows(new ByteReader(hex("7fffffff 00000000")), columns)).toThrow(/rows count 2147483647 does not fit/)
    expect(() => Rows.readRows(new ByteReader(hex("ffffffff")), columns)).toThrow(/rows count -1/)
    expect(() => Rows.readRows(new ByteReader(hex("00000005")), [])).toThrow(/rows count 5/)
    expect(Rows.readRows(new ByteReader(hex("00000000")), [])).toEqual([])
  })

  it("fails on a value past the end and on a row cut short", () => {
    const one = [col("a", native.varchar)]
    expect(() => Rows.readRows(new ByteReader(hex("00000001 00000009 6869")), one)).toThrow(/runs past the end/)
    expect(() => Rows.readRows(new ByteReader(hex("00000002 00000004 00000001 00000000 00000000")), [col("a"), col("b", native.blob)])).toThrow(
      /ends early/
    )
  })

  it("fails on a value length below -2", () => {
    expect(() => Rows.readRows(new ByteReader(hex("00000001 fffffffd")), [col("a")])).toThrow(/value length -3 in row 0/)
  })

  it("a column named __proto__ is an own property, not the prototype", () => {
    const rows = Rows.readRows(new ByteReader(hex("00000001 00000004 00000007")), [col("__proto__")])
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(rows[0], "__proto__")?.value).toBe(7)
  })

  it("writeRows names the row and column in errors", () => {
    const w = new ByteWriter(8)
    let err: unknown
    try {
      Rows.writeRows(w, columns, [{ id: 1 }, { id: 2, tags: ["a", 3] }])
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(EncodeError)
    expect((err as EncodeError).path).toBe("rows[1].tags[1]")
  })

  const table = fc
    .uniqueArray(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/), dataType(2)), {
      minLength: 1,
      maxLength: 6,
      selector: ([n]) => n
    })
    .chain((cols) => {
      const specs = cols.map(([name, type]) => col(name, type))
      const row = fc.tuple(
        ...specs.map((c) => fc.option(sampleOf(c.type), { nil: null, freq: 5 }))
      )
      return fc.tuple(fc.constant(specs), fc.array(row, { maxLength: 8 }))
    })

  it.prop("writeRows then readRows gives the rows back, for any columns", [table], ([[specs, rows]]) => {
    const toRow = (pick: "value" | "expected") => (r: ReadonlyArray<{ value: unknown; expected: unknown } | null>) =>
      Object.fromEntries(specs.map((c, i) => [c.name, r[i] === null ? null : r[i]![pick]]))
    const w = new ByteWriter(16)
    Rows.writeRowsMetadata(w, { flags: 0, columnCount: specs.length, columns: specs, pagingState: undefined, newMetadataId: undefined }, 5)
    Rows.writeRows(w, specs, rows.map(toRow("value")))
    const r = new ByteReader(w.finish())
    const meta = Rows.readRowsMetadata(r, 5)
    expect(meta.columns).toEqual(specs)
    expect(Rows.readRows(r, meta.columns!)).toEqual(rows.map(toRow("expected")))
    r.expectEnd("result")
  })
})
