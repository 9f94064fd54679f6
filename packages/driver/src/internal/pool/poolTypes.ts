/**
 * The types of a host's pool that the pool itself (hostPool.ts) and the ConnectionPools service share: a module
 * below both, so that neither imports the other for them.
 */
import type * as Effect from "effect/Effect"
import type { Connection } from "../connection/connection.js"
import type { HostState } from "../metadata/model.js"

/** The distances that get a pool: a LoadBalancingPolicy's `distance` ("ignored" hosts get none). */
export type PoolDistance = "local" | "remote"

/** "opening" until the first connection opens or the first round of attempts fails. */
export type PoolState = "opening" | HostState | "closed"

/** What `pick` found: a connection, every connection full, or no open connection. */
export type Pick = Connection | "busy" | undefined

export interface HostPool {
  readonly endpoint: string
  readonly distance: PoolDistance
  /** Connections the pool keeps open. */
  readonly size: number
  readonly state: PoolState
  /** The open connections. */
  readonly connections: ReadonlyArray<Connection>
  /** A reconnection loop is running (attempting or waiting for its next attempt). */
  readonly reconnecting: boolean
  /** Synchronous; allocates nothing. */
  pick(): Pick
  /** Requests in flight on the open connections. */
  inFlight(): number
  /** With requests in flight, how long (ms) since the host last answered anything; 0 with none in flight. */
  silentMs(now: number): number
  /** Completes once the first round of connection attempts has ended, whatever its outcome (or the pool closed). */
  readonly initialized: Effect.Effect<void>
}

export interface PoolSnapshot {
  readonly endpoint: string
  readonly distance: PoolDistance
  readonly size: number
  readonly state: PoolState
  /** Requests in flight on each open connection. */
  readonly inFlight: ReadonlyArray<number>
  readonly reconnecting: boolean
}
