import { describe, expect, it } from "@effect/vitest"
import { DataType } from "@effect-cql/protocol"
import { CsvReader, formatRecord } from "../src/Csv.js"
import { split } from "../src/Input.js"
import { expanded, jsonRows, table } from "../src/ResultFormat.js"

describe("statements are cut at ; outside strings and comments", () => {
  it("multi-line statements, shell commands ending at their line, line numbers", () => {
    const { pieces, rest } = split("SELECT 'a;b'\n  FROM t; -- c;\nCONSISTENCY ONE\n/* x; */ INSERT INTO t (a) VALUES ($$;$$);\nSELECT")
    expect(pieces).toEqual([
      { text: "SELECT 'a;b'\n  FROM t", line: 1 },
      { text: "CONSISTENCY ONE", line: 3 },
      { text: "INSERT INTO t (a) VALUES ($$;$$)", line: 4 }
    ])
    expect(rest).toBe("SELECT")
    expect(split("SELECT 1", true).pieces).toEqual([{ text: "SELECT 1", line: 1 }])
    expect(split("describe keyspaces;\n").pieces).toEqual([{ text: "describe keyspaces", line: 1 }])
    expect(split("COPY t TO 'a;b' WITH HEADER = true; SELECT 1;").pieces.map((p) => p.text)).toEqual([
      "COPY t TO 'a;b' WITH HEADER = true",
      "SELECT 1"
    ])
  })
})

describe("CSV", () => {
  it("quotes what needs quoting; null is an empty field, the empty string a quoted one", () => {
    expect(formatRecord(["a", "b,c", 'd"e', null, "", " f"])).toBe('a,"b,c","d""e",,""," f"')
  })

  it("reads records split anywhere across chunks, with their first line and raw text", () => {
    const text = 'id,v\n1,"multi\nline"\r\n2,,""\n3,x'
    for (let cut = 0; cut <= text.length; cut++) {
      const r = new CsvReader()
      const records = [...r.push(text.slice(0, cut)), ...r.push(text.slice(cut)), ...r.end()]
      expect(records.map((x) => x.line)).toEqual([1, 2, 4, 5])
      expect(records[1]!.fields).toEqual([{ text: "1", quoted: false }, { text: "multi\nline", quoted: true }])
      expect(records[2]!.fields).toEqual([{ text: "2", quoted: false }, { text: "", quoted: false }, { text: "", quoted: true }])
      expect(records[3]!.raw).toBe("3,x")
    }
  })
})

describe("result layout", () => {
  const columns = [
    { keyspace: "ks", table: "t", name: "id", type: DataType.native.int },
    { keyspace: "ks", table: "t", name: "name", type: DataType.native.varchar }
  ]
  const rows = [{ id: 1, name: "Ada" }, { id: 10, name: null }]

  it("an aligned table: headers left, values right", () => {
    expect(table(rows, columns)).toBe(" id | name\n----+------\n  1 |  Ada\n 10 | null\n")
  })

  it("expanded rows", () => {
    expect(expanded(rows.slice(0, 1), columns)).toBe("@ Row 1\n------+-----\n id   | 1\n name | Ada\n")
  })

  it("JSON Lines", () => {
    expect(jsonRows(rows, columns)).toBe('{"id": 1, "name": "Ada"}\n{"id": 10, "name": null}\n')
  })
})
