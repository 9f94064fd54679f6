import { describe, expect, it } from "@effect/vitest"
import { DataType } from "@effect-cql/protocol"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Metadata from "../src/Metadata.js"
import * as SchemaExport from "../src/SchemaExport.js"

const { native } = DataType

/** system_schema rows of keyspace f_fix as a Cassandra 5.0.9 node returned them (uuids as text, maps as Map). */
const fixRows: Metadata.SchemaRows = {
  keyspaces: [
    { keyspace_name: "f_fix", durable_writes: true, replication: new Map([["class", "org.apache.cassandra.locator.NetworkTopologyStrategy"], ["dc1", "1"]]) }
  ],
  tables: [
    { keyspace_name: "f_fix", table_name: "events", additional_write_policy: "99p", allow_auto_snapshot: null, bloom_filter_fp_chance: 0.01, caching: new Map([["keys", "ALL"], ["rows_per_partition", "NONE"]]), cdc: null, comment: "it's", compaction: new Map([["class", "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy"], ["max_threshold", "32"], ["min_threshold", "4"]]), compression: new Map([["chunk_length_in_kb", "16"], ["class", "org.apache.cassandra.io.compress.LZ4Compressor"]]), crc_check_chance: 1, dclocal_read_repair_chance: 0, default_time_to_live: 100, extensions: new Map([]), flags: ["compound"], gc_grace_seconds: 864000, id: "0abda2b0-e958-11f1-86e7-59ab8a6eb2f0", incremental_backups: null, max_index_interval: 2048, memtable: null, memtable_flush_period_in_ms: 0, min_index_interval: 128, read_repair: "BLOCKING", read_repair_chance: 0, speculative_retry: "99p" },
    { keyspace_name: "f_fix", table_name: "plain", additional_write_policy: "99p", allow_auto_snapshot: null, bloom_filter_fp_chance: 0.1, caching: new Map([["keys", "ALL"], ["rows_per_partition", "NONE"]]), cdc: null, comment: "", compaction: new Map([["class", "org.apache.cassandra.db.compaction.LeveledCompactionStrategy"], ["max_threshold", "32"], ["min_threshold", "4"], ["sstable_size_in_mb", "64"]]), compression: new Map([["chunk_length_in_kb", "16"], ["class", "org.apache.cassandra.io.compress.LZ4Compressor"]]), crc_check_chance: 1, dclocal_read_repair_chance: 0, default_time_to_live: 0, extensions: new Map([]), flags: ["compound"], gc_grace_seconds: 864000, id: "0bae9260-e958-11f1-86e7-59ab8a6eb2f0", incremental_backups: null, max_index_interval: 2048, memtable: null, memtable_flush_period_in_ms: 0, min_index_interval: 128, read_repair: "BLOCKING", read_repair_chance: 0, speculative_retry: "99p" },
    { keyspace_name: "f_fix", table_name: "select", additional_write_policy: "99p", allow_auto_snapshot: null, bloom_filter_fp_chance: 0.01, caching: new Map([["keys", "ALL"], ["rows_per_partition", "NONE"]]), cdc: null, comment: "", compaction: new Map([["class", "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy"], ["max_threshold", "32"], ["min_threshold", "4"]]), compression: new Map([["chunk_length_in_kb", "16"], ["class", "org.apache.cassandra.io.compress.LZ4Compressor"]]), crc_check_chance: 1, dclocal_read_repair_chance: 0, default_time_to_live: 0, extensions: new Map([]), flags: ["compound", "counter"], gc_grace_seconds: 864000, id: "0b4f0d40-e958-11f1-86e7-59ab8a6eb2f0", incremental_backups: null, max_index_interval: 2048, memtable: null, memtable_flush_period_in_ms: 0, min_index_interval: 128, read_repair: "BLOCKING", read_repair_chance: 0, speculative_retry: "99p" }
  ],
  columns: [
    { keyspace_name: "f_fix", table_name: "events", column_name: "Quoted Col", clustering_order: "none", column_name_bytes: Buffer.from("51756f74656420436f6c", "hex"), kind: "regular", position: -1, type: "text" },
    { keyspace_name: "f_fix", table_name: "events", column_name: "at", clustering_order: "desc", column_name_bytes: Buffer.from("6174", "hex"), kind: "clustering", position: 0, type: "timeuuid" },
    { keyspace_name: "f_fix", table_name: "events", column_name: "day", clustering_order: "none", column_name_bytes: Buffer.from("646179", "hex"), kind: "partition_key", position: 1, type: "date" },
    { keyspace_name: "f_fix", table_name: "events", column_name: "k", clustering_order: "none", column_name_bytes: Buffer.from("6b", "hex"), kind: "partition_key", position: 0, type: "int" },
    { keyspace_name: "f_fix", table_name: "events", column_name: "p", clustering_order: "none", column_name_bytes: Buffer.from("70", "hex"), kind: "regular", position: -1, type: "frozen<person>" },
    { keyspace_name: "f_fix", table_name: "events", column_name: "s", clustering_order: "none", column_name_bytes: Buffer.from("73", "hex"), kind: "static", position: -1, type: "text" },
    { keyspace_name: "f_fix", table_name: "events", column_name: "secret", clustering_order: "none", column_name_bytes: Buffer.from("736563726574", "hex"), kind: "regular", position: -1, type: "text" },
    { keyspace_name: "f_fix", table_name: "events", column_name: "tu", clustering_order: "none", column_name_bytes: Buffer.from("7475", "hex"), kind: "regular", position: -1, type: "frozen<tuple<int, text>>" },
    { keyspace_name: "f_fix", table_name: "events", column_name: "up", clustering_order: "none", column_name_bytes: Buffer.from("7570", "hex"), kind: "regular", position: -1, type: "address" },
    { keyspace_name: "f_fix", table_name: "events", column_name: "v", clustering_order: "none", column_name_bytes: Buffer.from("76", "hex"), kind: "regular", position: -1, type: "map<text, frozen<list<int>>>" },
    { keyspace_name: "f_fix", table_name: "events", column_name: "vec", clustering_order: "none", column_name_bytes: Buffer.from("766563", "hex"), kind: "regular", position: -1, type: "vector<float, 3>" },
    { keyspace_name: "f_fix", table_name: "events_by_quoted", column_name: "Quoted Col", clustering_order: "none", column_name_bytes: Buffer.from("51756f74656420436f6c", "hex"), kind: "partition_key", position: 0, type: "text" },
    { keyspace_name: "f_fix", table_name: "events_by_quoted", column_name: "at", clustering_order: "desc", column_name_bytes: Buffer.from("6174", "hex"), kind: "clustering", position: 2, type: "timeuuid" },
    { keyspace_name: "f_fix", table_name: "events_by_quoted", column_name: "day", clustering_order: "asc", column_name_bytes: Buffer.from("646179", "hex"), kind: "clustering", position: 1, type: "date" },
    { keyspace_name: "f_fix", table_name: "events_by_quoted", column_name: "k", clustering_order: "asc", column_name_bytes: Buffer.from("6b", "hex"), kind: "clustering", position: 0, type: "int" },
    { keyspace_name: "f_fix", table_name: "plain", column_name: "k", clustering_order: "none", column_name_bytes: Buffer.from("6b", "hex"), kind: "partition_key", position: 0, type: "text" },
    { keyspace_name: "f_fix", table_name: "plain", column_name: "new", clustering_order: "none", column_name_bytes: Buffer.from("6e6577", "hex"), kind: "regular", position: -1, type: "blob" },
    { keyspace_name: "f_fix", table_name: "select", column_name: "id", clustering_order: "none", column_name_bytes: Buffer.from("6964", "hex"), kind: "partition_key", position: 0, type: "uuid" },
    { keyspace_name: "f_fix", table_name: "select", column_name: "n", clustering_order: "none", column_name_bytes: Buffer.from("6e", "hex"), kind: "regular", position: -1, type: "counter" }
  ],
  droppedColumns: [
    { keyspace_name: "f_fix", table_name: "plain", column_name: "old", dropped_time: new Date("2026-11-26T05:12:58.882Z"), kind: "regular", type: "int" }
  ],
  indexes: [
    { keyspace_name: "f_fix", table_name: "events", index_name: "events_s_sai", kind: "CUSTOM", options: new Map([["class_name", "StorageAttachedIndex"], ["target", "s"]]) },
    { keyspace_name: "f_fix", table_name: "events", index_name: "events_v_keys", kind: "COMPOSITES", options: new Map([["target", "keys(v)"]]) }
  ],
  views: [
    { keyspace_name: "f_fix", view_name: "events_by_quoted", additional_write_policy: "99p", allow_auto_snapshot: null, base_table_id: "0abda2b0-e958-11f1-86e7-59ab8a6eb2f0", base_table_name: "events", bloom_filter_fp_chance: 0.01, caching: new Map([["keys", "ALL"], ["rows_per_partition", "NONE"]]), cdc: null, comment: "", compaction: new Map([["class", "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy"], ["max_threshold", "32"], ["min_threshold", "4"]]), compression: new Map([["chunk_length_in_kb", "16"], ["class", "org.apache.cassandra.io.compress.LZ4Compressor"]]), crc_check_chance: 1, dclocal_read_repair_chance: 0, default_time_to_live: 0, extensions: new Map([]), gc_grace_seconds: 864000, id: "0b34f590-e958-11f1-86e7-59ab8a6eb2f0", include_all_columns: false, incremental_backups: null, max_index_interval: 2048, memtable: null, memtable_flush_period_in_ms: 0, min_index_interval: 128, read_repair: "BLOCKING", read_repair_chance: 0, speculative_retry: "99p", where_clause: "k IS NOT NULL AND day IS NOT NULL AND at IS NOT NULL AND \"Quoted Col\" IS NOT NULL" }
  ],
  types: [
    { keyspace_name: "f_fix", type_name: "address", field_names: ["street", "Zip Code", "tags"], field_types: ["text", "int", "frozen<set<text>>"] },
    { keyspace_name: "f_fix", type_name: "person", field_names: ["name", "home", "others"], field_types: ["text", "frozen<address>", "list<frozen<address>>"] }
  ],
  functions: [
    { keyspace_name: "f_fix", function_name: "fin", argument_types: ["int"], argument_names: ["acc"], body: "return String.valueOf(acc);", called_on_null_input: false, language: "java", return_type: "text" },
    { keyspace_name: "f_fix", function_name: "state_add", argument_types: ["int", "int"], argument_names: ["acc", "v"], body: "return (acc == null ? 0 : acc) + (v == null ? 0 : v);", called_on_null_input: true, language: "java", return_type: "int" }
  ],
  aggregates: [
    { keyspace_name: "f_fix", aggregate_name: "total", argument_types: ["int"], final_func: "fin", initcond: "0", return_type: "text", state_func: "state_add", state_type: "int" }
  ],
  triggers: [],
  columnMasks: [
    { keyspace_name: "f_fix", table_name: "events", column_name: "secret", function_argument_nulls: [false, true], function_argument_types: ["int", "int"], function_argument_values: ["1", ""], function_keyspace: "system", function_name: "mask_inner" }
  ]
}


