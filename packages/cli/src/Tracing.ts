/**
 * TRACING ON: the trace of each statement, read back through the driver's `session.queryTrace` (which waits for
 * the server to finish writing it) and printed as cqlsh prints it: a table of the events (activity, time, node,
 * microseconds since the request reached that node, client), closed by a "Request complete" row with the whole
 * duration.
 */
import type { QueryTrace } from "@effect-cql/driver"
import { DataType, type Rows } from "@effect-cql/protocol"
import { Duration } from "effect"
import { table } from "./ResultFormat.js"

const column = (name: string, type: DataType.DataType): Rows.ColumnSpec => ({ keyspace: "", table: "", name, type })

const columns = [
  column("activity", DataType.native.varchar),
  column("timestamp", DataType.native.timestamp),
  column("source", DataType.native.varchar),
  column("source_elapsed", DataType.native.bigint),
  column("client", DataType.native.varchar)
]

const micros = (d: Duration.Duration): bigint => {
  const nanos = Duration.toNanos(d)
  return nanos._tag === "Some" ? nanos.value / 1000n : BigInt(Math.round(Duration.toMillis(d) * 1000))
}

export const formatTrace = (trace: QueryTrace.QueryTrace): string => {
  const client = trace.client ?? ""
  const rows: Array<Rows.Row> = [
    { activity: trace.request, timestamp: trace.startedAt, source: trace.coordinator, source_elapsed: 0n, client },
    ...trace.events.map((e) => ({ activity: e.activity, timestamp: e.time, source: e.source, source_elapsed: micros(e.sourceElapsed), client })),
    {
      activity: "Request complete",
      timestamp: new Date(trace.startedAt.getTime() + Duration.toMillis(trace.duration)),
      source: trace.coordinator,
      source_elapsed: micros(trace.duration),
      client
    }
  ]
  return `\nTracing session: ${trace.tracingId}\n\n${table(rows, columns)}\n`
}
