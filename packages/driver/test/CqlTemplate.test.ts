import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { cql, CqlTemplate } from "../src/index.js"

const hostile = [
  "'; DROP TABLE app.users; --",
  `"quoted" and 'single' and \\backslash`,
  "ünïcödé ✓ 日本 🚀",
  "nul\u0000inside",
  "?",
  "$$ body $$",
  "/* comment */ -- line"
]

describe("cql template", () => {
  it("each value becomes a ? marker and a positional parameter, in order", () => {
    const s = cql`SELECT name FROM app.users WHERE id = ${42} AND region = ${"eu"}`
    expect(s.query).toBe("SELECT name FROM app.users WHERE id = ? AND region = ?")
    expect(s.params).toEqual([42, "eu"])
    expect(CqlTemplate.isFragment(s)).toBe(true)
  })

  it("hostile strings are bound, never spliced into the text", () => {
    for (const h of hostile) {
      const s = cql`INSERT INTO app.notes (id, body) VALUES (${1}, ${h})`
      expect(s.query).toBe("INSERT INTO app.notes (id, body) VALUES (?, ?)")
      expect(s.params).toEqual([1, h])
    }
  })

  it.prop("whatever the values, the text is the template's own parts and one ? per value", [fc.array(fc.anything())], ([vs]) => {
    const strings = Object.assign(["A", ...vs.map(() => "B")], { raw: [] as Array<string> }) as unknown as TemplateStringsArray
    const s = cql(strings, ...vs)
    expect(s.query).toBe("A" + "?B".repeat(vs.length))
    expect(s.params).toEqual(vs)
  })

  it("a fragment inside another brings its text and values along in order", () => {
    const byRegion = cql`region = ${"eu"} AND tier IN ${cql.in(["gold", "silver"])}`
    const s = cql`SELECT * FROM ${cql.id("app", "users")} WHERE org = ${7} AND ${byRegion} LIMIT ${10}`
    expect(s.query).toBe(`SELECT * FROM "app"."users" WHERE org = ? AND region = ? AND tier IN (?, ?) LIMIT ?`)
    expect(s.params).toEqual([7, "eu", "gold", "silver", 10])
  })

  it("cql.in: one marker per value, and () for none", () => {
    expect(cql.in(new Set([1, 2, 3]))).toMatchObject({ query: "(?, ?, ?)", params: [1, 2, 3] })
    expect(cql.in([])).toMatchObject({ query: "()", params: [] })
    // An array interpolated as a value is one value (a list), not an IN list.
    expect(cql`UPDATE t SET tags = ${["a", "b"]}`).toMatchObject({ query: "UPDATE t SET tags = ?", params: [["a", "b"]] })
  })

  it("cql.id quotes and doubles the quotes inside, so a hostile name stays one identifier", () => {
    expect(cql.id("Users").query).toBe(`"Users"`)
    expect(cql.id(`we"ird'; DROP TABLE x; --`).query).toBe(`"we""ird'; DROP TABLE x; --"`)
    expect(cql.id("ks", `a"b`).query).toBe(`"ks"."a""b"`)
    expect(cql.id("x").params).toEqual([])
  })

  it("cql.join puts a separator fragment between fragments, values in order", () => {
    const conditions = [cql`a = ${1}`, cql`b = ${2}`, cql`c IN ${cql.in([3, 4])}`]
    expect(cql.join(conditions, cql` AND `)).toMatchObject({ query: "a = ? AND b = ? AND c IN (?, ?)", params: [1, 2, 3, 4] })
    expect(cql.join([cql.id("a"), cql.id("b")])).toMatchObject({ query: `"a", "b"`, params: [] })
    expect(cql.join([cql`x = ${1}`, cql`y = ${2}`], cql` + ${0} + `)).toMatchObject({ query: "x = ? + ? + y = ?", params: [1, 0, 2] })
    expect(cql.join([])).toMatchObject({ query: "", params: [] })
  })

  it("withOptions sets statement options over the fragment's own", () => {
    const s = cql`SELECT * FROM t WHERE k = ${1}`.withOptions({ consistency: "QUORUM" }).withOptions({ pageSize: 10 })
    expect(s.options).toEqual({ consistency: "QUORUM", pageSize: 10 })
    expect(s.params).toEqual([1])
  })
})