const parsed = Metadata.parseSchema(fixRows)
const fix = parsed.value.get("f_fix")!

const column = (t: Metadata.Relation, name: string) => t.columns.find((c) => c.name === name)!

describe("parseSchema on real rows", () => {
  it("reads them without warnings", () => {
    expect(parsed.warnings).toEqual([])
    expect([...parsed.value.keys()]).toEqual(["f_fix"])
  })

  it("keyspace, replication and contents", () => {
    expect(fix.name).toBe("f_fix")
    expect(fix.virtual).toBe(false)
    expect(fix.durableWrites).toBe(true)
    expect(fix.replication).toEqual({
      strategyClass: "org.apache.cassandra.locator.NetworkTopologyStrategy",
      options: new Map([["dc1", "1"]])
    })
    expect([...fix.tables.keys()]).toEqual(["events", "plain", "select"])
    expect([...fix.views.keys()]).toEqual(["events_by_quoted"])
    expect([...fix.userTypes.keys()]).toEqual(["address", "person"])
    expect([...fix.functions.keys()]).toEqual(["fin(int)", "state_add(int,int)"])
    expect([...fix.aggregates.keys()]).toEqual(["total(int)"])
  })

  it("user types resolve the types they use", () => {
    const address: DataType.UdtType = {
      kind: "udt",
      keyspace: "f_fix",
      name: "address",
      fields: [
        { name: "street", type: native.varchar },
        { name: "Zip Code", type: native.int },
        { name: "tags", type: { kind: "set", element: native.varchar } }
      ]
    }
    expect(fix.userTypes.get("address")!.type).toEqual(address)
    expect(fix.userTypes.get("person")).toEqual({
      keyspace: "f_fix",
      name: "person",
      fieldNames: ["name", "home", "others"],
      fieldTypes: ["text", "frozen<address>", "list<frozen<address>>"],
      type: {
        kind: "udt",
        keyspace: "f_fix",
        name: "person",
        fields: [
          { name: "name", type: native.varchar },
          { name: "home", type: address },
          { name: "others", type: { kind: "list", element: address } }
        ]
      }
    })
  })

  it("table columns: keys in order, statics, types, masks", () => {
    const t = fix.tables.get("events")!
    expect(t.columns.map((c) => `${c.kind}:${c.name}`)).toEqual([
      "partition_key:k",
      "partition_key:day",
      "clustering:at",
      "static:s",
      "regular:Quoted Col",
      "regular:p",
      "regular:secret",
      "regular:tu",
      "regular:up",
      "regular:v",
      "regular:vec"
    ])
    expect(t.partitionKey.map((c) => c.name)).toEqual(["k", "day"])
    expect(t.clusteringKey.map((c) => [c.name, c.order, c.position])).toEqual([["at", "desc", 0]])
    expect(column(t, "day").type).toBe(native.date)
    expect(column(t, "v")).toEqual({
      name: "v",
      kind: "regular",
      position: -1,
      order: "none",
      cqlType: "map<text, frozen<list<int>>>",
      type: { kind: "map", key: native.varchar, value: { kind: "list", element: native.int } },
      mask: undefined
    })
    expect(column(t, "tu").type).toEqual({ kind: "tuple", elements: [native.int, native.varchar] })
    expect(column(t, "vec").type).toEqual({ kind: "vector", element: native.float, dimension: 3 })
    expect(column(t, "up").type).toBe(fix.userTypes.get("address")!.type)
    expect(column(t, "p").cqlType).toBe("frozen<person>")
    expect(column(t, "secret").mask).toEqual({
      functionKeyspace: "system",
      functionName: "mask_inner",
      argumentTypes: ["int", "int"],
      argumentValues: ["1", null]
    })
  })

  it("table options, flags, indexes, views, dropped columns", () => {
    const t = fix.tables.get("events")!
    expect(t.id).toBe("0abda2b0-e958-11f1-86e7-59ab8a6eb2f0")
    expect(t.flags).toEqual(["compound"])
    expect(t.compactStorage).toBe(false)
    expect(t.options.get("comment")).toBe("it's")
    expect(t.options.get("default_time_to_live")).toBe(100)
    expect(t.options.get("caching")).toEqual(new Map([["keys", "ALL"], ["rows_per_partition", "NONE"]]))
    // Null columns are options that are not set.
    expect(t.options.has("memtable")).toBe(false)
    expect(t.extensions.size).toBe(0)
    expect([...t.indexes.values()]).toEqual([
      {
        name: "events_s_sai",
        table: "events",
        kind: "CUSTOM",
        target: "s",
        className: "StorageAttachedIndex",
        options: new Map([["class_name", "StorageAttachedIndex"], ["target", "s"]])
      },
      {
        name: "events_v_keys",
        table: "events",
        kind: "COMPOSITES",
        target: "keys(v)",
        className: undefined,
        options: new Map([["target", "keys(v)"]])
      }
    ])
    expect(t.views).toEqual(["events_by_quoted"])
    expect(fix.tables.get("select")!.flags).toEqual(["compound", "counter"])
    expect([...fix.tables.get("plain")!.droppedColumns.values()]).toEqual([
      { name: "old", cqlType: "int", kind: "regular", droppedAt: new Date("2026-11-26T05:12:58.882Z") }
    ])
  })

  it("materialized views", () => {
    const v = fix.views.get("events_by_quoted")!
    expect(v.baseTable).toBe("events")
    expect(v.baseTableId).toBe(fix.tables.get("events")!.id)
    expect(v.includeAllColumns).toBe(false)
    expect(v.whereClause).toBe('k IS NOT NULL AND day IS NOT NULL AND at IS NOT NULL AND "Quoted Col" IS NOT NULL')
    expect(v.partitionKey.map((c) => c.name)).toEqual(["Quoted Col"])
    expect(v.clusteringKey.map((c) => `${c.name} ${c.order}`)).toEqual(["k asc", "day asc", "at desc"])
  })

  it("functions and aggregates", () => {
    expect(fix.functions.get("state_add(int,int)")).toEqual({
      keyspace: "f_fix",
      name: "state_add",
      signature: "state_add(int,int)",
      argumentNames: ["acc", "v"],
      argumentTypes: ["int", "int"],
      returnType: "int",
      language: "java",
      body: "return (acc == null ? 0 : acc) + (v == null ? 0 : v);",
      calledOnNullInput: true
    })
    expect(fix.aggregates.get("total(int)")).toEqual({
      keyspace: "f_fix",
      name: "total",
      signature: "total(int)",
      argumentTypes: ["int"],
      stateFunction: "state_add",
      stateType: "int",
      finalFunction: "fin",
      initialCondition: "0",
      returnType: "text"
    })
  })

  it("exports them as DDL", () => {
    expect(SchemaExport.exportKeyspace(fix)).toBe(golden)
  })
})

