/**
 * The control connection: one Connection to one node, REGISTERed for TOPOLOGY_CHANGE, STATUS_CHANGE and
 * SCHEMA_CHANGE (spec 4.1.8: on one connection only), which keeps the MetadataService up to date.
 *
 * - On connect (and on every reconnect: events may have been missed) it reads system.local, system.peers_v2
 *   (system.peers on servers without it) and system_schema.* and swaps in a new snapshot.
 * - A known node's UP or DOWN (STATUS_CHANGE) changes its state at once, so that the pools probe a node back up
 *   without waiting. Since Cassandra 4.0 the UP comes once the node's native port is ready; from an older server
 *   it may come earlier (spec 4.2.6), and the pool's failed attempt then waits for its reconnection schedule.
 * - Other events are debounced (a window, default 1 s, and a maximum wait, default 10 s): a burst of them gives one
 *   refresh. A topology refresh when nodes joined, left or moved, or an unknown node came up, then those hosts'
 *   states.
 * - Schema events: the keyspaces they name are re-read (`WHERE keyspace_name IN (...)`: single-partition reads of
 *   system_schema), or the whole schema when a burst names many keyspaces; SchemaChanged events are published
 *   once the snapshot shows the change.
 * - When its connection closes it moves to another node: the known hosts that are up, then the contact points,
 *   then the rest, the lost node last, one round per step of the reconnection Schedule.
 * - `awaitSchemaAgreement` polls the schema versions of system.local and of the peers that are up until they agree.
 *
 * Everything runs on fibers of the layer's scope; closing it interrupts them and closes the socket.
 */
import type { Event } from "@effect-cql/protocol"
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as AddressTranslator from "../../AddressTranslator.js"
import * as CqlError from "../../CqlError.js"
import * as HostEventHub from "./hostEventHub.js"
import { type Connection, type ConnectionFailure, type ConnectionOptions, connect, describeFailure, isConnectionFailure, request } from "../connection/connection.js"
import * as Debouncer from "../control/debouncer.js"
import { type ControlState, type QueryFailure, readHosts, readSchema } from "../control/systemTables.js"
import { ControlConnectionError, type ControlConnectionService, type SchemaAgreement } from "../../ControlConnection.js"
import * as Metadata from "../../Metadata.js"
import * as MetadataStore from "../metadata/metadataStore.js"
import { endpointOf, parseEndpoint } from "../metadata/schemaParser.js"

/** Connection settings of the control connection (the target comes from the contact points and known hosts). */
export type ConnectionSettings = Omit<ConnectionOptions, "host" | "port" | "keyspace">

export interface Config {
  /** "host", "host:port" or "[ipv6]:port". */
  readonly contactPoints: ReadonlyArray<string>
  /** Default 9042. */
  readonly port?: number
  /** Protocol version, credentials, TLS, timeouts... Compression defaults to none (the traffic is small). */
  readonly connection?: ConnectionSettings
  /**
   * Between rounds of reconnection attempts. Default exponential from 1 s, factor 2, capped at 60 s, jittered. A
   * schedule that ends gives up: logged as an error, and the Metadata is no longer refreshed.
   */
  readonly reconnectSchedule?: Schedule.Schedule<unknown, CqlError.NoHostAvailable>
  /** A refresh waits until no event came for this long. Default 1 s. */
  readonly refreshWindow?: Duration.DurationInput
  /** ...but no longer than this after the first event. Default 10 s. */
  readonly refreshMaxWait?: Duration.DurationInput
  /** Per system-table query. Default 10 s. */
  readonly queryTimeout?: Duration.DurationInput
  /** Between schema version polls. Default 200 ms. */
  readonly schemaAgreementInterval?: Duration.DurationInput
  /** A burst of schema events naming more keyspaces than this re-reads the whole schema. Default 10. */
  readonly maxTargetedKeyspaces?: number
  /** Maps the addresses nodes advertise (rows and events) to those to connect to. Default: as advertised. */
  readonly addressTranslator?: AddressTranslator.AddressTranslator
}

/** The control connection, with what only the Cluster and its Sessions use. */
export interface ControlConnection extends ControlConnectionService {
  /**
   * Re-reads one keyspace's schema now (a Session's own schema change: the Metadata shows it before the request
   * returns, rather than after the event's debounce).
   */
  readonly refreshKeyspace: (keyspace: string) => Effect.Effect<void, ControlConnectionError>
}

export const ControlConnection = Context.GenericTag<ControlConnection>("@effect-cql/driver/ControlConnection")

