import { describe, expect, it } from "@effect/vitest"
import * as Metadata from "../src/Metadata.js"
import * as SchemaExport from "../src/SchemaExport.js"

/** One keyspace from rows; each table gets its columns from `columns` (name, kind, type, position, order). */
const keyspaceOf = (
  rows: Omit<Metadata.SchemaRows, "keyspaces" | "columns"> & {
    readonly replication?: Record<string, string>
    readonly columns?: ReadonlyArray<readonly [string, string, string, string, number?, string?]>
  }
): Metadata.KeyspaceMetadata => {
  const p = Metadata.parseSchema({
    ...rows,
    keyspaces: [
      {
        keyspace_name: "ks",
        durable_writes: true,
        replication: new Map(Object.entries(rows.replication ?? { class: "org.apache.cassandra.locator.SimpleStrategy", replication_factor: "1" }))
      }
    ],
    columns: (rows.columns ?? []).map(([table, name, kind, type, position, order]) => ({
      keyspace_name: "ks",
      table_name: table,
      column_name: name,
      kind,
      type,
      position: position ?? -1,
      clustering_order: order ?? "none"
    }))
  })
  expect(p.warnings).toEqual([])
  return p.value.get("ks")!
}

const table = (name: string, extra: Metadata.Row = {}): Metadata.Row => ({
  keyspace_name: "ks",
  table_name: name,
  flags: ["compound"],
  comment: "",
  ...extra
})

describe("quoteName", () => {
  it("quotes what CQL would otherwise read differently", () => {
    expect(SchemaExport.quoteName("plain_name1")).toBe("plain_name1")
    expect(SchemaExport.quoteName("key")).toBe("key")
    expect(SchemaExport.quoteName("select")).toBe('"select"')
    expect(SchemaExport.quoteName("token")).toBe('"token"')
    expect(SchemaExport.quoteName("Mixed")).toBe('"Mixed"')
    expect(SchemaExport.quoteName("1st")).toBe('"1st"')
    expect(SchemaExport.quoteName('say "hi"')).toBe('"say ""hi"""')
    expect(SchemaExport.quoteName("")).toBe('""')
  })
})

describe("keyspaces", () => {
  it("short strategy names for Cassandra's own classes, full ones for others", () => {
    const nts = keyspaceOf({
      replication: { class: "org.apache.cassandra.locator.NetworkTopologyStrategy", dc2: "3", dc1: "2/1" }
    })
    expect(SchemaExport.keyspaceDdl(nts)).toBe(
      "CREATE KEYSPACE ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': '2/1', 'dc2': '3'} AND durable_writes = true;"
    )
    const custom = keyspaceOf({ replication: { class: "com.example.Placement", "it's": "x" } })
    expect(SchemaExport.keyspaceDdl(custom)).toBe(
      "CREATE KEYSPACE ks WITH replication = {'class': 'com.example.Placement', 'it''s': 'x'} AND durable_writes = true;"
    )
  })

  it("user types come after the types they use", () => {
    const ks = keyspaceOf({
      types: [
        { keyspace_name: "ks", type_name: "a_outer", field_names: ["m"], field_types: ["map<text, frozen<m_middle>>"] },
        { keyspace_name: "ks", type_name: "m_middle", field_names: ["z"], field_types: ["frozen<list<frozen<z_inner>>>"] },
        { keyspace_name: "ks", type_name: "z_inner", field_names: ["n"], field_types: ["int"] }
      ]
    })
    expect(SchemaExport.keyspaceStatements(ks).map((s) => s.split(" (")[0])).toEqual([
      "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '1'} AND durable_writes = true;",
      "CREATE TYPE ks.z_inner",
      "CREATE TYPE ks.m_middle",
      "CREATE TYPE ks.a_outer"
    ])
  })

  it("virtual keyspaces and tables come out as comments and no statements", () => {
    const p = Metadata.parseSchema({
      keyspaces: [],
      virtualKeyspaces: [{ keyspace_name: "system_views" }],
      virtualTables: [{ keyspace_name: "system_views", table_name: "caches", comment: "system caches" }],
      virtualColumns: [
        { keyspace_name: "system_views", table_name: "caches", column_name: "name", kind: "partition_key", position: 0, type: "text", clustering_order: "none" },
        { keyspace_name: "system_views", table_name: "caches", column_name: "size", kind: "regular", position: -1, type: "bigint", clustering_order: "none" }
      ]
    })
    const v = p.value.get("system_views")!
    expect(SchemaExport.keyspaceStatements(v)).toEqual([])
    expect(SchemaExport.tableStatements(v, v.tables.get("caches")!)).toEqual([])
    expect(SchemaExport.exportKeyspace(v)).toBe(
      [
        "/*",
        "Warning: Keyspace system_views is a virtual keyspace and cannot be recreated with CQL.",
        "Structure, for reference:",
        "// VIRTUAL KEYSPACE system_views",
        "",
        "VIRTUAL TABLE system_views.caches (",
        "    name text PRIMARY KEY,",
        "    size bigint",
        ") WITH comment = 'system caches';",
        "*/"
      ].join("\n")
    )
    expect(SchemaExport.exportTable(v, v.tables.get("caches")!)).toMatch(/^\/\*\nWarning: Table system_views\.caches is a virtual table/)
  })
})

