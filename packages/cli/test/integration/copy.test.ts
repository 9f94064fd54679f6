/**
 * COPY through the shell against the real node: 100,000 rows of every CQL type exported with COPY TO, imported
 * into a second table with COPY FROM, and both tables compared value by value; and a file with bad rows, whose
 * rejects go to the error file with their line numbers while the rest are imported.
 */
import { BulkExecution, Session } from "@effect-cql/driver"
import { CqlDate, CqlDuration, CqlTime, Uuid } from "@effect-cql/protocol"
import { BigDecimal, Chunk, Effect, Equal, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { columns, names } from "../../../driver/test/integration/allTypes.js"
import { runShell } from "./shellProcess.js"

const ks = "cli_copy"
const rowCount = 100_000
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cli-copy-"))
const some = <A>(o: Option.Option<A>): A => Option.getOrThrow(o)

/** Row `i`: every column, with values that move over their type's range; every 50th row all null. */
const rowOf = (i: number): Record<string, unknown> => {
  if (i % 50 === 0) return Object.fromEntries(names.map((n) => [n, null]))
  const sign = i % 2 === 0 ? 1 : -1
  return {
    a_ascii: `ascii ${i}, "q" 'x'`,
    a_bigint: BigInt(sign * i) * 92_233_720_368_547n,
    a_blob: Buffer.from([i & 255, (i >> 8) & 255, 0, 255]),
    a_boolean: i % 3 === 0,
    a_decimal: BigDecimal.make(BigInt(sign * i) * 1_234_567_891_234n - 5n, (i % 12) - 2),
    a_double: i % 1000 === 1 ? NaN : (sign * i) / 7 * 10 ** ((i % 40) - 20),
    a_float: i % 1000 === 2 ? -Infinity : Math.fround((sign * i) / 3),
    a_int: i * 21_474 - 2 ** 31,
    a_timestamp: new Date(Date.UTC(1900, 0, 1) + i * 3_600_123_457),
    a_uuid: Uuid.random(),
    a_text: `ünïcödé ✓ 日本 ${i}${i % 7 === 0 ? "\nsecond line, \"quoted\"" : ""}${i % 11 === 0 ? " " : ""}`,
    a_varint: BigInt(sign) * (2n ** BigInt(i % 130) + BigInt(i)),
    a_timeuuid: Uuid.fromTime(new Date(1_700_000_000_000 + i * 1000)),
    a_inet4: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    a_inet6: `2001:db8::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`,
    a_date: some(CqlDate.fromDays((i - 50_000) * 37)),
    a_time: some(CqlTime.fromNanos(BigInt(i) * 863_999_999n)),
    a_smallint: (i % 65_536) - 32_768,
    a_tinyint: (i % 256) - 128,
    a_duration: some(CqlDuration.make(sign * (i % 100), sign * (i % 30), BigInt(sign * i) * 1_000_001n)),
    a_list: [`x${i}`, "it's", ""],
    a_set: [i, i + 1],
    a_map: new Map([[`k${i}`, [i, -i]], ["", []]]),
    a_tuple: [i, `t${i}`, new Map([["k", i]])],
    a_udt: { name: `n'${i}`, address: i % 5 === 0 ? null : { street: `${i} Loop Rd, "B"`, zip: i }, tags: ["x", `y${i}`] },
    a_vector: new Float32Array([i / 3, -i, 0.1]),
    a_vector_text: [`l${i}`, "r, 'q'"]
  }
}

const createTable = (table: string) => `CREATE TABLE ${ks}.${table} (id int PRIMARY KEY, ${names.map((n) => `${n} ${columns[n]}`).join(", ")})`

const withSession = <A, E>(effect: Effect.Effect<A, E, Session.Session>) =>
  Effect.runPromise(effect.pipe(Effect.provide(Session.layer({ contactPoints: ["127.0.0.1"] }))))

beforeAll(async () => {
  await withSession(
    Effect.gen(function* () {
      const s = yield* Session.Session
      yield* s.execute(`DROP KEYSPACE IF EXISTS ${ks}`)
      yield* s.execute(`CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
      yield* s.execute(`CREATE TYPE ${ks}.address (street text, zip int)`)
      yield* s.execute(`CREATE TYPE ${ks}.person (name text, address frozen<address>, tags list<text>)`)
      yield* s.execute(createTable("src"))
      yield* s.execute(createTable("dst"))
      yield* s.execute(`CREATE TABLE ${ks}.small (id int PRIMARY KEY, n int, t text, l list<int>)`)
      const insert = `INSERT INTO ${ks}.src (id, ${names.join(", ")}) VALUES (?, ${names.map(() => "?").join(", ")})`
      function* statements() {
        for (let i = 0; i < rowCount; i++) {
          const row = rowOf(i)
          yield { query: insert, params: [i, ...names.map((n) => row[n])] }
        }
      }
      const summary = yield* BulkExecution.run(statements(), { concurrency: 256 })
      expect(summary.failures.slice(0, 3).map((f) => `${f.index}: ${f.error.message}`).join("\n")).toBe("")
      expect(summary.succeeded).toBe(rowCount)
    })
  )
}, 300_000)

/** Value equality over the driver's value types (NaN equals NaN; decimals by digits and scale). */
const same = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime()
  if (BigDecimal.isBigDecimal(a) && BigDecimal.isBigDecimal(b)) return a.value === b.value && a.scale === b.scale
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b)
  if (a instanceof Float32Array && b instanceof Float32Array) return a.length === b.length && a.every((x, i) => Object.is(x, b[i]))
  if (a instanceof Map && b instanceof Map) return same([...a.entries()], [...b.entries()])
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]))
  if (Equal.isEqual(a) && Equal.isEqual(b)) return Equal.equals(a, b)
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

describe("COPY TO then COPY FROM", () => {
  it(`round-trips ${rowCount} rows of every CQL type, value by value`, async () => {
    const file = path.join(dir, "src.csv")
    const errors = path.join(dir, "src.err")
    const r = await runShell(["-e", `COPY ${ks}.src TO '${file}' WITH HEADER = true; COPY ${ks}.dst FROM '${file}' WITH HEADER = true AND ERRFILE = '${errors}'`])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect({ stdout: r.stdout }).toEqual({ stdout: expect.stringMatching(new RegExp(`^${rowCount} rows exported to 1 files in [\\d.]+ seconds\\.\\n${rowCount} rows imported from 1 files in [\\d.]+ seconds \\(\\d+ rows/s\\)\\.\\n$`)) })
    expect(fs.existsSync(errors)).toBe(false)

    // Both tables hold the same keys, so a full scan of each comes in the same token order: compare row by row.
    const { compared, mismatches } = await withSession(
      Effect.gen(function* () {
        const s = yield* Session.Session
        const all = `id, ${names.join(", ")}`
        const src = s.stream(`SELECT ${all} FROM ${ks}.src`, undefined, { pageSize: 2000 })
        const dst = s.stream(`SELECT ${all} FROM ${ks}.dst`, undefined, { pageSize: 2000 })
        const mismatches: Array<string> = []
        let compared = 0
        yield* Stream.zip(src, dst).pipe(
          Stream.runForEachChunk((pairs) =>
            Effect.sync(() => {
              for (const [a, b] of Chunk.toReadonlyArray(pairs)) {
                compared++
                for (const n of ["id", ...names]) {
                  if (!same(a[n], b[n]) && mismatches.length < 5) mismatches.push(`id ${String(a["id"])} ${n}: ${String(a[n])} != ${String(b[n])}`)
                }
              }
            })
          )
        )
        return { compared, mismatches }
      })
    )
    expect(mismatches.join("\n")).toBe("")
    expect(compared).toBe(rowCount)
    // The comparison can fail: two different rows differ.
    expect(same(rowOf(1), rowOf(3))).toBe(false)
  }, 300_000)
})

describe("COPY FROM a file with bad rows", () => {
  it("sends each bad row to the error file with its line number, and imports the rest; a full disk is an error", async () => {
    const file = path.join(dir, "small.csv")
    const errors = path.join(dir, "small.err")
    fs.writeFileSync(file, ["id,n,t,l", "1,10,one,[1]", "2,12x,two,[2]", '3,30,"three', 'lines",[3]', "4,40,four", "5,50,five,\"[5, x]\"", "6,60,,", '7,70,"",[]', ""].join("\n"))
    const r = await runShell(["-k", ks, "-e", `COPY small FROM '${file}' WITH HEADER = true AND ERRFILE = '${errors}'; SELECT id, n, t, l FROM small; COPY small TO '/dev/full'; COPY small FROM '${file}' WITH HEADER = true AND ERRFILE = '/nonexistent/small.err'`])
    // A file that cannot be written (a full device, an error file in no directory) fails the COPY with the reason.
    expect(r.stderr).toBe(
      "CopyError: /dev/full: ENOSPC: no space left on device, write\n" +
        "CopyError: 4 rows imported, 3 rejected, but the error file failed: /nonexistent/small.err: ENOENT: no such file or directory, open '/nonexistent/small.err'\n"
    )
    expect(r.stdout).toContain("4 rows imported from 1 files in")
    expect(r.stdout).toContain(`3 rows rejected: see ${errors}.`)
    expect(fs.readFileSync(errors, "utf8")).toBe(
      [
        "line,error,record",
        '3,"column n: ""12x"" is not a valid int","2,12x,two,[2]"',
        '6,"3 fields, expected 4","4,40,four"',
        '7,"column l: ""x"" is not a valid int","5,50,five,""[5, x]"""',
        ""
      ].join("\n")
    )
    // The header named the columns in its own order; the multi-line record (lines 4-5) came through whole; null
    // and the empty string stay apart.
    expect(r.stdout).toContain("  3 | 30 | three\\nlines |  [3]")
    expect(r.stdout).toMatch(/ {2}6 \| 60 \| +null \| null/)
    expect(r.stdout).toMatch(/ {2}7 \| 70 \| +\| null/)
  })
})
