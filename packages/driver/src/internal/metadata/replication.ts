/**
 * Replica placement per ring position for Cassandra's replication strategies, computed once per distinct
 * replication (strategy + options) and shared by every keyspace that uses it.
 *
 * Hosts are numbered by their index in the token map's host list; `owners[i]` is the host owning ring
 * position i (the range (token[i-1], token[i]]).
 */
import type { Host, Replication } from "./model.js"

export interface Placement {
  /** The distinct replica lists (host indices, primary first). */
  readonly sets: ReadonlyArray<Int32Array>
  /** For each ring position, its index in `sets`. */
  readonly setOf: Int32Array
}

/** Short strategy name: the class name after its package. */
export const strategyName = (strategyClass: string): string => strategyClass.slice(strategyClass.lastIndexOf(".") + 1)

/** A key equal for equal replications, e.g. `NetworkTopologyStrategy{dc1=3,dc2=2}`. */
export const replicationKey = (r: Replication): string =>
  `${strategyName(r.strategyClass)}{${[...r.options]
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(",")}}`

/** "3" or, with transient replication, "3/1": the total number of replicas. */
const replicationFactor = (text: string | undefined): number => {
  if (text === undefined) return 0
  const m = /^\s*(\d+)\s*(?:\/\s*\d+\s*)?$/.exec(text)
  return m === null ? 0 : Math.min(Number(m[1]), 0x7fffffff)
}

/** The placement for a replication, or undefined for a strategy this driver does not know (no token awareness). */
export const placementOf = (
  replication: Replication,
  owners: Int32Array,
  hosts: ReadonlyArray<Host>
): Placement | undefined => {
  switch (strategyName(replication.strategyClass)) {
    case "SimpleStrategy":
      return simple(replicationFactor(replication.options.get("replication_factor")), owners, hosts.length)
    case "NetworkTopologyStrategy":
      return networkTopology(replication.options, owners, hosts)
    case "LocalStrategy":
      // Data of a local keyspace lives on every node; the ring position's owner is as good as any.
      return simple(1, owners, hosts.length)
    case "EverywhereStrategy":
      return simple(hosts.length, owners, hosts.length)
    default:
      return undefined
  }
}

/** Interns replica lists: neighbouring ring positions mostly share theirs. */
class Interner {
  readonly sets: Array<Int32Array> = []
  readonly setOf: Int32Array
  private readonly ids = new Map<string, number>()

  constructor(size: number) {
    this.setOf = new Int32Array(size)
  }

  put(position: number, replicas: Array<number>): void {
    const key = replicas.join(",")
    let id = this.ids.get(key)
    if (id === undefined) {
      id = this.sets.length
      this.sets.push(Int32Array.from(replicas))
      this.ids.set(key, id)
    }
    this.setOf[position] = id
  }
}

/** SimpleStrategy: the next `rf` distinct hosts clockwise (Cassandra's SimpleStrategy.calculateNaturalReplicas). */
const simple = (rf: number, owners: Int32Array, hostCount: number): Placement => {
  const n = owners.length
  const want = Math.min(rf, hostCount)
  const out = new Interner(n)
  const taken = new Uint8Array(hostCount)
  for (let i = 0; i < n; i++) {
    const replicas: Array<number> = []
    for (let j = 0; j < n && replicas.length < want; j++) {
      const h = owners[(i + j) % n]!
      if (taken[h] === 0) {
        taken[h] = 1
        replicas.push(h)
      }
    }
    for (const h of replicas) taken[h] = 0
    out.put(i, replicas)
  }
  return out
}

/**
 * NetworkTopologyStrategy, as Cassandra's NetworkTopologyStrategy.calculateNaturalReplicas: one walk clockwise
 * filling every data centre at once. In each DC a host is taken when its rack is new; a host from an already
 * used rack only while `rf - racks in the DC` repeats remain; a DC needs min(rf, its hosts) replicas.
 */
const networkTopology = (options: ReadonlyMap<string, string>, owners: Int32Array, hosts: ReadonlyArray<Host>): Placement => {
  const n = owners.length
  // Number the data centres that want replicas and the (dc, rack) pairs of hosts on the ring.
  const dcIndex = new Map<string, number>()
  const dcRf: Array<number> = []
  for (const [dc, v] of options) {
    const rf = replicationFactor(v)
    if (rf > 0) {
      dcIndex.set(dc, dcRf.length)
      dcRf.push(rf)
    }
  }
  const hostDc = new Int32Array(hosts.length).fill(-1)
  const hostRack = new Int32Array(hosts.length)
  const rackIds = new Map<string, number>()
  const onRing = new Uint8Array(hosts.length)
  for (let i = 0; i < n; i++) onRing[owners[i]!] = 1
  const nodeCount = new Array<number>(dcRf.length).fill(0)
  const racksPerDc = dcRf.map(() => new Set<number>())
  hosts.forEach((h, i) => {
    const d = h.datacenter === undefined ? undefined : dcIndex.get(h.datacenter)
    if (d === undefined || onRing[i] === 0) return
    const rackKey = `${h.datacenter}\u0000${h.rack ?? ""}`
    let r = rackIds.get(rackKey)
    if (r === undefined) rackIds.set(rackKey, (r = rackIds.size))
    hostDc[i] = d
    hostRack[i] = r
    nodeCount[d]!++
    racksPerDc[d]!.add(r)
  })
  const dcCount = dcRf.length
  const want = dcRf.map((rf, d) => Math.min(rf, nodeCount[d]!))
  const repeatsAllowed = dcRf.map((rf, d) => rf - racksPerDc[d]!.size)
  const dcsWanting = want.filter((w) => w > 0).length
  const left = new Int32Array(dcCount)
  const repeats = new Int32Array(dcCount)
  const rackSeen = new Uint8Array(rackIds.size)
  const taken = new Uint8Array(hosts.length)
  const out = new Interner(n)
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dcCount; d++) {
      left[d] = want[d]!
      repeats[d] = repeatsAllowed[d]!
    }
    let toFill = dcsWanting
    const replicas: Array<number> = []
    for (let j = 0; j < n && toFill > 0; j++) {
      const h = owners[(i + j) % n]!
      const d = hostDc[h]!
      if (d < 0 || left[d] === 0 || taken[h] === 1) continue
      const r = hostRack[h]!
      if (rackSeen[r] === 1) {
        if (repeats[d]! <= 0) continue
        repeats[d]!--
      } else rackSeen[r] = 1
      taken[h] = 1
      replicas.push(h)
      if (--left[d]! === 0) toFill--
    }
    for (const h of replicas) {
      taken[h] = 0
      rackSeen[hostRack[h]!] = 0
    }
    out.put(i, replicas)
  }
  return out
}