const golden = `CREATE KEYSPACE f_fix WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '1'} AND durable_writes = true;

CREATE TYPE f_fix.address (
    street text,
    "Zip Code" int,
    tags frozen<set<text>>
);

CREATE TYPE f_fix.person (
    name text,
    home frozen<address>,
    others list<frozen<address>>
);

CREATE FUNCTION f_fix.fin(acc int)
    RETURNS NULL ON NULL INPUT
    RETURNS text
    LANGUAGE java
    AS $$return String.valueOf(acc);$$;

CREATE FUNCTION f_fix.state_add(acc int, v int)
    CALLED ON NULL INPUT
    RETURNS int
    LANGUAGE java
    AS $$return (acc == null ? 0 : acc) + (v == null ? 0 : v);$$;

CREATE AGGREGATE f_fix.total(int)
    SFUNC state_add
    STYPE int
    FINALFUNC fin
    INITCOND 0;

CREATE TABLE f_fix.events (
    k int,
    day date,
    at timeuuid,
    s text static,
    "Quoted Col" text,
    p frozen<person>,
    secret text MASKED WITH system.mask_inner(1, null),
    tu frozen<tuple<int, text>>,
    up address,
    v map<text, frozen<list<int>>>,
    vec vector<float, 3>,
    PRIMARY KEY ((k, day), at)
) WITH CLUSTERING ORDER BY (at DESC)
    AND additional_write_policy = '99p'
    AND bloom_filter_fp_chance = 0.01
    AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}
    AND comment = 'it''s'
    AND compaction = {'class': 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', 'max_threshold': '32', 'min_threshold': '4'}
    AND compression = {'chunk_length_in_kb': '16', 'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}
    AND crc_check_chance = 1
    AND default_time_to_live = 100
    AND gc_grace_seconds = 864000
    AND max_index_interval = 2048
    AND memtable_flush_period_in_ms = 0
    AND min_index_interval = 128
    AND read_repair = 'BLOCKING'
    AND speculative_retry = '99p';
CREATE CUSTOM INDEX events_s_sai ON f_fix.events (s) USING 'StorageAttachedIndex';
CREATE INDEX events_v_keys ON f_fix.events (keys(v));

CREATE MATERIALIZED VIEW f_fix.events_by_quoted AS
    SELECT "Quoted Col", k, day, at
    FROM f_fix.events
    WHERE k IS NOT NULL AND day IS NOT NULL AND at IS NOT NULL AND "Quoted Col" IS NOT NULL
    PRIMARY KEY ("Quoted Col", k, day, at)
    WITH CLUSTERING ORDER BY (k ASC, day ASC, at DESC)
    AND additional_write_policy = '99p'
    AND bloom_filter_fp_chance = 0.01
    AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}
    AND comment = ''
    AND compaction = {'class': 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', 'max_threshold': '32', 'min_threshold': '4'}
    AND compression = {'chunk_length_in_kb': '16', 'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}
    AND crc_check_chance = 1
    AND gc_grace_seconds = 864000
    AND max_index_interval = 2048
    AND memtable_flush_period_in_ms = 0
    AND min_index_interval = 128
    AND read_repair = 'BLOCKING'
    AND speculative_retry = '99p';

CREATE TABLE f_fix.plain (
    k text PRIMARY KEY,
    new blob
) WITH additional_write_policy = '99p'
    AND bloom_filter_fp_chance = 0.1
    AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}
    AND comment = ''
    AND compaction = {'class': 'org.apache.cassandra.db.compaction.LeveledCompactionStrategy', 'max_threshold': '32', 'min_threshold': '4', 'sstable_size_in_mb': '64'}
    AND compression = {'chunk_length_in_kb': '16', 'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}
    AND crc_check_chance = 1
    AND default_time_to_live = 0
    AND gc_grace_seconds = 864000
    AND max_index_interval = 2048
    AND memtable_flush_period_in_ms = 0
    AND min_index_interval = 128
    AND read_repair = 'BLOCKING'
    AND speculative_retry = '99p';

CREATE TABLE f_fix."select" (
    id uuid PRIMARY KEY,
    n counter
) WITH additional_write_policy = '99p'
    AND bloom_filter_fp_chance = 0.01
    AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}
    AND comment = ''
    AND compaction = {'class': 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', 'max_threshold': '32', 'min_threshold': '4'}
    AND compression = {'chunk_length_in_kb': '16', 'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}
    AND crc_check_chance = 1
    AND default_time_to_live = 0
    AND gc_grace_seconds = 864000
    AND max_index_interval = 2048
    AND memtable_flush_period_in_ms = 0
    AND min_index_interval = 128
    AND read_repair = 'BLOCKING'
    AND speculative_retry = '99p';`

