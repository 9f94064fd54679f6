/**
 * The MetadataService behind the Cluster's `metadata` facet, with its writers: the current Metadata snapshot
 * (hosts, schema, token map) in a SubscriptionRef. Every change builds a new snapshot and swaps it in whole; `current()` reads it synchronously, without I/O, for the request
 * path. The token map lives in the snapshot and is rebuilt only when it has to be: a refresh whose hosts kept
 * their endpoints, tokens, data centres and racks reuses the ring, and keyspaces whose replication is unchanged
 * reuse their replica placements (Metadata.withHosts / withKeyspaces).
 *
 * Host changes are published to HostEvents after the snapshot shows them: Added/Removed from topology refreshes,
 * Up/Down from `markHost` (called for STATUS_CHANGE events and by the connection pools). A refresh never changes a
 * known host's state: system tables do not say whether a node is up.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as HostEventHub from "../control/hostEventHub.js"
import * as Metadata from "../../Metadata.js"
import type { MetadataService } from "../../MetadataService.js"

/** Hosts as a topology refresh read them (system.local and system.peers). */
export interface Topology {
  readonly clusterName: string | undefined
  readonly partitioner: string | undefined
  /** By endpoint, as `Metadata.parseTopology` gives them. */
  readonly hosts: ReadonlyMap<string, Metadata.Host>
}

/** Keyspaces as a schema refresh read them. */
export interface SchemaUpdate {
  readonly keyspaces: ReadonlyMap<string, Metadata.KeyspaceMetadata>
  /**
   * What was read: "all" (a keyspace the snapshot has and `keyspaces` lacks was dropped), or these keyspace names
   * (each one absent from `keyspaces` was dropped; the others are left as they are).
   */
  readonly refreshed: "all" | ReadonlyArray<string>
}

/** One refresh, applied as one snapshot. */
export interface Refresh {
  readonly topology?: Topology
  readonly schema?: SchemaUpdate
}

/** The MetadataService with what changes it: the control connection's refreshes and the pools' host states. */
export interface MetadataStore extends MetadataService {
  /** Applies a refresh and publishes the hosts it added and removed; returns the new snapshot. */
  readonly apply: (refresh: Refresh) => Effect.Effect<Metadata.Metadata>
  /**
   * Marks a host up or down and publishes Up/Down; true when its state changed (an unknown endpoint or an
   * unchanged state does nothing and publishes nothing).
   */
  readonly markHost: (endpoint: string, state: Metadata.HostState) => Effect.Effect<boolean>
}

export const MetadataStore = Context.GenericTag<MetadataStore>("@effect-cql/driver/MetadataStore")

/** The keyspaces a schema update drops from `current`. */
const dropped = (current: ReadonlyMap<string, unknown>, update: SchemaUpdate): Array<string> =>
  [...(update.refreshed === "all" ? current.keys() : update.refreshed)].filter((k) => current.has(k) && !update.keyspaces.has(k))

const withSchema = (md: Metadata.Metadata, update: SchemaUpdate): Metadata.Metadata => {
  let next = md
  for (const name of dropped(md.keyspaces, update)) next = Metadata.withoutKeyspace(next, name)
  return update.keyspaces.size === 0 ? next : Metadata.withKeyspaces(next, update.keyspaces.values())
}

interface Applied {
  readonly next: Metadata.Metadata
  readonly added: ReadonlyArray<Metadata.Host>
  readonly removed: ReadonlyArray<Metadata.Host>
}

/** The snapshot after `refresh`, with the hosts it added and removed. Pure. */
export const applyRefresh = (md: Metadata.Metadata, refresh: Refresh): Applied => {
  const t = refresh.topology
  if (t === undefined) return { next: refresh.schema === undefined ? md : withSchema(md, refresh.schema), added: [], removed: [] }
  const hosts: Array<Metadata.Host> = []
  const added: Array<Metadata.Host> = []
  const seen = new Set<string>()
  for (const h of t.hosts.values()) {
    const old = md.hosts.get(h.endpoint)
    const host = old === undefined || old.state === h.state ? h : { ...h, state: old.state }
    if (old === undefined) added.push(host)
    hosts.push(host)
    seen.add(host.endpoint)
  }
  const removed = [...md.hosts.values()].filter((h) => !seen.has(h.endpoint))
  let next: Metadata.Metadata
  if (md.tokenMap === undefined || md.partitioner !== t.partitioner) {
    // No ring yet (or another partitioner): build everything at once.
    const keyspaces = new Map(md.keyspaces)
    if (refresh.schema !== undefined) {
      for (const name of dropped(keyspaces, refresh.schema)) keyspaces.delete(name)
      for (const [name, k] of refresh.schema.keyspaces) keyspaces.set(name, k)
    }
    next = Metadata.make({ clusterName: t.clusterName, partitioner: t.partitioner, hosts, keyspaces: keyspaces.values() })
  } else {
    next = { ...Metadata.withHosts(md, hosts), clusterName: t.clusterName }
    if (refresh.schema !== undefined) next = withSchema(next, refresh.schema)
  }
  return { next, added, removed }
}

export const make: Effect.Effect<MetadataStore, never, HostEventHub.HostEventHub> = Effect.gen(function* () {
  const events = yield* HostEventHub.HostEventHub
  const ref = yield* SubscriptionRef.make(Metadata.empty)
  // The same value as the ref, set in the same step: read without an Effect.
  let latest = Metadata.empty

  const apply = (refresh: Refresh) =>
    SubscriptionRef.modify(ref, (md) => {
      const applied = applyRefresh(md, refresh)
      latest = applied.next
      return [applied, applied.next]
    }).pipe(
      Effect.tap(({ added, removed }) =>
        Effect.forEach(
          [...added.map((host) => ({ _tag: "Added", host }) as const), ...removed.map((host) => ({ _tag: "Removed", host }) as const)],
          events.publish,
          { discard: true }
        )
      ),
      Effect.map((applied) => applied.next)
    )

  const markHost = (endpoint: string, state: Metadata.HostState) =>
    Effect.suspend(() => {
      const known = latest.hosts.get(endpoint)
      if (known === undefined || known.state === state) return Effect.succeed(false)
      return SubscriptionRef.modify(ref, (md) => {
        const next = Metadata.withHostState(md, endpoint, state)
        latest = next
        return [next === md ? undefined : next.hosts.get(endpoint), next]
      }).pipe(
        Effect.flatMap((host) =>
          host === undefined ? Effect.succeed(false) : Effect.as(events.publish({ _tag: state === "up" ? "Up" : "Down", host }), true)
        )
      )
    })

  const service: MetadataStore = {
    current: () => latest,
    get: SubscriptionRef.get(ref),
    changes: ref.changes,
    apply,
    markHost
  }
  return service
})

/** The MetadataService, over the HostEvents it publishes to. */
export const layer: Layer.Layer<MetadataStore, never, HostEventHub.HostEventHub> = Layer.effect(MetadataStore, make)