/** Exponential from 1 s (factor 2), capped at 60 s, jittered. */
export const defaultReconnectSchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("1 second", 2).pipe(
  Schedule.either(Schedule.spaced("60 seconds")),
  Schedule.jittered
)

const registerFor: ReadonlyArray<Event.EventType> = ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"]

interface Target {
  readonly host: string
  readonly port: number
}

const parseContactPoint = (s: string, defaultPort: number): Target => {
  const { address, port } = parseEndpoint(s)
  return { host: address, port: port ?? defaultPort }
}

/** The open control connection. */
interface Active {
  readonly conn: Connection
  readonly state: ControlState
  /** The control node's Metadata endpoint (from its system.local row). */
  readonly endpoint: string
}

type HostChange = Event.TopologyChange | Event.StatusChange

/** Topology with every host at its translated address; a host whose translation failed is left out. */
interface Translated {
  readonly hosts: ReadonlyMap<string, Metadata.Host>
  readonly skipped: ReadonlyArray<AddressTranslator.AddressTranslationError>
}

const translateHosts = (translator: AddressTranslator.AddressTranslator, hosts: ReadonlyMap<string, Metadata.Host>): Translated => {
  const out = new Map<string, Metadata.Host>()
  const skipped: Array<AddressTranslator.AddressTranslationError> = []
  for (const h of hosts.values()) {
    const t = AddressTranslator.translate(translator, { address: h.address, port: h.port })
    if (Either.isLeft(t)) skipped.push(t.left)
    else if (t.right.address === h.address && t.right.port === h.port) out.set(h.endpoint, h)
    else {
      const endpoint = endpointOf(t.right.address, t.right.port)
      if (out.has(endpoint)) {
        const reason = `it translates to ${endpoint}, which another host already has`
        skipped.push(new AddressTranslator.AddressTranslationError({ advertised: { address: h.address, port: h.port }, reason }))
      } else out.set(endpoint, { ...h, endpoint, address: t.right.address, port: t.right.port })
    }
  }
  return { hosts: out, skipped }
}

const describe = (f: QueryFailure | ConnectionFailure): string => {
  if (f._tag === "Server") return `${f.error.kind}: ${f.error.message}`
  return describeFailure(f._tag === "Connection" ? f.failure : f)
}

// Built interruptibly: inside an uninterruptible region (a layer built in an `acquire`) its background fibers
// would inherit that region, and closing the scope would wait on them forever.
export const make = (config: Config): Effect.Effect<
  ControlConnection,
  CqlError.NoHostAvailable,
  MetadataStore.MetadataStore | HostEventHub.HostEventHub | Scope.Scope
