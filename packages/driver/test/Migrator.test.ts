import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { splitStatements } from "../src/internal/migrate/cqlScript.js"
import { Migrator } from "../src/index.js"

describe("splitStatements", () => {
  it("splits at the semicolons that end statements, not those in strings, names, bodies or comments", () => {
    const script = `
      -- a comment; with a semicolon
      CREATE TABLE a (k int PRIMARY KEY, "we;ird" text);
      INSERT INTO a (k, "we;ird") VALUES (1, 'it''s; fine'); /* block; comment */
      CREATE FUNCTION f (x int) CALLED ON NULL INPUT RETURNS int LANGUAGE java AS $$ return x; $$;
      // the last one needs no semicolon
      DROP TABLE b`
    expect(splitStatements(script)).toEqual([
      `-- a comment; with a semicolon\n      CREATE TABLE a (k int PRIMARY KEY, "we;ird" text)`,
      `INSERT INTO a (k, "we;ird") VALUES (1, 'it''s; fine')`,
      `/* block; comment */\n      CREATE FUNCTION f (x int) CALLED ON NULL INPUT RETURNS int LANGUAGE java AS $$ return x; $$`,
      `// the last one needs no semicolon\n      DROP TABLE b`
    ])
  })

  it("drops empty statements and comment-only tails", () => {
    expect(splitStatements(";;  ;\n-- nothing else\n")).toEqual([])
    expect(splitStatements("SELECT 1;  -- done")).toEqual(["SELECT 1"])
  })
})

describe("loading migrations", () => {
  const m = (id: number, name: string, ...statements: Array<string>): Migrator.Migration => ({ id, name, statements })

  it.effect("records are sorted by id; two with one id are refused", () =>
    Effect.gen(function* () {
      expect((yield* Migrator.fromRecords([m(2, "b"), m(1, "a")])).map((x) => x.name)).toEqual(["a", "b"])
      const err = yield* Effect.flip(Migrator.fromRecords([m(1, "a"), m(1, "b")]))
      expect(err).toMatchObject({ _tag: "InvalidMigrations", message: "migrations a and b share id 1" })
    }))

  it("the checksum follows the statements", () => {
    expect(Migrator.checksum(m(1, "a", "CREATE TABLE t (k int PRIMARY KEY)"))).toBe(Migrator.checksum(m(9, "z", "CREATE TABLE t (k int PRIMARY KEY)")))
    expect(Migrator.checksum(m(1, "a", "CREATE TABLE t (k int PRIMARY KEY)"))).not.toBe(Migrator.checksum(m(1, "a", "CREATE TABLE t (k bigint PRIMARY KEY)")))
  })

  it.effect("a directory: NNNN_name.cql files in order, split into statements; other files ignored", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "migrations-"))
      writeFileSync(join(dir, "0002_add_index.cql"), "CREATE INDEX IF NOT EXISTS ON t (v);")
      writeFileSync(join(dir, "0001_create.cql"), "CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY, v text);\nINSERT INTO t (k, v) VALUES (1, 'a;b');")
      writeFileSync(join(dir, "README.md"), "not a migration")
      expect(yield* Migrator.fromDirectory(dir)).toEqual([
        m(1, "create", "CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY, v text)", "INSERT INTO t (k, v) VALUES (1, 'a;b')"),
        m(2, "add_index", "CREATE INDEX IF NOT EXISTS ON t (v)")
      ])
      writeFileSync(join(dir, "x_bad.cql"), "")
      expect(yield* Effect.flip(Migrator.fromDirectory(dir))).toMatchObject({ _tag: "InvalidMigrations" })
      expect(yield* Effect.flip(Migrator.fromDirectory(join(dir, "missing")))).toMatchObject({ _tag: "MigrationsUnreadable" })
    }))
})