// ---------------------------------------------------------------------------------------------------------------

const point: Metadata.UserTypeMetadata = {
  keyspace: "ks",
  name: "point",
  fieldNames: ["x", "y"],
  fieldTypes: ["double", "double"],
  type: { kind: "udt", keyspace: "ks", name: "point", fields: [{ name: "x", type: native.double }, { name: "y", type: native.double }] }
}
const geo: Metadata.UserTypeMetadata = { ...point, name: "Geo \"Shape\"", type: { ...point.type, name: "Geo \"Shape\"" } }
const userTypes = new Map([
  ["point", point],
  [geo.name, geo]
])

const parseType = (text: string) => Metadata.parseCqlType(text, { keyspace: "ks", userTypes })
const parsedType = (text: string) => Either.getOrThrow(parseType(text))
const typeError = (text: string) => Either.flip(parseType(text)).pipe(Either.getOrThrow)

describe("parseCqlType", () => {
  it("knows every native type, case-insensitively", () => {
    for (const t of Object.values(native)) {
      expect(parsedType(t.kind)).toBe(t)
      expect(parsedType(t.kind.toUpperCase())).toBe(t)
    }
    expect(parsedType("text")).toBe(native.varchar)
    expect(parsedType("  Text ")).toBe(native.varchar)
  })

  it("collections, tuples and frozen, nested", () => {
    expect(parsedType("map<text, frozen<list<int>>>")).toEqual({
      kind: "map",
      key: native.varchar,
      value: { kind: "list", element: native.int }
    })
    expect(parsedType("frozen<tuple<int, text, frozen<map<int, text>>>>")).toEqual({
      kind: "tuple",
      elements: [native.int, native.varchar, { kind: "map", key: native.int, value: native.varchar }]
    })
    expect(parsedType("Set<Frozen<SET<uuid>>>")).toEqual({ kind: "set", element: { kind: "set", element: native.uuid } })
    expect(parsedType("list<frozen<tuple<int>>>")).toEqual({ kind: "list", element: { kind: "tuple", elements: [native.int] } })
  })

  it("vectors", () => {
    expect(parsedType("vector<float, 3>")).toEqual({ kind: "vector", element: native.float, dimension: 3 })
    expect(parsedType("vector<frozen<list<int>>,2>")).toEqual({
      kind: "vector",
      element: { kind: "list", element: native.int },
      dimension: 2
    })
    expect(typeError("vector<float, 0>").message).toContain("vector dimension")
    expect(typeError("vector<float>").message).toContain("expected ','")
  })

  it("user types by name, quoted name or keyspace-qualified name", () => {
    expect(parsedType("point")).toBe(point.type)
    expect(parsedType("frozen<POINT>")).toBe(point.type)
    expect(parsedType('frozen<"Geo ""Shape""">')).toBe(geo.type)
    expect(parsedType("ks.point")).toBe(point.type)
    expect(parsedType('list<frozen<"ks"."point">>')).toEqual({ kind: "list", element: point.type })
    expect(typeError('"Point"').message).toContain("unknown user-defined type Point")
    expect(typeError("other.point").message).toContain("unknown user-defined type other.point")
  })

  it("custom class names and the compact-storage empty type", () => {
    expect(parsedType("'org.apache.cassandra.db.marshal.DynamicCompositeType(s=>org.apache.cassandra.db.marshal.UTF8Type)'")).toEqual({
      kind: "custom",
      className: "org.apache.cassandra.db.marshal.DynamicCompositeType(s=>org.apache.cassandra.db.marshal.UTF8Type)"
    })
    expect(parsedType("'org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType,3)'")).toEqual({
      kind: "vector",
      element: native.float,
      dimension: 3
    })
    expect(parsedType("empty")).toEqual({ kind: "custom", className: "org.apache.cassandra.db.marshal.EmptyType" })
  })

  it("reports malformed text with its offset instead of throwing", () => {
    expect(typeError("map<int>").message).toContain("map takes 2 type parameters")
    expect(typeError("list<int").message).toContain("expected '>'")
    expect(typeError("int int")).toMatchObject({ _tag: "CqlTypeError", offset: 4 })
    expect(typeError('"unterminated').message).toContain("unterminated")
    expect(typeError("").message).toContain("expected a type")
    expect(typeError("foo<int>").message).toContain("unknown parameterized type foo")
    expect(typeError(`${"list<".repeat(5000)}int${">".repeat(5000)}`).message).toContain("nested deeper than 64")
  })

  const leaf = fc.constantFrom(...Object.values(native).filter((t) => t.kind !== "counter"))
  const { type: anyType } = fc.letrec<{ type: DataType.DataType }>((tie) => ({
    type: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      tie("type").map((element): DataType.DataType => ({ kind: "list", element })),
      tie("type").map((element): DataType.DataType => ({ kind: "set", element })),
      fc.tuple(tie("type"), tie("type")).map(([key, value]): DataType.DataType => ({ kind: "map", key, value })),
      fc.array(tie("type"), { minLength: 1, maxLength: 3 }).map((elements): DataType.DataType => ({ kind: "tuple", elements })),
      fc.tuple(tie("type"), fc.integer({ min: 1, max: 4096 })).map(([element, dimension]): DataType.DataType => ({ kind: "vector", element, dimension })),
      fc.constant(point.type)
    )
  }))

  it.prop("reads back what the protocol's toCql prints", [anyType], ([t]) => {
    expect(parsedType(DataType.toCql(t))).toEqual(t)
  })
})

