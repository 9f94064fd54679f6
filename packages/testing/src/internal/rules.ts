/**
 * The rules a stub node answers by, and what they answer: shared by the server (which takes them) and each node
 * (which applies them), in a module below both.
 */
import type { DataType, Rows, ServerError } from "@effect-cql/protocol"
import type * as Duration from "effect/Duration"
import type { QueryMatcher } from "./match.js"
import type { Malformed } from "./stubConnection.js"

/** The requests a rule can answer. */
export type Statement = "query" | "prepare" | "execute" | "batch"

/**
 * How a node answers the statements that match. Rules are checked newest first (a node's own rules before the
 * server's); `times` uses a rule up after that many answers. The first of these that a rule sets is its answer:
 * `error`, `drop`, `noResponse`, `malformed`, then `rows` (absent: a Void result), each after `delay`.
 */
export interface Rule {
  readonly query: QueryMatcher
  /**
   * Expected parameters, positional or by name: each is encoded with the bound type (the prepared marker's, or the
   * one its JS value implies for a QUERY) and compared with the bytes sent. Or a predicate over the values: decoded
   * for an EXECUTE (the node knows their types), raw bytes for a QUERY. Absent: any parameters.
   */
  readonly params?: ReadonlyArray<unknown> | Readonly<Record<string, unknown>> | ((values: ReadonlyArray<unknown>) => boolean)
  /** Which requests the rule answers. Default QUERY, EXECUTE and BATCH: PREPARE succeeds for any known query. */
  readonly on?: ReadonlyArray<Statement>
  readonly rows?: ReadonlyArray<Rows.Row>
  /** Result columns. Default: the SELECT's columns of an emulated table, else inferred from the first row. */
  readonly columns?: Readonly<Record<string, DataType.DataType>>
  /** Bind markers PREPARE reports. Default: the columns they are bound to in an emulated table, else inferred. */
  readonly bind?: Readonly<Record<string, DataType.DataType>>
  /** Answer with this ERROR (e.g. `{ kind: "Unavailable", message, consistency: "QUORUM", required: 2, alive: 1 }`). */
  readonly error?: ServerError.ServerError
  /** Real time (the sockets are real): wait this long before answering. */
  readonly delay?: Duration.DurationInput
  /** Close the connection instead of answering (what was answered before still goes out). */
  readonly drop?: boolean
  /** Never answer (for client timeouts). */
  readonly noResponse?: boolean
  /** Answer with bytes the client must reject. */
  readonly malformed?: Malformed
  readonly warnings?: ReadonlyArray<string>
  readonly times?: number
}
