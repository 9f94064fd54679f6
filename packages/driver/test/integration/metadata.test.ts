/**
 * Metadata and DDL export against the integration project's Cassandra 5.0 node (127.0.0.1): a rich schema is
 * created, read back from system_schema, exported, dropped, re-created from the export alone, and read again;
 * the two readings must be equal (ids aside) and export to the same text. Rows are read with the DataStax
 * Node.js driver, as plain objects.
 */
import cassandra from "cassandra-driver"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Metadata from "../../src/Metadata.js"
import * as SchemaExport from "../../src/SchemaExport.js"

const ks = "f_meta"

/** Every CQL type, nested UDTs, quoted and reserved names, DESC clustering, statics, masks, indexes, views, UDFs. */
const schema = [
  `CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '1'} AND durable_writes = false`,
  `CREATE TYPE ${ks}.point (x double, y double)`,
  `CREATE TYPE ${ks}."Geo Shape" (name text, points list<frozen<point>>, "Centre" frozen<point>, meta map<text, frozen<tuple<int, text>>>)`,
  `CREATE TYPE ${ks}.wrapper (shape frozen<"Geo Shape">, tags frozen<set<text>>, at timestamp)`,
  `CREATE TABLE ${ks}.everything (
     pk_text text, pk_int int, ck_time timestamp, ck_uuid timeuuid,
     s_static text static, s_count int static,
     a ascii, b bigint, bl blob, bo boolean, d date, de decimal, du duration, db double, fl float, i inet,
     si smallint, t time, ti tinyint, u uuid, vc varchar, vi varint,
     l list<int>, st set<frozen<list<text>>>, m map<text, frozen<map<int, blob>>>,
     tup tuple<int, frozen<list<text>>, frozen<point>>, udt frozen<wrapper>, udt_free point, vec vector<float, 4>,
     "Mixed Case" int, "select" text, fl_list frozen<list<int>>,
     secret text MASKED WITH mask_inner(2, null), hidden int MASKED WITH DEFAULT,
     PRIMARY KEY ((pk_text, pk_int), ck_time, ck_uuid)
   ) WITH CLUSTERING ORDER BY (ck_time DESC, ck_uuid ASC)
     AND comment = 'every type, it''s rich'
     AND compaction = {'class': 'LeveledCompactionStrategy', 'sstable_size_in_mb': '80'}
     AND compression = {'class': 'ZstdCompressor', 'compression_level': '3'}
     AND caching = {'keys': 'ALL', 'rows_per_partition': '10'}
     AND gc_grace_seconds = 3600 AND default_time_to_live = 86400 AND speculative_retry = '95p'
     AND bloom_filter_fp_chance = 0.05 AND memtable_flush_period_in_ms = 60000 AND crc_check_chance = 0.5
     AND read_repair = 'NONE' AND additional_write_policy = '90p' AND min_index_interval = 64
     AND max_index_interval = 1024`,
  `CREATE INDEX everything_l ON ${ks}.everything (values(l))`,
  `CREATE INDEX ON ${ks}.everything (keys(m))`,
  `CREATE INDEX everything_entries ON ${ks}.everything (entries(m))`,
  `CREATE INDEX everything_full ON ${ks}.everything (full(fl_list))`,
  `CREATE INDEX "MixedIdx" ON ${ks}.everything ("Mixed Case")`,
  `CREATE INDEX ON ${ks}.everything (s_static)`,
  `CREATE CUSTOM INDEX everything_sai ON ${ks}.everything (vc) USING 'StorageAttachedIndex'
     WITH OPTIONS = {'case_sensitive': 'false', 'normalize': 'true'}`,
  `CREATE INDEX everything_ann ON ${ks}.everything (vec) USING 'sai' WITH OPTIONS = {'similarity_function': 'COSINE'}`,
  `CREATE TABLE ${ks}.base (id uuid, seq int, label text, "Weight" double, PRIMARY KEY (id, seq))
     WITH CLUSTERING ORDER BY (seq DESC) AND allow_auto_snapshot = false AND incremental_backups = false`,
  `CREATE MATERIALIZED VIEW ${ks}.by_label AS SELECT id, seq, label, "Weight" FROM ${ks}.base
     WHERE id IS NOT NULL AND seq IS NOT NULL AND label IS NOT NULL
     PRIMARY KEY ((label, seq), id) WITH CLUSTERING ORDER BY (id DESC) AND comment = 'view'`,
  `CREATE MATERIALIZED VIEW ${ks}."AllColumns" AS SELECT * FROM ${ks}.base
     WHERE id IS NOT NULL AND seq IS NOT NULL AND "Weight" IS NOT NULL PRIMARY KEY ("Weight", id, seq)`,
  `CREATE TABLE ${ks}.counts (k text, c int, n counter, m counter, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)`,
  `CREATE TABLE ${ks}."Order" ("key" int PRIMARY KEY, "from" text, "Value" int)`,
  `CREATE TABLE ${ks}.legacy (k int PRIMARY KEY, v text) WITH COMPACT STORAGE`,
  `CREATE TABLE ${ks}.legacy_dense (k int, c text, v blob, PRIMARY KEY (k, c)) WITH COMPACT STORAGE`,
  `CREATE FUNCTION ${ks}.avg_state(state tuple<int, bigint>, val int) CALLED ON NULL INPUT RETURNS tuple<int, bigint>
     LANGUAGE java AS 'if (val != null) { state.setInt(0, state.getInt(0) + 1); state.setLong(1, state.getLong(1) + val); } return state;'`,
  `CREATE FUNCTION ${ks}.avg_final(state tuple<int, bigint>) CALLED ON NULL INPUT RETURNS double
     LANGUAGE java AS 'if (state.getInt(0) == 0) return null; return Double.valueOf((double) state.getLong(1) / state.getInt(0));'`,
  `CREATE AGGREGATE ${ks}.average(int) SFUNC avg_state STYPE tuple<int, bigint> FINALFUNC avg_final INITCOND (0, 0)`,
  `CREATE FUNCTION ${ks}."describe"(x int) RETURNS NULL ON NULL INPUT RETURNS text LANGUAGE java AS 'return "costs $$" + x;'`,
  `CREATE FUNCTION ${ks}."describe"(x text) RETURNS NULL ON NULL INPUT RETURNS text LANGUAGE java AS $$ return x; $$`,
  `CREATE FUNCTION ${ks}.norm(p point) RETURNS NULL ON NULL INPUT RETURNS double LANGUAGE java
     AS 'return Math.sqrt(p.getDouble("x") * p.getDouble("x") + p.getDouble("y") * p.getDouble("y"));'`,
  `CREATE FUNCTION ${ks}.concat_all(acc list<text>, v text) CALLED ON NULL INPUT RETURNS list<text>
     LANGUAGE java AS 'acc.add(v); return acc;'`,
  `CREATE AGGREGATE ${ks}.gather(text) SFUNC concat_all STYPE list<text> INITCOND []`
]

