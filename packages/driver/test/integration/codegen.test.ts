/**
 * Row Schemas from the live schema: `CqlSchema.fromTable` over the Cluster's Metadata, and the generator script
 * (scripts/generate-schemas.ts): it writes a module for the cross-driver type table's keyspace and one with
 * awkward names, tsc type-checks them with a file that uses them, and their classes read and write rows on the
 * real node.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cluster, CqlSchema, Session, Statement } from "@effect-cql/driver"
import { Effect, Either, Schema } from "effect"
import { execFile } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { ks, names, setup, values } from "./allTypes.js"

const root = join(dirname(fileURLToPath(import.meta.url)), "../../../..")
const out = join(dirname(fileURLToPath(import.meta.url)), ".generated")
const run = promisify(execFile)

const odd = "it_codegen"
const setupOdd = Effect.gen(function* () {
  const s = yield* Session.Session
  yield* s.execute(`CREATE KEYSPACE IF NOT EXISTS ${odd} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
  yield* s.execute(`CREATE TYPE IF NOT EXISTS ${odd}.postal_address (street text, "Zip Code" int)`)
  yield* s.execute(`CREATE TYPE IF NOT EXISTS ${odd}.customer (name text, addr frozen<postal_address>, previous list<frozen<postal_address>>)`)
  // A table named as a UDT, a quoted column name, a clustering key, a counter-free mix of collections.
  yield* s.execute(
    `CREATE TABLE IF NOT EXISTS ${odd}.customer (org int, seq int, who frozen<customer>, "Weird Col" text, emb vector<float, 2>, PRIMARY KEY (org, seq))`
  )
})

/** Runs the generator script as a user would; resolves to its output. */
const generate = (keyspace: string, file: string) =>
  Effect.promise(() =>
    run("npx", ["vite-node", "--config", "scripts/vite.config.ts", "scripts/generate-schemas.ts", keyspace, file, "127.0.0.1"], { cwd: root })
  )

// Uses the generated classes; `@ts-expect-error` lines make tsc fail if the fields were typed loosely (any).
const usage = `import { AllTypesRow, Person } from "./it_types.js"
import { Customer, CustomerRow, PostalAddress } from "./it_codegen.js"

export const intOf = (row: AllTypesRow): number | null => row.a_int
export const streetOf = (p: Person): string | null => p.address?.street ?? null
export const zipOf = (a: PostalAddress): number | null => a["Zip Code"]
export const weird = (r: CustomerRow): string | null => r["Weird Col"]
export const key = (r: CustomerRow): number => r.org
export const who = (r: CustomerRow): Customer | null => r.who
// @ts-expect-error a_int is a number, not a string
export const wrong = (row: AllTypesRow): string | null => row.a_int
// @ts-expect-error org is a key column: never null
export const nullable = (r: CustomerRow): null => r.org
`

interface Generated {
  readonly [name: string]: Schema.Schema<{ readonly [field: string]: unknown }, { readonly [field: string]: unknown }> & (new (props: never) => unknown)
}

