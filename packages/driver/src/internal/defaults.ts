/**
 * Every default of the Cluster and the Session, in one place, so that the docs, the Cluster, the Session and the
 * test toolkit cannot disagree about them.
 */
import type { Consistency } from "@effect-cql/protocol"
import * as Duration from "effect/Duration"

export const PORT = 9042
export const CONNECT_TIMEOUT_MS = 5_000
export const REQUEST_TIMEOUT_MS = 12_000
export const HEARTBEAT_INTERVAL_MS = 30_000
/** A connection with requests in flight that reads nothing for this long is probed (and takes no new requests). */
export const STALL_TIMEOUT_MS = 1_000
/** How long a probe (stall or heartbeat) waits; the Java driver's heartbeat waits 500 ms. */
export const PROBE_TIMEOUT_MS = 1_000
/** Requests in flight on one connection before it reports busy (a v3+ connection has 32,768 stream ids). */
export const MAX_REQUESTS_PER_CONNECTION = 2048
/** How long closing waits for requests in flight (Sessions, then pools). */
export const SHUTDOWN_GRACE_MS = 5_000
export const CONSISTENCY: Consistency.Consistency = "LOCAL_ONE"
export const SERIAL_CONSISTENCY: Consistency.Consistency = "SERIAL"
export const PAGE_SIZE = 5000
export const SCHEMA_AGREEMENT_TIMEOUT_MS = 10_000
/** Management tasks (re-preparing, background work) the Executor runs at once. */
export const EXECUTOR_SIZE = 4
export const MAX_PREPARED_STATEMENTS = 10_000
export const DRIVER_NAME = "effect-cql"
export const DRIVER_VERSION = "0.1.0"

/** A duration setting in milliseconds, or its default when it is not set. */
export const millisOr = (d: Duration.DurationInput | undefined, fallback: number): number => (d === undefined ? fallback : Duration.toMillis(d))