const schemaTables = {
  keyspaces: "keyspaces",
  tables: "tables",
  columns: "columns",
  droppedColumns: "dropped_columns",
  indexes: "indexes",
  views: "views",
  types: "types",
  functions: "functions",
  aggregates: "aggregates",
  triggers: "triggers",
  columnMasks: "column_masks"
} as const

/** The DataStax driver's values as this driver's codec gives them: maps as Map, uuids and inets as text. */
const plain = (v: unknown): unknown => {
  if (v instanceof cassandra.types.Uuid || v instanceof cassandra.types.InetAddress) return v.toString()
  if (Array.isArray(v)) return v.map(plain)
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return new Map(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  }
  return v
}

const readKeyspace = async (client: cassandra.Client, name: string) => {
  const rows: Record<string, Array<Metadata.Row>> = {}
  for (const [key, table] of Object.entries(schemaTables)) {
    const rs = await client.execute(`SELECT * FROM system_schema.${table} WHERE keyspace_name = ?`, [name], { prepare: true })
    rows[key] = rs.rows.map((r) => Object.fromEntries(rs.columns.map((c) => [c.name, plain(r[c.name])])))
  }
  const parsed = Metadata.parseSchema(rows as unknown as Metadata.SchemaRows)
  expect(parsed.warnings).toEqual([])
  const ksm = parsed.value.get(name)
  if (ksm === undefined) throw new Error(`keyspace ${name} not read`)
  return ksm
}

/** Ids are assigned anew when a table is created: everything else must survive the round trip. */
const withoutIds = (k: Metadata.KeyspaceMetadata) => ({
  ...k,
  tables: new Map([...k.tables].map(([n, t]) => [n, { ...t, id: undefined }])),
  views: new Map([...k.views].map(([n, v]) => [n, { ...v, id: undefined, baseTableId: undefined }]))
})