describe("functions and aggregates", () => {
  const ks = keyspaceOf({
    functions: [
      {
        keyspace_name: "ks",
        function_name: "Odd Name",
        argument_names: ["select", "l"],
        argument_types: ["frozen<tuple<int, int>>", "list<int>"],
        return_type: "frozen<tuple<int, int>>",
        language: "java",
        body: "return \"$$\" + 'x';",
        called_on_null_input: false
      }
    ],
    aggregates: [
      {
        keyspace_name: "ks",
        aggregate_name: "agg",
        argument_types: ["int"],
        state_func: "Odd Name",
        state_type: "frozen<tuple<int, int>>",
        final_func: null,
        initcond: null,
        return_type: "frozen<tuple<int, int>>"
      }
    ]
  })

  it("declares types unfrozen and quotes a body that holds $$", () => {
    expect(SchemaExport.functionDdl(ks.functions.get("Odd Name(tuple<int,int>,list<int>)")!)).toBe(
      [
        'CREATE FUNCTION ks."Odd Name"("select" tuple<int, int>, l list<int>)',
        "    RETURNS NULL ON NULL INPUT",
        "    RETURNS tuple<int, int>",
        "    LANGUAGE java",
        "    AS 'return \"$$\" + ''x'';';"
      ].join("\n")
    )
  })

  it("leaves out FINALFUNC and INITCOND when there are none", () => {
    expect(SchemaExport.aggregateDdl(ks.aggregates.get("agg(int)")!)).toBe(
      ['CREATE AGGREGATE ks.agg(int)', '    SFUNC "Odd Name"', "    STYPE tuple<int, int>;"].join("\n")
    )
  })
})