// ---------------------------------------------------------------------------------------------------------------

describe("parseSchema on damaged rows", () => {
  it("skips what it cannot read and says why, never throws", () => {
    const p = Metadata.parseSchema({
      keyspaces: [
        { keyspace_name: "k1", durable_writes: true, replication: { class: "SimpleStrategy", replication_factor: "1" } },
        { durable_writes: true }
      ],
      tables: [{ keyspace_name: "k1", table_name: "t", flags: ["compound"] }],
      columns: [
        { keyspace_name: "k1", table_name: "t", column_name: "k", kind: "partition_key", position: 0, type: "int", clustering_order: "none" },
        { keyspace_name: "k1", table_name: "t", column_name: "u", kind: "regular", position: -1, type: "frozen<missing>", clustering_order: "none" },
        { keyspace_name: "k1", table_name: "t", column_name: "w", kind: "weird", type: "int" },
        { keyspace_name: "k1", table_name: "t", column_name: 42, kind: "regular", type: "int" }
      ],
      types: [
        { keyspace_name: "k1", type_name: "a", field_names: ["b"], field_types: ["frozen<b>"] },
        { keyspace_name: "k1", type_name: "b", field_names: ["a"], field_types: ["frozen<a>"] }
      ],
      indexes: [{ keyspace_name: "k1", table_name: "t" }],
      functions: [{ keyspace_name: "k1", function_name: "f" }]
    })
    const k1 = p.value.get("k1")!
    // Plain objects work as maps.
    expect(k1.replication.options).toEqual(new Map([["replication_factor", "1"]]))
    const t = k1.tables.get("t")!
    expect(t.columns.map((c) => c.name)).toEqual(["k", "u"])
    expect(t.columns[1]!.type).toEqual({ kind: "custom", className: "frozen<missing>" })
    expect(t.indexes.size).toBe(0)
    expect(k1.functions.get("f()")).toMatchObject({ body: "", argumentTypes: [] })
    // A cycle between user types (Cassandra refuses them) is broken, with a warning.
    expect(k1.userTypes.size).toBe(2)
    expect(p.warnings).toEqual([
      'type k1.b field a: unknown user-defined type a at offset 7 in "frozen<a>"; kept as a custom type',
      'k1.t.u: unknown user-defined type missing at offset 7 in "frozen<missing>"; kept as a custom type',
      "k1.t: column row without a name, a known kind or a type: skipped",
      "k1.t: column row without a name, a known kind or a type: skipped",
      "keyspace row without keyspace_name: skipped"
    ])
  })

  const junkValue = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string()), fc.uint8Array())
  const junkRow = fc.dictionary(
    fc.constantFrom("keyspace_name", "table_name", "column_name", "type_name", "kind", "type", "position", "field_names", "field_types", "replication", "options", "flags", "view_name", "base_table_name"),
    fc.oneof(junkValue, fc.constant("k"), fc.constant("t"))
  )
  const junkRows = fc.array(junkRow, { maxLength: 6 })

  it.prop("any rows at all parse without throwing", [junkRows, junkRows, junkRows, junkRows, junkRows], ([keyspaces, tables, columns, types, views]) => {
    const p = Metadata.parseSchema({ keyspaces, tables, columns, types, views })
    for (const k of p.value.values()) SchemaExport.exportKeyspace(k)
  })
})

