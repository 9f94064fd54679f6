/**
 * Server-pushed events (EVENT, native_protocol_v5.spec 4.2.6) and the schema change description they share with
 * RESULT Schema_change (4.2.5.5). The same layout in v4 and v5.
 */
import type { ByteReader } from "./internal/reader.js"
import type { ByteWriter } from "./internal/writer.js"
import { decodeFail, encodeFail } from "./internal/fail.js"

/** The event types a connection can REGISTER for (spec 4.1.8). */
export type EventType = "TOPOLOGY_CHANGE" | "STATUS_CHANGE" | "SCHEMA_CHANGE"

export const eventTypes: ReadonlyArray<EventType> = ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"]

/** MOVED_NODE is not in the v4/v5 spec text, but Cassandra still defines and may send it. */
export type TopologyChangeType = "NEW_NODE" | "REMOVED_NODE" | "MOVED_NODE"
export type StatusChangeType = "UP" | "DOWN"
export type SchemaChangeType = "CREATED" | "UPDATED" | "DROPPED"

export interface TopologyChange {
  readonly type: "TOPOLOGY_CHANGE"
  readonly change: TopologyChangeType
  readonly address: string
  readonly port: number
}

export interface StatusChange {
  readonly type: "STATUS_CHANGE"
  readonly change: StatusChangeType
  readonly address: string
  readonly port: number
}

/** <change_type><target><options>; the options depend on the target. */
export type SchemaChange =
  | { readonly change: SchemaChangeType; readonly target: "KEYSPACE"; readonly keyspace: string }
  | { readonly change: SchemaChangeType; readonly target: "TABLE" | "TYPE"; readonly keyspace: string; readonly name: string }
  | {
      readonly change: SchemaChangeType
      readonly target: "FUNCTION" | "AGGREGATE"
      readonly keyspace: string
      readonly name: string
      /** One CQL type per argument. */
      readonly argTypes: ReadonlyArray<string>
    }

export type SchemaChangeEvent = { readonly type: "SCHEMA_CHANGE" } & SchemaChange

export type Event = TopologyChange | StatusChange | SchemaChangeEvent

const topologyChanges = new Set<string>(["NEW_NODE", "REMOVED_NODE", "MOVED_NODE"])
const statusChanges = new Set<string>(["UP", "DOWN"])
const schemaChanges = new Set<string>(["CREATED", "UPDATED", "DROPPED"])

const oneOf = <A extends string>(r: ByteReader, allowed: ReadonlySet<string>, what: string): A => {
  const at = r.offset
  const s = r.string()
  return allowed.has(s) ? (s as A) : decodeFail(`unknown ${what} ${JSON.stringify(s)}`, at)
}

/** Reads <change_type><target><options>. An unknown target is a DecodeError: the layout after it is unknown. */
export const readSchemaChange = (r: ByteReader): SchemaChange => {
  const change = oneOf<SchemaChangeType>(r, schemaChanges, "schema change type")
  const at = r.offset
  const target = r.string()
  switch (target) {
    case "KEYSPACE":
      return { change, target, keyspace: r.string() }
    case "TABLE":
    case "TYPE":
      return { change, target, keyspace: r.string(), name: r.string() }
    case "FUNCTION":
    case "AGGREGATE":
      return { change, target, keyspace: r.string(), name: r.string(), argTypes: r.stringList() }
    default:
      return decodeFail(`unknown schema change target ${JSON.stringify(target)}`, at)
  }
}

export const writeSchemaChange = (w: ByteWriter, c: SchemaChange): void => {
  if (!schemaChanges.has(c.change)) encodeFail(`unknown schema change type ${JSON.stringify(c.change)}`, "change")
  w.string(c.change)
  w.string(c.target)
  switch (c.target) {
    case "KEYSPACE":
      w.string(c.keyspace)
      return
    case "TABLE":
    case "TYPE":
      w.string(c.keyspace)
      w.string(c.name)
      return
    case "FUNCTION":
    case "AGGREGATE":
      w.string(c.keyspace)
      w.string(c.name)
      w.stringList(c.argTypes)
      return
    default:
      encodeFail(`unknown schema change target ${JSON.stringify((c as { target: unknown }).target)}`, "target")
  }
}

/** Reads an EVENT body. */
export const read = (r: ByteReader): Event => {
  const at = r.offset
  const type = r.string()
  switch (type) {
    case "TOPOLOGY_CHANGE": {
      const change = oneOf<TopologyChangeType>(r, topologyChanges, "topology change")
      const { address, port } = r.inet()
      return { type, change, address, port }
    }
    case "STATUS_CHANGE": {
      const change = oneOf<StatusChangeType>(r, statusChanges, "status change")
      const { address, port } = r.inet()
      return { type, change, address, port }
    }
    case "SCHEMA_CHANGE":
      return { type, ...readSchemaChange(r) }
    default:
      return decodeFail(`unknown event type ${JSON.stringify(type)}`, at)
  }
}

/** Writes an EVENT body (server side). Throws EncodeError; call it inside an Either-returning entry point. */
export const write = (w: ByteWriter, e: Event): void => {
  switch (e.type) {
    case "TOPOLOGY_CHANGE":
    case "STATUS_CHANGE": {
      const allowed = e.type === "TOPOLOGY_CHANGE" ? topologyChanges : statusChanges
      if (!allowed.has(e.change)) encodeFail(`unknown ${e.type} change ${JSON.stringify(e.change)}`, "change")
      if (!Number.isInteger(e.port) || e.port < 0 || e.port > 0xffff) encodeFail(`${e.port} is not a port`, "port")
      w.string(e.type)
      w.string(e.change)
      w.inet(e.address, e.port)
      return
    }
    case "SCHEMA_CHANGE":
      w.string(e.type)
      writeSchemaChange(w, e)
      return
    default:
      encodeFail(`unknown event type ${JSON.stringify((e as { type: unknown }).type)}`, "type")
  }
}
