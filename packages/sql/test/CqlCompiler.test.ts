/** The CQL statement compiler: text and bound values for what CQL has, a CqlUnsupported for what it lacks. */
import * as Statement from "@effect/sql/Statement"
import { CqlCompiler, CqlUnsupported } from "@effect-cql/sql"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

// Statements built by @effect/sql's own constructor, as a client builds them; they are compiled, never run.
const sql = Statement.make(Effect.dieMessage("compiled only"), CqlCompiler.make(), [], undefined)

/** The statement's text and values, after checking that the compiler did not refuse it. */
const compiled = (statement: Statement.Statement<unknown>) => {
  const [text, params] = statement.compile()
  expect(CqlCompiler.refusalOf(params)).toBeUndefined()
  return [text, params] as const
}

/** The refusal a statement compiles to. */
const refusal = (statement: Statement.Statement<unknown>): CqlUnsupported => {
  const [text, params] = statement.compile()
  const error = CqlCompiler.refusalOf(params)
  expect(error).toBeInstanceOf(CqlUnsupported)
  expect(params).toEqual([])
  expect(text).toContain("CQL has no")
  return error!
}

describe("CqlCompiler", () => {
  it("binds every value to a ? marker and quotes identifiers the CQL way", () => {
    const hostile = `x'); DROP TABLE app.users; --`
    expect(compiled(sql`SELECT * FROM ${sql("app.users")} WHERE ${sql('we"ird')} = ${hostile} AND n = ${3}`)).toEqual([
      `SELECT * FROM "app"."users" WHERE "we""ird" = ? AND n = ?`,
      [hostile, 3]
    ])
  })

  it("compiles sql.insert of one record to a column list and its markers", () => {
    const id = new Uint8Array([1, 2])
    expect(compiled(sql`INSERT INTO ${sql("people")} ${sql.insert({ id, name: "Ada", age: undefined })}`)).toEqual([
      `INSERT INTO "people" ("id", "name", "age") VALUES (?,?,?)`,
      [id, "Ada", null]
    ])
  })

  it("compiles sql.update to assignments, leaving out the omitted keys", () => {
    expect(compiled(sql`UPDATE people SET ${sql.update({ id: 1, name: "Ada", age: 36 }, ["id"])} WHERE id = ${1}`)).toEqual([
      `UPDATE people SET "name" = ?, "age" = ? WHERE id = ?`,
      ["Ada", 36, 1]
    ])
  })

  it("compiles IN lists, with and without a column", () => {
    expect(compiled(sql`SELECT * FROM t WHERE pk IN ${sql.in([1, 2, 3])}`)).toEqual([`SELECT * FROM t WHERE pk IN (?,?,?)`, [1, 2, 3]])
    expect(compiled(sql`SELECT * FROM t WHERE ${sql.in("pk", [4, 5])}`)).toEqual([`SELECT * FROM t WHERE "pk" IN (?,?)`, [4, 5]])
  })

  it("drops the parentheses around AND chains, which CQL does not parse, and keeps every other parenthesis", () => {
    const where = sql.and([sql`pk = ${1}`, sql.and([sql`ck > ${2}`, "v = 'a (b) AND c'"])])
    expect(compiled(sql`SELECT * FROM t WHERE ${where} AND (ck1, ck2) > (${3}, ${4})`)).toEqual([
      `SELECT * FROM t WHERE pk = ? AND ck > ? AND v = 'a (b) AND c' AND (ck1, ck2) > (?, ?)`,
      [1, 2, 3, 4]
    ])
    // One clause: no parentheses to drop. A single relation in parentheses is CQL.
    expect(compiled(sql`SELECT * FROM t WHERE ${sql.and([sql`pk = ${1}`])} AND (${sql`ck = ${2}`})`)).toEqual([
      `SELECT * FROM t WHERE pk = ? AND (ck = ?)`,
      [1, 2]
    ])
  })

  it("applies transformQueryNames to identifiers, except in a compile without transforms", () => {
    const snake = Statement.make(Effect.dieMessage("compiled only"), CqlCompiler.make({ transformQueryNames: (n) => n.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) }), [], undefined)
    const statement = snake`SELECT ${snake("createdAt")} FROM t WHERE ${snake.in("userId", [1])}`
    expect(statement.compile()).toEqual([`SELECT "created_at" FROM t WHERE "user_id" IN (?)`, [1]])
    expect(statement.compile(true)).toEqual([`SELECT "createdAt" FROM t WHERE "userId" IN (?)`, [1]])
  })

  it("refuses RETURNING, from the helpers or in the text, but not inside a string constant", () => {
    expect(refusal(sql`INSERT INTO t ${sql.insert({ id: 1 }).returning("*")}`).feature).toBe("RETURNING")
    expect(refusal(sql`UPDATE t SET ${sql.update({ v: 1 }).returning("*")} WHERE id = ${1}`).feature).toBe("RETURNING")
    expect(refusal(sql`UPDATE t SET v = ${1} WHERE id = ${1} returning *`).feature).toBe("RETURNING")
    expect(compiled(sql`UPDATE t SET v = 'returning' WHERE id = ${1}`)).toEqual([`UPDATE t SET v = 'returning' WHERE id = ?`, [1]])
  })

  it("refuses ON CONFLICT and names the CQL alternative", () => {
    const error = refusal(sql`INSERT INTO t ${sql.insert({ id: 1 })} ON CONFLICT (id) DO NOTHING`)
    expect(error.feature).toBe("ON CONFLICT")
    expect(error.message).toContain("IF NOT EXISTS")
  })

  it("refuses OR, and the constant conditions of empty sql.and / sql.or / sql.in(column, [])", () => {
    expect(refusal(sql`SELECT * FROM t WHERE ${sql.or([sql`a = ${1}`, sql`b = ${2}`])}`).feature).toBe("OR (sql.or)")
    expect(refusal(sql`SELECT * FROM t WHERE ${sql.and([])}`).feature).toBe("the constant condition 1=1")
    expect(refusal(sql`SELECT * FROM t WHERE ${sql.in("pk", [])}`).feature).toBe("the constant condition 1=0")
  })

  it("refuses multi-row inserts, UPDATE from VALUES and custom fragments", () => {
    expect(refusal(sql`INSERT INTO t ${sql.insert([{ id: 1 }, { id: 2 }])}`).feature).toMatch(/^multi-row INSERT/)
    expect(refusal(sql`UPDATE t SET v = x.v FROM ${sql.updateValues([{ id: 1, v: 2 }], "x")}`).feature).toMatch(/updateValues/)
    const custom = Statement.custom<Statement.Custom<"PgJson", unknown>>("PgJson")({ a: 1 }, undefined, undefined)
    expect(refusal(sql`INSERT INTO t (doc) VALUES (${custom})`).feature).toBe(`the custom fragment "PgJson"`)
  })

  it("reports the sqlite dialect, whose markers and quoting CQL shares", () => {
    expect(sql.onDialectOrElse({ sqlite: () => "sqlite", orElse: () => "other" })).toBe("sqlite")
  })
})