// ---------------------------------------------------------------------------------------------------------------

/** system.local as Cassandra 5.0.9 returned it (truncated_at left out). */
const localRow: Metadata.Row = {
  key: "local",
  bootstrapped: "COMPLETED",
  broadcast_address: "127.0.0.1",
  broadcast_port: 7000,
  cluster_name: "harness",
  cql_version: "3.4.7",
  data_center: "dc1",
  gossip_generation: 1795669203,
  host_id: "2581b096-738b-4820-b9de-95932314742c",
  listen_address: "127.0.0.1",
  listen_port: 7000,
  native_protocol_version: "5",
  partitioner: "org.apache.cassandra.dht.Murmur3Partitioner",
  rack: "rack1",
  release_version: "5.0.9",
  rpc_address: "127.0.0.1",
  rpc_port: 9042,
  schema_version: "d03783d7-b468-3c1a-82f1-8e30b2edde8b",
  tokens: ["-9223372036854775808"]
}

const peerV2 = (i: number, tokens: ReadonlyArray<string>, extra: Metadata.Row = {}): Metadata.Row => ({
  peer: `127.0.0.${i}`,
  peer_port: 7000,
  data_center: "dc1",
  host_id: `00000000-0000-4000-8000-00000000000${i}`,
  native_address: `127.0.0.${i}`,
  native_port: 9042,
  preferred_ip: null,
  preferred_port: null,
  rack: "rack1",
  release_version: "5.0.9",
  schema_version: "d03783d7-b468-3c1a-82f1-8e30b2edde8b",
  tokens,
  ...extra
})

