/**
 * Load balancing: which hosts a request may use, and in what order (its query plan).
 *
 * A policy is a plain value. `distance` says how the driver should treat a host (pools are kept for "local" and
 * "remote" hosts, none for "ignored" ones); `newQueryPlan` returns a lazy, consume-once iterable of hosts that are
 * up, best first. A plan costs O(1) to create: the per-data-centre groupings are derived once per cluster view
 * (a Metadata snapshot is immutable, so a change is a new host map) and round robin is a rotating start index.
 */
import type { Consistency } from "@effect-cql/protocol"
import type { Host } from "./Metadata.js"
import type { TokenMap } from "./TokenMap.js"

export type Distance = "local" | "remote" | "ignored"

/** How loaded the hosts are now, from the pools' own connections (Sessions give it; a bare Metadata has none). */
export interface HostLoad {
  /** Requests in flight to the host. */
  readonly inFlight: (host: Host) => number
  /** With requests in flight, how long (ms) since the host last answered anything; 0 with none in flight. */
  readonly silentMs: (host: Host) => number
}

/** What a policy sees of the cluster. A `Metadata` snapshot is one: pass it as it is. */
export interface ClusterView {
  /** By endpoint. Treated as immutable: a new map for every change. */
  readonly hosts: ReadonlyMap<string, Host>
  readonly tokenMap: TokenMap | undefined
  readonly load?: HostLoad | undefined
}

/**
 * A host that has this many requests in flight and has answered nothing for `SILENT_MS` is busy and silent: a
 * paused or overloaded node, which token-aware plans try last among the replicas.
 */
export const BUSY_IN_FLIGHT = 10
export const SILENT_MS = 200

/** What a request tells the policy about itself. */
export interface Routing {
  readonly keyspace?: string | undefined
  /** The partition key's routing key (`TokenMap.routingKey`). */
  readonly routingKey?: Uint8Array | undefined
  /** The request's consistency: a LOCAL_* level keeps data-centre-aware plans in the local DC. */
  readonly consistency?: Consistency.Consistency | undefined
}

