import { describe, expect, it } from "@effect/vitest"
import { Metadata } from "@effect-cql/driver"
import { Either } from "effect"
import { complete } from "../src/Completion.js"
import { describe as describeSchema } from "../src/Describe.js"

const column = (table: string, name: string, kind: string, type: string, position = -1) =>
  ({ keyspace_name: "app", table_name: table, column_name: name, kind, type, position, clustering_order: "none" })

const md = Metadata.make({
  clusterName: "Test Cluster",
  partitioner: "org.apache.cassandra.dht.Murmur3Partitioner",
  hosts: [],
  keyspaces: Metadata.parseSchema({
    keyspaces: [
      { keyspace_name: "app", durable_writes: true, replication: new Map([["class", "org.apache.cassandra.locator.SimpleStrategy"], ["replication_factor", "1"]]) },
      { keyspace_name: "audit", durable_writes: true, replication: new Map([["class", "org.apache.cassandra.locator.SimpleStrategy"], ["replication_factor", "1"]]) }
    ],
    types: [{ keyspace_name: "app", type_name: "zip", field_names: ["code"], field_types: ["text"] }],
    tables: [
      { keyspace_name: "app", table_name: "users", flags: ["compound"] },
      { keyspace_name: "app", table_name: "user_events", flags: ["compound"] }
    ],
    columns: [
      column("users", "id", "partition_key", "uuid", 0),
      column("users", "name", "regular", "text"),
      column("users", "nickname", "regular", "text"),
      column("user_events", "id", "partition_key", "uuid", 0)
    ]
  }).value.values()
})

describe("Tab completion from the Metadata", () => {
  it("tables after FROM (the keyspace in use, then keyspaces), tables after ks.", () => {
    expect(complete("SELECT * FROM us", md, "app")).toEqual([["user_events", "users"], "us"])
    expect(complete("SELECT * FROM a", md, undefined)).toEqual([["app.", "audit."], "a"])
    expect(complete("INSERT INTO app.u", md, undefined)).toEqual([["app.user_events", "app.users"], "app.u"])
  })

  it("keyspaces after USE; keywords in the case typed; columns of the tables the line names", () => {
    expect(complete("USE au", md, undefined)).toEqual([["audit"], "au"])
    expect(complete("sel", md, undefined)).toEqual([["select"], "sel"])
    expect(complete("SEL", md, undefined)).toEqual([["SELECT"], "SEL"])
    expect(complete("SELECT n", md, undefined)[0]).toEqual(["not"])
    expect(complete("UPDATE users SET n", md, "app")).toEqual([["name", "nickname", "not"], "n"])
  })
})

describe("DESCRIBE from the Metadata", () => {
  const text = (args: string, current?: string) => Either.getOrThrow(describeSchema(md, args, current))

  it("the cluster, keyspaces, tables of the keyspace in use", () => {
    expect(text("CLUSTER")).toBe("Cluster: Test Cluster\nPartitioner: Murmur3Partitioner\n")
    expect(text("KEYSPACES")).toBe("app  audit\n")
    expect(text("TABLES", "app")).toBe("user_events  users\n")
  })

  it("a table, a type and a keyspace as CQL, by qualified or bare name", () => {
    expect(text("TABLE app.users")).toMatch(/^CREATE TABLE app\.users \(\n {4}id uuid PRIMARY KEY,\n {4}name text,\n {4}nickname text\n\)/)
    expect(text("users", "app")).toBe(text("TABLE app.users"))
    expect(text("TYPE zip", "app")).toBe("CREATE TYPE app.zip (\n    code text\n);\n")
    expect(text("KEYSPACE audit")).toMatch(/^CREATE KEYSPACE audit WITH replication = \{'class': 'SimpleStrategy', 'replication_factor': '1'\}/)
  })

  it("names what it could not find", () => {
    expect(describeSchema(md, "TABLE app.nope", undefined)).toEqual(Either.left(expect.objectContaining({ message: "table app.nope not found" })))
    expect(describeSchema(md, "TABLES", undefined)._tag).toBe("Right")
    expect(describeSchema(md, "TYPE zip", undefined)).toEqual(Either.left(expect.objectContaining({ message: "no keyspace in use: name one, as ks.zip" })))
  })
})