describe("hosts", () => {
  it("reads system.local and system.peers_v2", () => {
    const p = Metadata.parseTopology({
      local: localRow,
      peers: [peerV2(2, ["-3074457345618258602"]), peerV2(3, ["3074457345618258602"], { native_port: 9043 })],
      connectedAddress: "127.0.0.1"
    })
    expect(p.warnings).toEqual([])
    expect(p.value.clusterName).toBe("harness")
    expect(p.value.partitioner).toBe("org.apache.cassandra.dht.Murmur3Partitioner")
    expect([...p.value.hosts.keys()]).toEqual(["127.0.0.1:9042", "127.0.0.2:9042", "127.0.0.3:9043"])
    expect(p.value.hosts.get("127.0.0.1:9042")).toEqual({
      endpoint: "127.0.0.1:9042",
      address: "127.0.0.1",
      port: 9042,
      broadcastAddress: "127.0.0.1",
      hostId: "2581b096-738b-4820-b9de-95932314742c",
      datacenter: "dc1",
      rack: "rack1",
      tokens: ["-9223372036854775808"],
      releaseVersion: "5.0.9",
      schemaVersion: "d03783d7-b468-3c1a-82f1-8e30b2edde8b",
      state: "up"
    })
  })

  it("falls back where addresses are missing or unspecified, and skips what cannot be placed", () => {
    const p = Metadata.parseTopology({
      local: { ...localRow, rpc_address: "0.0.0.0", rpc_port: null },
      peers: [
        // system.peers (before 4.0): rpc_address and no port.
        { peer: "10.0.0.2", rpc_address: "::", data_center: "dc2", tokens: new Set(["1"]) },
        { peer: "10.0.0.3", rpc_address: "fe80::1", data_center: "dc2" },
        { peer: "10.0.0.2", rpc_address: "10.0.0.2" },
        { data_center: "dc2", host_id: "x" }
      ],
      connectedAddress: "10.0.0.1",
      port: 19042
    })
    expect([...p.value.hosts.values()].map((h) => [h.endpoint, h.broadcastAddress, h.tokens])).toEqual([
      ["10.0.0.1:19042", "127.0.0.1", ["-9223372036854775808"]],
      ["10.0.0.2:19042", "10.0.0.2", ["1"]],
      ["[fe80::1]:19042", "10.0.0.3", []]
    ])
    expect(p.warnings).toEqual([
      "two rows for host 10.0.0.2:19042: keeping the first",
      "peer row without an address: skipped (host_id x)"
    ])
  })
})