describe("tables", () => {
  it("compact storage: a static compact table declares its key and statics as regular columns", () => {
    // Rows of `CREATE TABLE ks.compact (k int PRIMARY KEY, v int) WITH COMPACT STORAGE` on Cassandra 5.0.9.
    const ks = keyspaceOf({
      tables: [table("compact", { flags: [] })],
      columns: [
        ["compact", "column1", "clustering", "text", 0, "asc"],
        ["compact", "k", "partition_key", "int", 0],
        ["compact", "v", "static", "int"],
        ["compact", "value", "regular", "blob"]
      ]
    })
    expect(SchemaExport.tableDdl(ks.tables.get("compact")!)).toBe(
      ["CREATE TABLE ks.compact (", "    k int PRIMARY KEY,", "    v int", ") WITH COMPACT STORAGE", "    AND comment = '';"].join("\n")
    )
  })

  it("compact storage: a dense table hides its value column of type empty", () => {
    // Rows of `CREATE TABLE ks.dense (k int, c int, PRIMARY KEY (k, c)) WITH COMPACT STORAGE AND CLUSTERING ORDER BY (c DESC)`.
    const ks = keyspaceOf({
      tables: [table("dense", { flags: ["dense"] })],
      columns: [
        ["dense", "c", "clustering", "int", 0, "desc"],
        ["dense", "k", "partition_key", "int", 0],
        ["dense", "value", "regular", "empty"]
      ]
    })
    expect(SchemaExport.tableDdl(ks.tables.get("dense")!)).toBe(
      [
        "CREATE TABLE ks.dense (",
        "    k int,",
        "    c int,",
        "    PRIMARY KEY (k, c)",
        ") WITH COMPACT STORAGE",
        "    AND CLUSTERING ORDER BY (c DESC)",
        "    AND comment = '';"
      ].join("\n")
    )
  })

  it("masks quote the arguments of text-like types", () => {
    const ks = keyspaceOf({
      tables: [table("m")],
      columns: [
        ["m", "k", "partition_key", "int", 0],
        ["m", "d", "regular", "date"],
        ["m", "z", "regular", "text"]
      ],
      columnMasks: [
        { keyspace_name: "ks", table_name: "m", column_name: "d", function_keyspace: "system", function_name: "mask_replace", function_argument_types: ["date"], function_argument_values: ["2020-01-01"], function_argument_nulls: [false] },
        { keyspace_name: "ks", table_name: "m", column_name: "z", function_keyspace: "system", function_name: "mask_inner", function_argument_types: ["int", "int", "text"], function_argument_values: ["1", "", "it's"], function_argument_nulls: [false, true, false] }
      ]
    })
    expect(SchemaExport.tableDdl(ks.tables.get("m")!).split("\n").slice(2, 4)).toEqual([
      "    d date MASKED WITH system.mask_replace('2020-01-01'),",
      "    z text MASKED WITH system.mask_inner(1, null, 'it''s')"
    ])
  })

  it("options: maps, numbers, booleans, extensions; obsolete read-repair chances only where read_repair replaced them", () => {
    const ks = keyspaceOf({
      tables: [
        table("new", {
          read_repair: "NONE",
          read_repair_chance: 0,
          dclocal_read_repair_chance: 0.1,
          allow_auto_snapshot: false,
          caching: new Map([["keys", "ALL"]]),
          crc_check_chance: 0.5,
          extensions: new Map([["ext", Buffer.from([1, 2])]])
        }),
        table("old", { read_repair_chance: 0.2, dclocal_read_repair_chance: 0.1 })
      ],
      columns: [
        ["new", "k", "partition_key", "int", 0],
        ["old", "k", "partition_key", "int", 0]
      ]
    })
    expect(SchemaExport.tableDdl(ks.tables.get("new")!).split("\n").slice(2)).toEqual([
      ") WITH allow_auto_snapshot = false",
      "    AND caching = {'keys': 'ALL'}",
      "    AND comment = ''",
      "    AND crc_check_chance = 0.5",
      "    AND extensions = {'ext': 0x0102}",
      "    AND read_repair = 'NONE';"
    ])
    expect(SchemaExport.tableDdl(ks.tables.get("old")!)).toContain("AND dclocal_read_repair_chance = 0.1\n    AND read_repair_chance = 0.2;")
  })

  it("a table with its indexes and triggers, then its views", () => {
    const ks = keyspaceOf({
      tables: [table("t")],
      columns: [
        ["t", "k", "partition_key", "int", 0],
        ["t", "c", "clustering", "int", 0, "asc"],
        ["t", "v", "regular", "text"],
        ["v1", "v", "partition_key", "text", 0],
        ["v1", "k", "clustering", "int", 0, "desc"],
        ["v1", "c", "clustering", "int", 1, "asc"]
      ],
      indexes: [
        { keyspace_name: "ks", table_name: "t", index_name: "t_v", kind: "CUSTOM", options: new Map([["class_name", "sai"], ["target", "v"]]) },
        { keyspace_name: "ks", table_name: "t", index_name: "Odd", kind: "KEYS", options: new Map([["target", "c"]]) }
      ],
      triggers: [{ keyspace_name: "ks", table_name: "t", trigger_name: "audit", options: new Map([["class", "com.example.Audit"]]) }],
      views: [
        {
          keyspace_name: "ks",
          view_name: "v1",
          base_table_name: "t",
          include_all_columns: true,
          where_clause: "v IS NOT NULL AND k IS NOT NULL AND c IS NOT NULL",
          default_time_to_live: 0,
          comment: "by v"
        }
      ]
    })
    expect(SchemaExport.tableStatements(ks, ks.tables.get("t")!)).toEqual([
      "CREATE TABLE ks.t (\n    k int,\n    c int,\n    v text,\n    PRIMARY KEY (k, c)\n) WITH CLUSTERING ORDER BY (c ASC)\n    AND comment = '';",
      'CREATE INDEX "Odd" ON ks.t (c);',
      "CREATE CUSTOM INDEX t_v ON ks.t (v) USING 'sai';",
      "CREATE TRIGGER audit ON ks.t USING 'com.example.Audit';",
      [
        "CREATE MATERIALIZED VIEW ks.v1 AS",
        "    SELECT *",
        "    FROM ks.t",
        "    WHERE v IS NOT NULL AND k IS NOT NULL AND c IS NOT NULL",
        "    PRIMARY KEY (v, k, c)",
        "    WITH CLUSTERING ORDER BY (k DESC, c ASC)",
        "    AND comment = 'by v';"
      ].join("\n")
    ])
    // In the keyspace text, the table's statements are one group and each view another.
    expect(SchemaExport.exportTable(ks, ks.tables.get("t")!)).toContain("'com.example.Audit';\n\nCREATE MATERIALIZED VIEW")
  })
})
