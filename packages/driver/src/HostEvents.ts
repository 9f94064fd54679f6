/**
 * What happens to the cluster, as the Cluster's `events` facet shows it: host events (Added, Removed, Up, Down),
 * published once the Metadata snapshot shows them, and schema changes pushed by the server, published once the
 * refreshed schema is in the snapshot; as a Stream or as callbacks. Read-only: the Cluster's own services publish
 * (internal/control/hostEventHub.ts).
 */
import type { Event } from "@effect-cql/protocol"
import type * as Effect from "effect/Effect"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { Host } from "./Metadata.js"

/** A host joined the cluster (a topology refresh found it). */
export interface Added {
  readonly _tag: "Added"
  readonly host: Host
}

/** A host left the cluster (a topology refresh no longer finds it). */
export interface Removed {
  readonly _tag: "Removed"
  readonly host: Host
}

export interface Up {
  readonly _tag: "Up"
  readonly host: Host
}

export interface Down {
  readonly _tag: "Down"
  readonly host: Host
}

export type HostEvent = Added | Removed | Up | Down

/** A SCHEMA_CHANGE the server pushed, published after the Metadata snapshot was refreshed for it. */
export interface SchemaChanged {
  readonly _tag: "SchemaChanged"
  readonly change: Event.SchemaChange
}

export type ClusterEvent = HostEvent | SchemaChanged

export interface HostEvents {
  /** A subscription for the scope: every event published from now on (a sliding buffer per subscriber). */
  readonly subscribe: Effect.Effect<Queue.Dequeue<ClusterEvent>, never, Scope.Scope>
  /** The events published after the stream starts. */
  readonly events: Stream.Stream<ClusterEvent>
  /** Registers `callback` for host events; the Effect it returns unregisters it. */
  readonly onHostEvent: (callback: (event: HostEvent) => void) => Effect.Effect<Effect.Effect<void>>
  /** Registers `callback` for schema events; the Effect it returns unregisters it. */
  readonly onSchemaChange: (callback: (event: SchemaChanged) => void) => Effect.Effect<Effect.Effect<void>>
}