describe("row Schemas from the live schema", () => {
  it.layer(Session.layer({ contactPoints: ["127.0.0.1"] }), { timeout: 120_000 })((it) => {
    it.effect("fromTable decodes SELECT * rows of every column type; an unknown table is UnknownTable", () =>
      Effect.gen(function* () {
        yield* setup
        const s = yield* Session.Session
        const metadata = (yield* Cluster.Cluster).metadata.current()
        const Row = Either.getOrThrow(CqlSchema.fromTable(metadata, ks, "all_types"))
        yield* s.execute(`INSERT INTO ${ks}.all_types (id, ${names.join(", ")}) VALUES (?, ${names.map(() => "?").join(", ")})`, ["fromTable", ...names.map((n) => values[n])])
        yield* s.execute(`INSERT INTO ${ks}.all_types (id) VALUES (?)`, ["fromTable-null"])
        const rows = (yield* s.execute({ query: `SELECT * FROM ${ks}.all_types WHERE id IN ?`, params: [["fromTable", "fromTable-null"]], rowSchema: Row })).rows
        expect(rows).toHaveLength(2)
        for (const n of names) expect({ [n]: rows[0]![n] }).toEqual({ [n]: values[n] })
        for (const n of names) expect({ [n]: rows[1]![n] }).toEqual({ [n]: null })
        // The key column is not nullable.
        expect(Schema.is(Row)({ ...rows[0], id: null })).toBe(false)
        const missing = CqlSchema.fromTable(metadata, ks, "nope")
        expect(Either.isLeft(missing) && missing.left).toMatchObject({ _tag: "UnknownTable", keyspace: ks, table: "nope" })
      }))

    it.effect("the generator writes modules that type-check and read and write rows as class instances", () =>
      Effect.gen(function* () {
        yield* setup
        yield* setupOdd
        mkdirSync(out, { recursive: true })
        const printed = yield* generate(ks, join(out, `${ks}.ts`))
        expect(printed.stdout).toContain("2 UDTs, 1 tables")
        yield* generate(odd, join(out, `${odd}.ts`))
        writeFileSync(join(out, "usage.ts"), usage)
        // The root config excludes this directory from the project's own type-check; this config checks it alone.
        writeFileSync(join(out, "tsconfig.json"), JSON.stringify({ extends: "../../../../../tsconfig.json", include: ["./*.ts"], exclude: [] }))
        const tsc = yield* Effect.promise(() =>
          run("npx", ["tsc", "-p", join(out, "tsconfig.json")], { cwd: root }).then(
            () => ({ ok: true, output: "" }),
            (e: { stdout: string }) => ({ ok: false, output: e.stdout })
          )
        )
        expect(tsc).toEqual({ ok: true, output: "" })

        const types = (yield* Effect.promise(() => import(join(out, `${ks}.ts`)))) as Generated
        const { AllTypesRow, Person, Address } = types
        const s = yield* Session.Session
        yield* s.execute(`INSERT INTO ${ks}.all_types (id, ${names.join(", ")}) VALUES (?, ${names.map(() => "?").join(", ")})`, ["generated", ...names.map((n) => values[n])])
        const read = Statement.typed({ query: `SELECT * FROM ${ks}.all_types WHERE id = ?`, Params: Schema.Tuple(Schema.String), Row: AllTypesRow! })
        const row = (yield* s.execute(read(["generated"]))).rows[0]!
        expect(row).toBeInstanceOf(AllTypesRow)
        expect(row["a_udt"]).toBeInstanceOf(Person)
        expect((row["a_udt"] as { readonly address: unknown }).address).toBeInstanceOf(Address)
        expect(row["a_udt"]).toEqual(new Person!({ name: "Ada", address: new Address!({ street: "1 Loop Rd", zip: 12345 } as never), tags: ["x"] } as never))
        for (const n of names.filter((n) => n !== "a_udt")) expect({ [n]: row[n] }).toEqual({ [n]: values[n] })

        // Writing: an instance encodes to the values the table takes (named parameters by column).
        const write = Statement.typed({
          query: `INSERT INTO ${ks}.all_types (id, ${names.join(", ")}) VALUES (?, ${names.map(() => "?").join(", ")})`,
          Params: AllTypesRow!,
          Row: Schema.Struct({})
        })
        yield* s.execute(write({ ...row, id: "generated-copy" }))
        const copy = (yield* s.execute(read(["generated-copy"]))).rows[0]!
        expect({ ...copy, id: "generated" }).toEqual(row)

        const oddTypes = (yield* Effect.promise(() => import(join(out, `${odd}.ts`)))) as Generated
        const { Customer, CustomerRow, PostalAddress } = oddTypes
        yield* s.execute(`INSERT INTO ${odd}.customer (org, seq, who, "Weird Col", emb) VALUES (?, ?, ?, ?, ?)`, [
          1,
          2,
          { name: "Grace", addr: { street: "s", "Zip Code": 9 }, previous: [{ street: "old", "Zip Code": null }] },
          "w",
          new Float32Array([1, 2])
        ])
        const readOdd = Statement.typed({ query: `SELECT * FROM ${odd}.customer WHERE org = ?`, Params: Schema.Tuple(Schema.Number), Row: CustomerRow! })
        const c = (yield* s.execute(readOdd([1]))).rows[0]!
        expect(c).toBeInstanceOf(CustomerRow)
        expect(c["who"]).toBeInstanceOf(Customer)
        const who = c["who"] as { readonly addr: unknown; readonly previous: ReadonlyArray<unknown> }
        expect(who.addr).toBeInstanceOf(PostalAddress)
        expect(who.previous[0]).toEqual(new PostalAddress!({ street: "old", "Zip Code": null } as never))
        expect(c["Weird Col"]).toBe("w")
      }))
  })
})