describe("the snapshot", () => {
  const peers = [peerV2(2, ["-3074457345618258602"]), peerV2(3, ["3074457345618258602"])]
  const schema: Metadata.SchemaRows = {
    keyspaces: [
      ...fixRows.keyspaces,
      { keyspace_name: "two", durable_writes: true, replication: new Map([["class", "org.apache.cassandra.locator.SimpleStrategy"], ["replication_factor", "2"]]) }
    ],
    virtualKeyspaces: [{ keyspace_name: "system_views" }],
    virtualTables: [{ keyspace_name: "system_views", table_name: "caches", comment: "system caches" }],
    virtualColumns: [
      { keyspace_name: "system_views", table_name: "caches", column_name: "name", kind: "partition_key", position: 0, type: "text", clustering_order: "none" }
    ]
  }
  const built = Metadata.fromRows({ local: localRow, peers, connectedAddress: "127.0.0.1", schema })
  const md = built.value

  it("is built from the rows of a full refresh, token map included", () => {
    expect(built.warnings).toEqual([])
    expect([...md.keyspaces.keys()]).toEqual(["f_fix", "two", "system_views"])
    expect(md.keyspaces.get("system_views")!.virtual).toBe(true)
    expect(Metadata.table(md, "system_views", "caches")!.virtual).toBe(true)
    expect(md.tokenMap!.size).toBe(3)
    // Token 0 lies in (-3074457345618258602, 3074457345618258602]: owned by 127.0.0.3.
    expect(md.tokenMap!.replicas("two", 0n).map((h) => h.endpoint)).toEqual(["127.0.0.3:9042", "127.0.0.1:9042"])
    expect(md.tokenMap!.replicas("f_fix", 0n).map((h) => h.endpoint)).toEqual(["127.0.0.3:9042"])
    expect(md.tokenMap!.replicas("system_views", 0n)).toEqual([])
  })

  it("marks a host down without rebuilding the ring", () => {
    const down = Metadata.withHostState(md, "127.0.0.3:9042", "down")
    expect(down.hosts.get("127.0.0.3:9042")!.state).toBe("down")
    expect(down.tokenMap!.replicas("two", 0n).map((h) => h.state)).toEqual(["down", "up"])
    expect(md.hosts.get("127.0.0.3:9042")!.state).toBe("up")
    expect(Metadata.withHostState(md, "127.0.0.9:9042", "down")).toBe(md)
    expect(Metadata.withHostState(md, "127.0.0.3:9042", "up")).toBe(md)
  })

  it("replaces, adds and removes keyspaces", () => {
    const three = Metadata.parseSchema({
      keyspaces: [{ keyspace_name: "two", durable_writes: false, replication: { class: "SimpleStrategy", replication_factor: "3" } }]
    }).value.get("two")!
    const next = Metadata.withKeyspaces(md, [three])
    expect(next.keyspaces.get("two")!.durableWrites).toBe(false)
    expect(next.tokenMap!.replicas("two", 0n)).toHaveLength(3)
    expect(md.tokenMap!.replicas("two", 0n)).toHaveLength(2)
    const gone = Metadata.withoutKeyspace(next, "two")
    expect(gone.keyspaces.has("two")).toBe(false)
    expect(gone.tokenMap!.replicas("two", 0n)).toEqual([])
    expect(Metadata.withoutKeyspace(gone, "two")).toBe(gone)
  })

  it("rebuilds the ring when hosts move, and has none for a partitioner it cannot hash", () => {
    const moved = Metadata.withHosts(md, [...md.hosts.values()].map((h) => (h.address === "127.0.0.3" ? { ...h, tokens: ["-1"] } : h)))
    expect(moved.tokenMap!.replicas("f_fix", 0n).map((h) => h.endpoint)).toEqual(["127.0.0.1:9042"])
    const opp = Metadata.make({ partitioner: "org.apache.cassandra.dht.OrderPreservingPartitioner", hosts: md.hosts.values(), keyspaces: [] })
    expect(opp.tokenMap).toBeUndefined()
    expect(Metadata.empty.tokenMap).toBeUndefined()
  })
})
