/**
 * The control connection, as the Cluster shows it (`cluster.control`): one connection to one node, REGISTERed for
 * topology, status and schema events, that keeps the Metadata up to date and moves to another node when its node
 * dies (internal/control/controlConnection.ts). Read-only here: its host, the protocol version, a full refresh on
 * demand, and schema agreement.
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"

/** A refresh could not be done (no control connection right now, or a system-table query failed). */
export class ControlConnectionError extends Data.TaggedError("ControlConnectionError")<{
  readonly message: string
  /** The control host, when there was one. */
  readonly host: string | undefined
  readonly cause?: unknown
}> {}

export interface SchemaAgreement {
  readonly agreed: boolean
  /** The schema version of each host that is up, by endpoint, as last read (empty if no read succeeded). */
  readonly versions: ReadonlyMap<string, string>
}

export interface ControlConnectionService {
  /** The endpoint (`address:port`, a Metadata.hosts key) of the control node; none while reconnecting. */
  readonly host: Effect.Effect<Option.Option<string>>
  /**
   * The protocol version agreed with the first control node. The pools pin it, so every connection speaks the same
   * version (as the Java driver does) and none repeats the v5-then-v4 negotiation.
   */
  readonly protocolVersion: 4 | 5
  /** Re-reads the topology and the whole schema now. */
  readonly refreshNow: Effect.Effect<void, ControlConnectionError>
  /**
   * Polls the schema versions of the hosts that are up (after DDL) until they are all the same or `timeout`
   * (default 10 s) has passed. Never fails: a poll that fails counts as "not yet".
   */
  readonly awaitSchemaAgreement: (timeout?: Duration.DurationInput) => Effect.Effect<SchemaAgreement>
}

