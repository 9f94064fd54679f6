/**
 * The Cluster's Metadata, as its `metadata` facet shows it: the current immutable snapshot (hosts, schema, token
 * map), read without I/O, and every new one as it comes. Read-only: the control connection keeps it current
 * (internal/metadata/metadataStore.ts).
 */
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type * as Metadata from "./Metadata.js"

export interface MetadataService {
  /** The snapshot now: a plain read, for the request path. */
  readonly current: () => Metadata.Metadata
  readonly get: Effect.Effect<Metadata.Metadata>
  /** The current snapshot, then every new one. */
  readonly changes: Stream.Stream<Metadata.Metadata>
}
