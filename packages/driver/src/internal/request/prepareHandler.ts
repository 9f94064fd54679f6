/**
 * PREPARE on one connection, in plain callbacks, and the background work that keeps prepared statements on every
 * node: after a first PREPARE, on the other hosts; after a host comes back UP, every known statement there.
 *
 * Concurrent PREPAREs of one statement on one host share a single request (per host, not per cluster: a re-prepare
 * after UNPREPARED must reach that host, not join a PREPARE running elsewhere). A PREPARE is not cancelled when its
 * requester goes away: others may be waiting for it, and it changes nothing on the server.
 */
import * as Effect from "effect/Effect"
import * as CqlError from "../../CqlError.js"
import type { HostMetrics } from "../../Metrics.js"
import type * as Registry from "../../Registry.js"
import type { Connection } from "../connection/connection.js"
import type { Pick } from "../pool/poolTypes.js"
import { fromConnectionFailure } from "./failure.js"
import type { Messages } from "./messages.js"
import type * as RegistryStore from "./registryStore.js"

export type Prepared = (error: CqlError.RequestError | undefined, statement: Registry.PreparedStatement | undefined) => void

/** What the request path reads of the pools, synchronously: a connection of a host's pool, and its load. */
export interface PoolLookup {
  readonly get: (endpoint: string) => { pick(): Pick; inFlight(): number; silentMs(now: number): number } | undefined
}

export class PrepareHandler {
  private readonly pending = new Map<string, Array<Prepared>>()

  constructor(
    private readonly registry: RegistryStore.RegistryStore,
    private readonly messages: Messages,
    private readonly metricsOf: (conn: Connection) => HostMetrics
  ) {}

  /** Prepares `query` on `conn`; `done` gets the statement (also put in the registry) or the error, once. */
  prepareOn(conn: Connection, query: string, keyspace: string | undefined, done: Prepared): void {
    const host = conn.hostId
    const key = `${host}\u0000${keyspace ?? ""}\u0000${query}`
    const waiting = this.pending.get(key)
    if (waiting !== undefined) return void waiting.push(done)
    this.pending.set(key, [done])
    const m = this.metricsOf(conn)
    const started = performance.now()
    m.requestStarted()
    conn.send(this.messages.prepare(query, keyspace), { timeoutMs: this.messages.defaults.requestTimeoutMs }, (failure, res) => {
      const callbacks = this.pending.get(key) ?? []
      this.pending.delete(key)
      let error: CqlError.RequestError | undefined
      let statement: Registry.PreparedStatement | undefined
      if (failure !== undefined) error = fromConnectionFailure(failure, host)
      else if (res!._tag === "Error") error = CqlError.fromWire(res.error, host)
      else if (res!._tag !== "Prepared") error = new CqlError.ConnectionError({ host, message: `PREPARE answered with ${res!._tag}` })
      else {
        statement = {
          query,
          keyspace,
          id: res.id,
          resultMetadataId: res.resultMetadataId,
          bindColumns: res.metadata.columns,
          bindTypes: res.metadata.columns.map((c) => c.type),
          pkIndexes: res.metadata.pkIndexes,
          resultColumns: res.resultMetadata.columns ?? []
        }
        this.registry.putPrepared(statement)
        this.registry.markPreparedOn(host, keyspace, query)
      }
      m.requestEnded(performance.now() - started, error?._tag)
      for (const cb of callbacks) cb(error, statement)
    })
  }

  /** `prepareOn` as an Effect. */
  prepareOnEffect(conn: Connection, query: string, keyspace: string | undefined): Effect.Effect<Registry.PreparedStatement, CqlError.RequestError> {
    return Effect.async((resume) =>
      this.prepareOn(conn, query, keyspace, (error, statement) => resume(error === undefined ? Effect.succeed(statement!) : Effect.fail(error)))
    )
  }

  /** Prepares `query` on each of `endpoints` that does not have it yet (a background task after a first PREPARE). */
  everywhere(pools: PoolLookup, endpoints: Iterable<string>, query: string, keyspace: string | undefined): Effect.Effect<void> {
    return Effect.forEach(
      endpoints,
      (endpoint) => {
        const conn = pools.get(endpoint)?.pick()
        return conn === undefined || conn === "busy" || this.registry.isPreparedOn(conn.hostId, keyspace, query)
          ? Effect.void
          : Effect.ignore(this.prepareOnEffect(conn, query, keyspace))
      },
      { concurrency: 4, discard: true }
    )
  }

  /**
   * Prepares `statements` on `endpoint`: a host back UP may have lost them (a restart before Cassandra 4.0 forgets
   * them; a replaced node never had them), and preparing now spares each one's first execution an UNPREPARED.
   */
  allOn(pools: PoolLookup, endpoint: string, statements: ReadonlyArray<Registry.PreparedStatement>): Effect.Effect<void> {
    return Effect.forEach(
      statements,
      (s) => {
        const conn = pools.get(endpoint)?.pick()
        return conn === undefined || conn === "busy" ? Effect.void : Effect.ignore(this.prepareOnEffect(conn, s.query, s.keyspace))
      },
      { concurrency: 4, discard: true }
    )
  }
}
