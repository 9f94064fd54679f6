/**
 * The hub behind the Cluster's `events` facet (HostEvents.ts): what happens to the cluster, as a `Stream` (from a PubSub) and as registered callbacks.
 *
 * - Host events (Added, Removed, Up, Down) come from the MetadataService, which publishes them when it applies a
 *   topology refresh or a state change (from the control connection's STATUS_CHANGE events or from the pools):
 *   by then the Metadata snapshot already shows the change.
 * - Schema events (SchemaChanged) come from the control connection once the refreshed schema is in the snapshot.
 *
 * Callbacks run in registration order, synchronously inside `publish`, before stream subscribers get the event. A
 * callback that throws is logged and the others still run.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ClusterEvent, HostEvent, HostEvents, SchemaChanged } from "../../HostEvents.js"

/** HostEvents with `publish`, for the metadata store and the control connection that make the events. */
export interface HostEventHub extends HostEvents {
  /** Runs the callbacks, then hands the event to the stream subscribers. */
  readonly publish: (event: ClusterEvent) => Effect.Effect<void>
}

export const HostEventHub = Context.GenericTag<HostEventHub>("@effect-cql/driver/HostEventHub")


export interface Options {
  /**
   * Events kept for a subscriber that does not keep up; past this the oldest are dropped (sliding), so that a
   * forgotten subscription cannot hold memory without bound. Default 1024.
   */
  readonly bufferSize?: number
}

const isHostEvent = (e: ClusterEvent): e is HostEvent => e._tag !== "SchemaChanged"

export const make = (options: Options = {}): Effect.Effect<HostEventHub, never, Scope.Scope> =>
  Effect.gen(function* () {
    const pubsub = yield* Effect.acquireRelease(PubSub.sliding<ClusterEvent>(options.bufferSize ?? 1024), PubSub.shutdown)
    // A Set keeps registration order, and a callback registered twice is two registrations of distinct wrappers.
    const hostCallbacks = new Set<{ readonly run: (e: HostEvent) => void }>()
    const schemaCallbacks = new Set<{ readonly run: (e: SchemaChanged) => void }>()

    const register = <A>(set: Set<{ readonly run: (e: A) => void }>, run: (e: A) => void) =>
      Effect.sync(() => {
        const entry = { run }
        set.add(entry)
        return Effect.sync(() => {
          set.delete(entry)
        })
      })

    const failed: Array<unknown> = []
    const runAll = <A>(set: ReadonlySet<{ readonly run: (e: A) => void }>, e: A) => {
      for (const c of [...set]) {
        try {
          c.run(e)
        } catch (error) {
          failed.push(error)
        }
      }
    }

    const publish = (event: ClusterEvent): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (isHostEvent(event)) runAll(hostCallbacks, event)
        else runAll(schemaCallbacks, event)
        const errors = failed.splice(0)
        return Effect.zipRight(
          errors.length === 0 ? Effect.void : Effect.logWarning(`effect-cql: a ${event._tag} callback threw`, ...errors),
          Effect.asVoid(PubSub.publish(pubsub, event))
        )
      })

    const subscribe = PubSub.subscribe(pubsub)
    const service: HostEventHub = {
      publish,
      subscribe,
      events: Stream.unwrapScoped(Effect.map(subscribe, Stream.fromQueue)),
      onHostEvent: (callback) => register(hostCallbacks, callback),
      onSchemaChange: (callback) => register(schemaCallbacks, callback)
    }
    return service
  })

/** HostEvents for the layer's scope, with the default buffer. */
export const layer: Layer.Layer<HostEventHub> = Layer.scoped(HostEventHub, make())