export interface LoadBalancingPolicy {
  readonly distance: (host: Host, view: ClusterView) => Distance
  /** Hosts that are up, best first; lazy, to be iterated once. */
  readonly newQueryPlan: (view: ClusterView, routing?: Routing) => Iterable<Host>
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** `f(hosts)` computed once per host map (maps are immutable snapshots): the plans' per-request cost stays O(1). */
const perSnapshot = <A>(f: (hosts: ReadonlyMap<string, Host>) => A): ((hosts: ReadonlyMap<string, Host>) => A) => {
  let key: ReadonlyMap<string, Host> | undefined
  let value: A | undefined
  return (hosts) => {
    if (hosts !== key) {
      value = f(hosts)
      key = hosts
    }
    return value as A
  }
}

/** A round-robin start index: non-negative, wraps at 2^32. */
const rotation = () => {
  let n = 0
  return () => {
    const start = n
    n = (n + 1) >>> 0
    return start
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

/**
 * A plan over groups of hosts: the first `count` groups in order, each from index `start` round (round robin),
 * hosts that are up only. A class rather than a generator: a plan is made for every request.
 */
class GroupsPlan implements IterableIterator<Host> {
  private g = 0
  private i = 0
  constructor(
    private readonly groups: ReadonlyArray<ReadonlyArray<Host>>,
    private readonly count: number,
    private readonly start: number
  ) {}
  next(): IteratorResult<Host> {
    while (this.g < this.count) {
      const hosts = this.groups[this.g]!
      const n = hosts.length
      while (this.i < n) {
        const h = hosts[(this.start + this.i++) % n]!
        if (h.state === "up") return { done: false, value: h }
      }
      this.g++
      this.i = 0
    }
    return DONE
  }
  [Symbol.iterator](): IterableIterator<Host> {
    return this
  }
}

const isUp = (h: Host) => h.state === "up"

const includes = (hosts: ReadonlyArray<Host>, h: Host): boolean => {
  for (const x of hosts) if (x.endpoint === h.endpoint) return true
  return false
}

// LOCAL_* levels count replicas of the coordinator's DC only: a remote coordinator would change their meaning.
const isLocalConsistency = (c: Consistency.Consistency | undefined) =>
  c === "LOCAL_ONE" || c === "LOCAL_QUORUM" || c === "LOCAL_SERIAL"

// ---------------------------------------------------------------------------------------------------------------
// Round robin

/** Every host in turn, whatever its data centre; every host is "local". */
export const roundRobin = (): LoadBalancingPolicy => {
  const list = perSnapshot((hosts) => [[...hosts.values()]])
  const next = rotation()
  return {
    distance: () => "local",
    newQueryPlan: (view) => new GroupsPlan(list(view.hosts), 1, next())
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Data-centre and rack aware

export interface DcAwareOptions {
  readonly localDc: string
  /**
   * Hosts of each remote DC that may be used once the local DC's hosts are exhausted (the first N that are up),
   * with distance "remote"; the other remote hosts are "ignored". Default 0: never leave the local DC.
   */
  readonly usedHostsPerRemoteDc?: number
  /** Let requests at LOCAL_ONE, LOCAL_QUORUM or LOCAL_SERIAL go to remote hosts too. Default false. */
  readonly allowRemoteForLocalConsistency?: boolean
}

export interface RackAwareOptions extends DcAwareOptions {
  readonly localRack: string
}

interface DcGroups {
  /**
   * A plan's groups in order: local DC hosts in the preferred rack (every local host when no rack is preferred),
   * the other local DC hosts, then per remote DC the hosts it may use.
   */
  readonly ordered: ReadonlyArray<ReadonlyArray<Host>>
  readonly remoteEndpoints: ReadonlySet<string>
}

const dcPolicy = (options: DcAwareOptions, localRack: string | undefined): LoadBalancingPolicy => {
  const { localDc } = options
  const perRemoteDc = Math.max(0, Math.floor(options.usedHostsPerRemoteDc ?? 0))
  const allowLocalCl = options.allowRemoteForLocalConsistency ?? false
  const groups = perSnapshot((hosts): DcGroups => {
    const preferred: Array<Host> = []
    const otherLocal: Array<Host> = []
    const byDc = new Map<string, Array<Host>>()
    for (const h of hosts.values()) {
      if (h.datacenter === localDc) {
        if (localRack === undefined || h.rack === localRack) preferred.push(h)
        else otherLocal.push(h)
      } else if (perRemoteDc > 0 && isUp(h)) {
        // A host whose DC is unknown is grouped as one more remote DC, never taken for a local one.
        const dc = h.datacenter ?? ""
        const list = byDc.get(dc)
        if (list === undefined) byDc.set(dc, [h])
        else if (list.length < perRemoteDc) list.push(h)
      }
    }
    const remote = [...byDc.values()]
    return { ordered: [preferred, otherLocal, ...remote], remoteEndpoints: new Set(remote.flat().map((h) => h.endpoint)) }
  })
  const next = rotation()
  return {
    distance: (host, view) =>
      host.datacenter === localDc ? "local" : groups(view.hosts).remoteEndpoints.has(host.endpoint) ? "remote" : "ignored",
    newQueryPlan: (view, routing) => {
      const g = groups(view.hosts)
      return new GroupsPlan(g.ordered, allowLocalCl || !isLocalConsistency(routing?.consistency) ? g.ordered.length : 2, next())
    }
  }
}

/** Local data centre hosts in turn, then (when allowed) up to `usedHostsPerRemoteDc` hosts of each remote DC. */
export const dcAware = (options: DcAwareOptions): LoadBalancingPolicy => dcPolicy(options, undefined)

/** Like `dcAware`, with the local rack's hosts first, then the rest of the local DC, then remote DCs. */
export const rackAware = (options: RackAwareOptions): LoadBalancingPolicy => dcPolicy(options, options.localRack)

// ---------------------------------------------------------------------------------------------------------------
// Token aware

export interface TokenAwareOptions {
  /**
   * Spread load over the replicas by trying them in random order (default true). When false they come in the
   * child policy's own order (e.g. a rack-aware child's local-rack replica first).
   */
  readonly shuffleReplicas?: boolean
}

/**
 * The replicas of the request's partition first: those that are up and "local" to `child`, then `child`'s plan
 * without them. A request without a keyspace and routing key, or with no known replicas, gets `child`'s plan.
 */
export const tokenAware = (child: LoadBalancingPolicy, options?: TokenAwareOptions): LoadBalancingPolicy => {
  const shuffle = options?.shuffleReplicas ?? true
  return {
    distance: child.distance,
    newQueryPlan: (view, routing) => {
      const tokenMap = view.tokenMap
      if (routing?.keyspace === undefined || routing.routingKey === undefined || tokenMap === undefined) return child.newQueryPlan(view, routing)
      const replicas = tokenMap.replicasOfKey(routing.keyspace, routing.routingKey)
      // Sized up front: the first push into an empty array reserves room for 17 elements, on every request.
      const local = new Array<Host>(replicas.length)
      let n = 0
      for (const r of replicas) {
        // The view's own host object: its state is current even if the token map lags behind.
        const h = view.hosts.get(r.endpoint)
        if (h !== undefined && isUp(h) && child.distance(h, view) === "local") local[n++] = h
      }
      if (n === 0) return child.newQueryPlan(view, routing)
      if (n < local.length) local.length = n
      if (!shuffle) return inChildOrder(local, child.newQueryPlan(view, routing))
      for (let i = local.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1))
        const t = local[i]!
        local[i] = local[j]!
        local[j] = t
      }
      if (view.load !== undefined && local.length > 1) byHealth(local, view.load)
      return new ReplicasFirst(local, child, view, routing)
    }
  }
}

/**
 * Replicas (shuffled) reordered by their load: busy and silent ones last, keeping the others' order; then, of the
 * first two, the one with fewer requests in flight first (the better of two random choices spreads load without
 * herding onto one replica).
 */
const byHealth = (replicas: Array<Host>, load: HostLoad): void => {
  let healthy = 0
  let silent: Array<Host> | undefined
  for (const h of replicas) {
    if (load.inFlight(h) >= BUSY_IN_FLIGHT && load.silentMs(h) >= SILENT_MS) (silent ??= []).push(h)
    else replicas[healthy++] = h
  }
  if (silent !== undefined) for (let i = 0; i < silent.length; i++) replicas[healthy + i] = silent[i]!
  if (healthy >= 2 && load.inFlight(replicas[1]!) < load.inFlight(replicas[0]!)) {
    const t = replicas[0]!
    replicas[0] = replicas[1]!
    replicas[1] = t
  }
}

/**
 * The replicas, then the rest of the child's plan without them. The child's plan is made only when the replicas
 * run out: most requests end on their first replica.
 */
class ReplicasFirst implements IterableIterator<Host> {
  private i = 0
  private rest: Iterator<Host> | undefined = undefined
  constructor(
    private readonly replicas: ReadonlyArray<Host>,
    private readonly child: LoadBalancingPolicy,
    private readonly view: ClusterView,
    private readonly routing: Routing
  ) {}
  next(): IteratorResult<Host> {
    if (this.i < this.replicas.length) return { done: false, value: this.replicas[this.i++]! }
    const rest = (this.rest ??= this.child.newQueryPlan(this.view, this.routing)[Symbol.iterator]())
    for (let r = rest.next(); r.done !== true; r = rest.next()) if (!includes(this.replicas, r.value)) return r
    return DONE
  }
  [Symbol.iterator](): IterableIterator<Host> {
    return this
  }
}

/** The replicas as `plan` orders them, then the hosts `plan` gave before the last one, then the rest of `plan`. */
function* inChildOrder(replicas: ReadonlyArray<Host>, plan: Iterable<Host>): Generator<Host, void, undefined> {
  const it = plan[Symbol.iterator]()
  const skipped: Array<Host> = []
  let found = 0
  while (found < replicas.length) {
    const r = it.next()
    if (r.done === true) break
    if (includes(replicas, r.value)) {
      found++
      yield r.value
    } else skipped.push(r.value)
  }
  yield* skipped
  for (let r = it.next(); r.done !== true; r = it.next()) if (!includes(replicas, r.value)) yield r.value
}

// ---------------------------------------------------------------------------------------------------------------
// Filters

/** Only the hosts `predicate` accepts (the others are "ignored"); `child` orders them. */
export const hostFilter = (child: LoadBalancingPolicy, predicate: (host: Host) => boolean): LoadBalancingPolicy => ({
  distance: (host, view) => (predicate(host) ? child.distance(host, view) : "ignored"),
  newQueryPlan: (view, routing) => filtered(child.newQueryPlan(view, routing), predicate)
})

function* filtered(plan: Iterable<Host>, predicate: (host: Host) => boolean): Generator<Host, void, undefined> {
  for (const h of plan) if (predicate(h)) yield h
}

/** Only the hosts with these endpoints (`address:port`, as `Host.endpoint`). */
export const allowList = (child: LoadBalancingPolicy, endpoints: Iterable<string>): LoadBalancingPolicy => {
  const allowed = new Set(endpoints)
  return hostFilter(child, (h) => allowed.has(h.endpoint))
}

// ---------------------------------------------------------------------------------------------------------------
// Default

/**
 * The driver's default, as the Java driver's: token aware over DC aware when a local data centre is given (other
 * DCs never used), token aware over round robin otherwise. Each call makes a new policy (its own rotation).
 */
export const defaultPolicy = (options?: { readonly localDc?: string | undefined }): LoadBalancingPolicy =>
  tokenAware(options?.localDc === undefined ? roundRobin() : dcAware({ localDc: options.localDc }))
