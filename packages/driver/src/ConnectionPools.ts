/**
 * The connection pools, as the Cluster shows them (`cluster.pools`): a snapshot of each host's pool, its UP /
 * DOWN transitions and its connections' lifecycle events; and the reconnection schedule to configure. The pools themselves (a pool per host, sized by
 * distance, kept full in the background, the least busy connection picked on the request path) are the Cluster's
 * (internal/pool/connectionPools.ts).
 */
import type * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import type { ConnectionFailure } from "./internal/connection/connectionTypes.js"
import type { HostState } from "./Metadata.js"

export type { PoolDistance, PoolSnapshot, PoolState } from "./internal/pool/poolTypes.js"

export interface HostStateChange {
  readonly endpoint: string
  readonly state: HostState
  /** Why it went down: the failure that closed its last connection or failed the last attempt. */
  readonly cause: ConnectionFailure | undefined
}

/**
 * What happened to a connection of a host's pool (`cluster.pools.connectionEvents`), in the order it happened:
 * - `Connected`: a connection opened (handshake done) and joined the pool; `open` counts the pool's connections now.
 * - `Closed`: a connection closed. `lost` when the pool did not close it (the server went away, a heartbeat or a
 *   stall probe went unanswered, a protocol violation: `cause` says which); not lost when the driver closed it (the
 *   pool shrank, the host left, the Cluster closed).
 * - `ReconnectAttempt`: a round of connection attempts after a loss, or after a round that failed; `attempt`
 *   counts them from 1 since the pool last had a connection come back.
 * - `Reconnected`: the first connection back after a loss or failed rounds, after `attempts` rounds.
 */
export type ConnectionEvent =
  | { readonly _tag: "Connected"; readonly endpoint: string; readonly open: number }
  | {
      readonly _tag: "Closed"
      readonly endpoint: string
      readonly open: number
      readonly lost: boolean
      readonly cause: ConnectionFailure
    }
  | { readonly _tag: "ReconnectAttempt"; readonly endpoint: string; readonly attempt: number }
  | { readonly _tag: "Reconnected"; readonly endpoint: string; readonly attempts: number }

/**
 * Exponential backoff with jitter, capped: attempt n waits min(base * factor^n, max), scaled by a random factor
 * in [0.8, 1] (jitter spreads the reconnections of many clients; scaling down keeps the cap a cap).
 */
export const reconnectionSchedule = (options?: {
  readonly base?: Duration.DurationInput
  readonly factor?: number
  readonly max?: Duration.DurationInput
}): Schedule.Schedule<unknown> =>
  Schedule.exponential(options?.base ?? "1 second", options?.factor ?? 2).pipe(
    Schedule.union(Schedule.spaced(options?.max ?? "60 seconds")),
    Schedule.jitteredWith({ min: 0.8, max: 1 })
  )