describe("metadata against Cassandra 5.0", () => {
  const client = new cassandra.Client({
    contactPoints: ["127.0.0.1"],
    localDataCenter: "dc1",
    // Schema changes on a small test node can take longer than the default 12 s.
    socketOptions: { readTimeout: 120_000 }
  })

  beforeAll(async () => {
    await client.connect()
    await client.execute(`DROP KEYSPACE IF EXISTS ${ks}`)
    for (const s of schema) await client.execute(s)
  })

  afterAll(async () => {
    await client.execute(`DROP KEYSPACE IF EXISTS ${ks}`)
    await client.shutdown()
  })

  it("reads every part of the schema", async () => {
    const k = await readKeyspace(client, ks)
    expect(k.durableWrites).toBe(false)
    expect(k.replication.options).toEqual(new Map([["replication_factor", "1"]]))
    expect([...k.tables.keys()]).toEqual(["Order", "base", "counts", "everything", "legacy", "legacy_dense"])
    expect([...k.views.keys()]).toEqual(["AllColumns", "by_label"])
    expect([...k.userTypes.keys()]).toEqual(["Geo Shape", "point", "wrapper"])
    expect([...k.functions.keys()]).toEqual([
      "avg_final(tuple<int,bigint>)",
      "avg_state(tuple<int,bigint>,int)",
      "concat_all(list<text>,text)",
      "describe(int)",
      "describe(text)",
      "norm(point)"
    ])
    expect([...k.aggregates.keys()]).toEqual(["average(int)", "gather(text)"])
    const t = k.tables.get("everything")!
    expect(t.partitionKey.map((c) => c.name)).toEqual(["pk_text", "pk_int"])
    expect(t.clusteringKey.map((c) => [c.name, c.order])).toEqual([
      ["ck_time", "desc"],
      ["ck_uuid", "asc"]
    ])
    expect(t.columns.filter((c) => c.kind === "static").map((c) => c.name)).toEqual(["s_count", "s_static"])
    expect([...t.indexes.keys()]).toEqual([
      "MixedIdx",
      "everything_ann",
      "everything_entries",
      "everything_full",
      "everything_l",
      "everything_m_idx",
      "everything_s_static_idx",
      "everything_sai"
    ])
    expect(t.columns.find((c) => c.name === "vec")!.type).toEqual({
      kind: "vector",
      element: { kind: "float" },
      dimension: 4
    })
    const udt = t.columns.find((c) => c.name === "udt")!
    expect(udt.cqlType).toBe("frozen<wrapper>")
    expect(udt.type.kind === "udt" && udt.type.fields.map((f) => [f.name, f.type.kind])).toEqual([
      ["shape", "udt"],
      ["tags", "set"],
      ["at", "timestamp"]
    ])
    expect(t.columns.find((c) => c.name === "secret")!.mask).toEqual({
      functionKeyspace: "system",
      functionName: "mask_inner",
      argumentTypes: ["int", "int"],
      argumentValues: ["2", null]
    })
    expect(t.options.get("caching")).toEqual(new Map([["keys", "ALL"], ["rows_per_partition", "10"]]))
    expect(k.tables.get("base")!.views).toEqual(["AllColumns", "by_label"])
    expect(k.tables.get("base")!.options.get("allow_auto_snapshot")).toBe(false)
    expect(k.tables.get("legacy")!.compactStorage).toBe(true)
    expect(k.tables.get("everything")!.compactStorage).toBe(false)
  })

  it("exports DDL that re-creates the same schema", async () => {
    const before = await readKeyspace(client, ks)
    const statements = SchemaExport.keyspaceStatements(before)
    const text = SchemaExport.exportKeyspace(before)
    await client.execute(`DROP KEYSPACE ${ks}`)
    for (const s of statements) {
      try {
        await client.execute(s)
      } catch (e) {
        throw new Error(`exported statement failed: ${(e as Error).message}\n${s}`)
      }
    }
    const after = await readKeyspace(client, ks)
    expect(withoutIds(after)).toEqual(withoutIds(before))
    expect(SchemaExport.exportKeyspace(after)).toBe(text)
    // Each table alone exports as part of the keyspace's text.
    for (const t of after.tables.values()) expect(text).toContain(SchemaExport.exportTable(after, t))
  })
})