> =>
  Effect.gen(function* () {
    const metadata = yield* MetadataStore.MetadataStore
    const events = yield* HostEventHub.HostEventHub
    const port = config.port ?? 9042
    const contactPoints = config.contactPoints.map((cp) => parseContactPoint(cp, port))
    const settings: ConnectionSettings = { compression: "none", ...config.connection }
    const queryTimeoutMs = Duration.toMillis(config.queryTimeout ?? "10 seconds")
    const pollMs = Duration.toMillis(config.schemaAgreementInterval ?? "200 millis")
    const maxTargeted = config.maxTargetedKeyspaces ?? 10
    const translator = config.addressTranslator
    /** The topology of `rows`, with the hosts at their translated addresses (AddressTranslator.ts). */
    const topologyOf = (rows: Metadata.TopologyRows) => {
      const parsed = Metadata.parseTopology(rows)
      if (translator === undefined) return { ...parsed, skipped: [] }
      const { hosts, skipped } = translateHosts(translator, parsed.value.hosts)
      return { value: { ...parsed.value, hosts }, warnings: parsed.warnings, skipped }
    }
    const logSkipped = (skipped: ReadonlyArray<AddressTranslator.AddressTranslationError>) =>
      Effect.forEach(skipped, (e) => Effect.logWarning(`effect-cql: ${e.message}`, e), { discard: true })
    // Refreshes one at a time, so that an older read is never applied over a newer one.
    const lock = yield* Effect.makeSemaphore(1)

    let current: Active | undefined
    /** The connection whose events count: the one being set up or in use. */
    let listening: Connection | undefined
    const open = new Set<Connection>()

    yield* Effect.addFinalizer(() =>
      Effect.promise(() => {
        listening = undefined
        current = undefined
        return Promise.allSettled([...open].map((c) => c.close(0)))
      })
    )

    const failure = (active: Active | undefined, what: string) => (f: QueryFailure) =>
      new ControlConnectionError({ message: `${what} failed: ${describe(f)}`, host: active?.endpoint, cause: f })

    // ---------------------------------------------------------------------------------------------------------
    // Refreshes (each runs under the lock)

    const logWarnings = (warnings: ReadonlyArray<string>) =>
      warnings.length === 0 ? Effect.void : Effect.logDebug("effect-cql: metadata rows skipped", ...warnings)

    /** Topology and the whole schema, as one snapshot; returns the control node's endpoint. */
    const fullRefresh = (conn: Connection, state: ControlState): Effect.Effect<string, QueryFailure> =>
      Effect.gen(function* () {
        const [topologyRows, schemaRows] = yield* Effect.all(
          [readHosts(conn, state, "topology", port, queryTimeoutMs), readSchema(conn, undefined, queryTimeoutMs)],
          { concurrency: "unbounded" }
        )
        const topology = topologyOf(topologyRows)
        const schema = Metadata.parseSchema(schemaRows)
        yield* logWarnings([...topology.warnings, ...schema.warnings])
        yield* logSkipped(topology.skipped)
        yield* metadata.apply({ topology: topology.value, schema: { keyspaces: schema.value, refreshed: "all" } })
        const local = topologyOf({ ...topologyRows, peers: [] }).value.hosts.keys().next()
        return local.done === true ? conn.hostId : local.value
      })

    const refreshTopology = (active: Active) =>
      Effect.gen(function* () {
        const topology = topologyOf(yield* readHosts(active.conn, active.state, "topology", port, queryTimeoutMs))
        yield* logWarnings(topology.warnings)
        yield* logSkipped(topology.skipped)
        yield* metadata.apply({ topology: topology.value })
      }).pipe(Effect.mapError(failure(active, "topology refresh")))

    const refreshKeyspaces = (active: Active, keyspaces: ReadonlyArray<string> | undefined) =>
      Effect.gen(function* () {
        const schema = Metadata.parseSchema(yield* readSchema(active.conn, keyspaces, queryTimeoutMs))
        yield* logWarnings(schema.warnings)
        yield* metadata.apply({ schema: { keyspaces: schema.value, refreshed: keyspaces ?? "all" } })
      }).pipe(Effect.mapError(failure(active, "schema refresh")))

    /** Runs `f` on the control connection under the lock; fails when there is none. */
    const withActive = <A>(f: (active: Active) => Effect.Effect<A, ControlConnectionError>) =>
      lock.withPermits(1)(
        Effect.suspend(() =>
          current === undefined
            ? Effect.fail(new ControlConnectionError({ message: "no control connection (reconnecting)", host: undefined }))
            : f(current)
        )
      )

    const logFailure = (e: ControlConnectionError) => Effect.logWarning(`effect-cql: ${e.message}`)

    /** The host an event names (by its advertised address); none when its translation fails. */
    const findHost = (advertised: string, advertisedPort: number): Metadata.Host | undefined => {
      const at = translator === undefined
        ? { address: advertised, port: advertisedPort }
        : Either.getOrUndefined(AddressTranslator.translate(translator, { address: advertised, port: advertisedPort }))
      if (at === undefined) return undefined
      for (const h of metadata.current().hosts.values()) if (h.address === at.address && h.port === at.port) return h
      return undefined
    }

    const onHostChanges = (batch: ReadonlyArray<HostChange>) =>
      Effect.gen(function* () {
        const statuses = new Map<string, Event.StatusChange>()
        let moved = false
        for (const e of batch) {
          if (e.type === "TOPOLOGY_CHANGE") moved = true
          else statuses.set(`${e.address}\u0000${e.port}`, e)
        }
        const unknownUp = [...statuses.values()].some((e) => e.change === "UP" && findHost(e.address, e.port) === undefined)
        if (moved || unknownUp) yield* withActive(refreshTopology).pipe(Effect.catchAll(logFailure))
        for (const e of statuses.values()) {
          const h = findHost(e.address, e.port)
          if (h !== undefined) yield* metadata.markHost(h.endpoint, e.change === "UP" ? "up" : "down")
        }
      })

    const onSchemaChanges = (batch: ReadonlyArray<Event.SchemaChangeEvent>) =>
      Effect.gen(function* () {
        const md = metadata.current()
        // Virtual keyspaces are not in system_schema: re-reading one would drop it.
        const names = [...new Set(batch.map((e) => e.keyspace))].filter((k) => md.keyspaces.get(k)?.virtual !== true)
        if (names.length > 0) {
          yield* withActive((active) => refreshKeyspaces(active, names.length > maxTargeted ? undefined : names)).pipe(
            Effect.catchAll(logFailure)
          )
        }
        for (const { type: _, ...change } of batch) yield* events.publish({ _tag: "SchemaChanged", change })
      })

    const window = config.refreshWindow ?? "1 second"
    const maxWait = config.refreshMaxWait ?? "10 seconds"
    const hostChanges = yield* Debouncer.make<HostChange>({ window, maxWait, run: onHostChanges })
    const schemaChanges = yield* Debouncer.make<Event.SchemaChangeEvent>({ window, maxWait, run: onSchemaChanges })

    // A known host's UP or DOWN is applied at once, not after the debounce window: a node back up should take
    // requests as soon as the pools can reach it. What needs a topology read goes through the debouncer.
    const statusChanges = yield* Queue.unbounded<Event.StatusChange>()
    yield* Queue.take(statusChanges).pipe(
      Effect.flatMap((e) => {
        const h = findHost(e.address, e.port)
        return h === undefined ? Effect.sync(() => hostChanges.offer(e)) : metadata.markHost(h.endpoint, e.change === "UP" ? "up" : "down")
      }),
      Effect.forever,
      Effect.forkScoped
    )

    const onEvent = (conn: Connection) => (e: Event.Event) => {
      if (conn !== listening) return
      if (e.type === "SCHEMA_CHANGE") schemaChanges.offer(e)
      else if (e.type === "STATUS_CHANGE") statusChanges.unsafeOffer(e)
      else hostChanges.offer(e)
    }

    // ---------------------------------------------------------------------------------------------------------
    // Connecting

    /** One attempt; an interrupted attempt aborts, and a connection that opens anyway is closed. */
    const openConnection = (target: Target) =>
      Effect.async<Connection, ConnectionFailure>((resume) => {
        const abort = new AbortController()
        let settled = false
        connect({ ...settings, host: target.host, port: target.port }, abort.signal).then(
          (conn) => {
            if (settled) return void conn.close(0)
            settled = true
            open.add(conn)
            conn.onClose(() => open.delete(conn))
            resume(Effect.succeed(conn))
          },
          (e: unknown) => {
            if (settled) return
            settled = true
            resume(isConnectionFailure(e) ? Effect.fail(e) : Effect.die(e))
          }
        )
        return Effect.sync(() => {
          if (settled) return
          settled = true
          abort.abort()
        })
      })

    /** Connects, registers for events, refreshes everything, and makes the connection the control connection. */
    const establish = (target: Target) =>
      Effect.gen(function* () {
        const conn = yield* openConnection(target)
        const wanted = settings.compression
        if (wanted !== undefined && wanted !== "none" && conn.compression === undefined) {
          const offered = conn.supported["COMPRESSION"] ?? []
          yield* Effect.logWarning(
            `effect-cql: ${target.host}:${target.port} does not offer ${wanted} compression (it offers ${offered.length === 0 ? "none" : offered.join(", ")}); connections run uncompressed`
          )
        }
        return yield* Effect.gen(function* () {
          listening = conn
          conn.onEvent(onEvent(conn))
          // REGISTER before reading, so that no change between the read and the registration goes unseen.
          const ready = yield* request(conn, { _tag: "Register", events: registerFor }, { timeoutMs: queryTimeoutMs })
          if (ready._tag !== "Ready") {
            return yield* Effect.fail<QueryFailure>(
              ready._tag === "Error"
                ? { _tag: "Server", error: ready.error }
                : { _tag: "Connection", failure: { _tag: "Protocol", message: `REGISTER answered with ${ready._tag}` } }
            )
          }
          const state: ControlState = { peersTable: "system.peers_v2" }
          const endpoint = yield* lock.withPermits(1)(fullRefresh(conn, state))
          current = { conn, state, endpoint }
          return current
        }).pipe(
          Effect.onError(() =>
            Effect.promise(() => {
              if (listening === conn) listening = undefined
              return conn.close(0)
            })
          )
        )
      }).pipe(
        Effect.mapError(
          (f) => new ControlConnectionError({ message: `control connection to ${target.host}:${target.port}: ${describe(f)}`, host: `${target.host}:${target.port}`, cause: f })
        )
      )

    /** One round over `targets`: the first that works, or NoHostAvailable with each one's error. */
    const establishAny = (targets: ReadonlyArray<Target>) =>
      Effect.gen(function* () {
        const errors = new Map<string, unknown>()
        for (const t of targets) {
          const result = yield* Effect.either(establish(t))
          if (result._tag === "Right") return result.right
          errors.set(`${t.host}:${t.port}`, result.left)
        }
        return yield* new CqlError.NoHostAvailable({ errors })
      })

    /** The known hosts that are up, the contact points, the other known hosts, then `lost`. */
    const candidates = (lost: string): Array<Target> => {
      const hosts = [...metadata.current().hosts.values()].filter((h) => h.endpoint !== lost)
      const lostHost = metadata.current().hosts.get(lost)
      const all = [
        ...hosts.filter((h) => h.state === "up").map((h) => ({ host: h.address, port: h.port })),
        ...contactPoints,
        ...hosts.filter((h) => h.state !== "up").map((h) => ({ host: h.address, port: h.port })),
        ...(lostHost === undefined ? [] : [{ host: lostHost.address, port: lostHost.port }])
      ]
      const seen = new Set<string>()
      return all.filter((t) => {
        const key = `${t.host}:${t.port}`
        if (seen.has(key)) return false
        seen.add(key)
        return true
      })
    }

    const closed = (conn: Connection) =>
      Effect.async<ConnectionFailure>((resume) => conn.onClose((cause) => resume(Effect.succeed(cause))))

    const schedule = config.reconnectSchedule ?? defaultReconnectSchedule

    /** Waits for the control connection to close, then moves to another node. */
    const supervise = (first: Active) =>
      Effect.gen(function* () {
        let active = first
        for (;;) {
          const cause = yield* closed(active.conn)
          if (current === active) current = undefined
          yield* Effect.logInfo(`effect-cql: control connection to ${active.endpoint} lost (${describe(cause)}); moving to another node`)
          const lost = active.endpoint
          active = yield* Effect.suspend(() => establishAny(candidates(lost))).pipe(Effect.retry(schedule))
          yield* Effect.logInfo(`effect-cql: control connection now on ${active.endpoint}`)
        }
      }).pipe(Effect.catchAll((e) => Effect.logError("effect-cql: the control connection gave up reconnecting", e)))

    const first = yield* establishAny(contactPoints)
    yield* Effect.forkScoped(supervise(first))

    // ---------------------------------------------------------------------------------------------------------
    // Schema agreement

    /** The schema version of every host that is up (peers without one are still joining: left out). */
    const versionsOf = (rows: Metadata.TopologyRows): Map<string, string> => {
      const md = metadata.current()
      const versions = new Map<string, string>()
      for (const h of topologyOf(rows).value.hosts.values()) {
        if (h.schemaVersion !== undefined && md.hosts.get(h.endpoint)?.state !== "down") versions.set(h.endpoint, h.schemaVersion)
      }
      return versions
    }

    const awaitSchemaAgreement = (timeout: Duration.DurationInput = "10 seconds") =>
      Effect.suspend(() => {
        let last: SchemaAgreement = { agreed: false, versions: new Map() }
        const poll = Effect.suspend(() => {
          const active = current
          if (active === undefined) return Effect.void
          return readHosts(active.conn, active.state, "schemaVersions", port, queryTimeoutMs).pipe(
            Effect.map((rows) => {
              const versions = versionsOf(rows)
              last = { agreed: new Set(versions.values()).size === 1, versions }
            }),
            Effect.ignore
          )
        })
        const loop: Effect.Effect<SchemaAgreement> = Effect.flatMap(poll, () =>
          last.agreed ? Effect.succeed(last) : Effect.zipRight(Effect.sleep(pollMs), loop)
        )
        return Effect.map(Effect.timeoutOption(loop, timeout), (r) => Option.getOrElse(r, () => last))
      })

    const service: ControlConnection = {
      host: Effect.sync(() => Option.fromNullable(current?.endpoint)),
      protocolVersion: first.conn.version,
      refreshNow: withActive((active) =>
        fullRefresh(active.conn, active.state).pipe(Effect.asVoid, Effect.mapError(failure(active, "refresh")))
      ),
      refreshKeyspace: (keyspace) => withActive((active) => refreshKeyspaces(active, [keyspace])),
      awaitSchemaAgreement
    }
    return service
  }).pipe(Effect.interruptible)

/** The control connection over a MetadataService and HostEvents provided from outside. */
export const layer = (
  config: Config
): Layer.Layer<ControlConnection, CqlError.NoHostAvailable, MetadataStore.MetadataStore | HostEventHub.HostEventHub> =>
  Layer.scoped(ControlConnection, make(config))

/** The control connection with its own MetadataService and HostEvents, all three provided. */
export const layerWithMetadata = (
  config: Config
): Layer.Layer<ControlConnection | MetadataStore.MetadataStore | HostEventHub.HostEventHub, CqlError.NoHostAvailable> =>
  layer(config).pipe(Layer.provideMerge(MetadataStore.layer), Layer.provideMerge(HostEventHub.layer))
