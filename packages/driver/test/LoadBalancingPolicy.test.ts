import { describe, expect, it } from "@effect/vitest"
import * as LoadBalancingPolicy from "../src/LoadBalancingPolicy.js"
import * as Metadata from "../src/Metadata.js"
import type { Host, HostState } from "../src/Metadata.js"
import * as TokenMap from "../src/TokenMap.js"

const host = (n: number, datacenter: string, rack: string, state: HostState = "up"): Host => ({
  endpoint: `10.0.0.${n}:9042`, address: `10.0.0.${n}`, port: 9042, broadcastAddress: undefined, hostId: undefined, datacenter, rack,
  tokens: [String(BigInt(n) * 1_000_000_000_000_000_000n - 4_000_000_000_000_000_000n)], releaseVersion: undefined, schemaVersion: undefined, state
})

/** dc1: h1 h2 in r1, h3 h4 in r2; dc2: h5 h6 in r1, h7 in r2; dc3: h8. */
const cluster = [
  host(1, "dc1", "r1"), host(2, "dc1", "r1"), host(3, "dc1", "r2"), host(4, "dc1", "r2"),
  host(5, "dc2", "r1"), host(6, "dc2", "r1"), host(7, "dc2", "r2"), host(8, "dc3", "r1")
]

const nts = (rfs: Record<string, number>): Metadata.Replication => ({
  strategyClass: "org.apache.cassandra.locator.NetworkTopologyStrategy",
  options: new Map(Object.entries(rfs).map(([dc, rf]) => [dc, String(rf)]))
})

const viewOf = (hosts: ReadonlyArray<Host>): LoadBalancingPolicy.ClusterView => ({
  hosts: new Map(hosts.map((h) => [h.endpoint, h])),
  tokenMap: TokenMap.make("Murmur3Partitioner", hosts, [{ keyspace: "ks", replication: nts({ dc1: 2, dc2: 1 }) }])
})

const view = viewOf(cluster)
const names = (plan: Iterable<Host>) => Array.from(plan, (h) => Number(h.address.slice("10.0.0.".length)))
const down = (n: number) => viewOf(cluster.map((h) => (h === cluster[n - 1] ? { ...h, state: "down" as const } : h)))
const key = (s: string) => Buffer.from(s)

/** The number of times each host came first over `runs` plans. */
const firsts = (runs: number, plan: () => Iterable<Host>) => {
  const counts = new Map<number, number>()
  for (let i = 0; i < runs; i++) {
    const first = names(plan())[0]!
    counts.set(first, (counts.get(first) ?? 0) + 1)
  }
  return counts
}

describe("roundRobin", () => {
  it("gives every host once, rotating the start by one per plan", () => {
    const p = LoadBalancingPolicy.roundRobin()
    expect(names(p.newQueryPlan(view))).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(names(p.newQueryPlan(view))).toEqual([2, 3, 4, 5, 6, 7, 8, 1])
    expect(names(p.newQueryPlan(view))).toEqual([3, 4, 5, 6, 7, 8, 1, 2])
  })

  it("is fair: each host leads the same number of plans", () => {
    const p = LoadBalancingPolicy.roundRobin()
    expect([...firsts(800, () => p.newQueryPlan(view)).values()]).toEqual(Array(8).fill(100))
  })

  it("skips hosts that are down, and sees a new snapshot at once", () => {
    const p = LoadBalancingPolicy.roundRobin()
    expect(names(p.newQueryPlan(view))).toHaveLength(8)
    const md = Metadata.withHostState(Metadata.make({ hosts: cluster, keyspaces: [] }), "10.0.0.3:9042", "down")
    expect(names(p.newQueryPlan(md))).toEqual([2, 4, 5, 6, 7, 8, 1])
    expect(names(p.newQueryPlan(down(5)))).toEqual([3, 4, 6, 7, 8, 1, 2])
  })

  it("calls every host local and gives an empty plan for an empty cluster", () => {
    const p = LoadBalancingPolicy.roundRobin()
    expect(cluster.map((h) => p.distance(h, view))).toEqual(Array(8).fill("local"))
    expect(names(p.newQueryPlan({ hosts: new Map(), tokenMap: undefined }))).toEqual([])
  })
})

describe("dcAware", () => {
  it("keeps to the local DC by default: remote hosts are ignored", () => {
    const p = LoadBalancingPolicy.dcAware({ localDc: "dc1" })
    expect(names(p.newQueryPlan(view))).toEqual([1, 2, 3, 4])
    expect(names(p.newQueryPlan(view))).toEqual([2, 3, 4, 1])
    expect(cluster.map((h) => p.distance(h, view))).toEqual(["local", "local", "local", "local", "ignored", "ignored", "ignored", "ignored"])
    expect([...firsts(400, () => p.newQueryPlan(view)).entries()].sort()).toEqual([[1, 100], [2, 100], [3, 100], [4, 100]])
  })

  it("adds up to N hosts of each remote DC after the local ones", () => {
    const p = LoadBalancingPolicy.dcAware({ localDc: "dc1", usedHostsPerRemoteDc: 1 })
    expect(names(p.newQueryPlan(view))).toEqual([1, 2, 3, 4, 5, 8])
    expect(cluster.map((h) => p.distance(h, view))).toEqual(["local", "local", "local", "local", "remote", "ignored", "ignored", "remote"])
    const two = LoadBalancingPolicy.dcAware({ localDc: "dc1", usedHostsPerRemoteDc: 2 })
    two.newQueryPlan(view)
    // The second plan rotates the local hosts and each remote DC's hosts.
    expect(names(two.newQueryPlan(view))).toEqual([2, 3, 4, 1, 6, 5, 8])
  })

  it("chooses remote hosts among those that are up, and skips local hosts that are down", () => {
    const p = LoadBalancingPolicy.dcAware({ localDc: "dc1", usedHostsPerRemoteDc: 1 })
    const v = viewOf(cluster.map((h) => (h.address === "10.0.0.5" || h.address === "10.0.0.2" ? { ...h, state: "down" as const } : h)))
    expect(names(p.newQueryPlan(v))).toEqual([1, 3, 4, 6, 8])
    expect(p.distance(cluster[4]!, v)).toBe("ignored")
    expect(p.distance(cluster[5]!, v)).toBe("remote")
  })

  it("keeps LOCAL_* requests in the local DC unless told otherwise", () => {
    const p = LoadBalancingPolicy.dcAware({ localDc: "dc1", usedHostsPerRemoteDc: 1 })
    expect(names(p.newQueryPlan(view, { consistency: "LOCAL_QUORUM" }))).toEqual([1, 2, 3, 4])
    expect(names(p.newQueryPlan(view, { consistency: "LOCAL_ONE" }))).toEqual([2, 3, 4, 1])
    expect(names(p.newQueryPlan(view, { consistency: "QUORUM" }))).toEqual([3, 4, 1, 2, 5, 8])
    const allow = LoadBalancingPolicy.dcAware({ localDc: "dc1", usedHostsPerRemoteDc: 1, allowRemoteForLocalConsistency: true })
    expect(names(allow.newQueryPlan(view, { consistency: "LOCAL_QUORUM" }))).toEqual([1, 2, 3, 4, 5, 8])
  })

  it("gives nothing when no host is in the local DC and remote DCs are not allowed", () => {
    expect(names(LoadBalancingPolicy.dcAware({ localDc: "nowhere" }).newQueryPlan(view))).toEqual([])
  })
})

describe("rackAware", () => {
  it("orders the local rack, then the rest of the local DC, then remote DCs", () => {
    const p = LoadBalancingPolicy.rackAware({ localDc: "dc1", localRack: "r2", usedHostsPerRemoteDc: 1 })
    expect(names(p.newQueryPlan(view))).toEqual([3, 4, 1, 2, 5, 8])
    expect(names(p.newQueryPlan(view))).toEqual([4, 3, 2, 1, 5, 8])
    expect(names(p.newQueryPlan(down(3)))).toEqual([4, 1, 2, 5, 8])
    expect(cluster.map((h) => p.distance(h, view))).toEqual(["local", "local", "local", "local", "remote", "ignored", "ignored", "remote"])
  })
})

describe("tokenAware", () => {
  const replicasOf = (k: string) => view.tokenMap!.replicasOfKey("ks", key(k))
  const routing = (k: string) => ({ keyspace: "ks", routingKey: key(k) })

  it("puts the local replicas first, then the child's plan without them", () => {
    const replicas = replicasOf("alice")
    const local = replicas.filter((h) => h.datacenter === "dc1").map((h) => names([h])[0])
    expect(replicas).toHaveLength(3)
    expect(local).toHaveLength(2)
    const p = LoadBalancingPolicy.tokenAware(LoadBalancingPolicy.dcAware({ localDc: "dc1" }))
    for (let i = 0; i < 20; i++) {
      const plan = names(p.newQueryPlan(view, routing("alice")))
      expect(plan.slice(0, 2).sort()).toEqual([...local].sort())
      expect([...plan].sort()).toEqual([1, 2, 3, 4])
    }
  })

  it("with the pools' load, a busy and silent replica comes last; of two healthy ones, the less busy leads", () => {
    const [a, b] = names(replicasOf("alice").filter((h) => h.datacenter === "dc1"))
    const p = LoadBalancingPolicy.tokenAware(LoadBalancingPolicy.dcAware({ localDc: "dc1" }))
    const withLoad = (inFlight: Record<number, number>, silent: Record<number, number>): LoadBalancingPolicy.ClusterView => ({
      ...view,
      load: { inFlight: (h) => inFlight[names([h])[0]!] ?? 0, silentMs: (h) => silent[names([h])[0]!] ?? 0 }
    })
    // a: 50 in flight, nothing answered for a second (a paused node): never first, whatever the shuffle.
    const paused = withLoad({ [a!]: 50 }, { [a!]: 1000 })
    expect([...firsts(200, () => p.newQueryPlan(paused, routing("alice"))).keys()]).toEqual([b])
    expect(names(p.newQueryPlan(paused, routing("alice"))).slice(0, 2)).toEqual([b, a])
    // Busy but answering, it is only less preferred: the less busy of the two leads every plan.
    const busy = withLoad({ [a!]: 50, [b!]: 3 }, { [a!]: 5 })
    expect([...firsts(200, () => p.newQueryPlan(busy, routing("alice"))).keys()]).toEqual([b])
    // Equal loads keep the shuffle.
    expect(firsts(400, () => p.newQueryPlan(withLoad({}, {}), routing("alice"))).size).toBe(2)
  })

  it("shuffles the replicas so that each leads some plans", () => {
    const p = LoadBalancingPolicy.tokenAware(LoadBalancingPolicy.dcAware({ localDc: "dc1" }))
    const counts = firsts(400, () => p.newQueryPlan(view, routing("alice")))
    expect(counts.size).toBe(2)
    for (const c of counts.values()) expect(c).toBeGreaterThan(120)
  })

  it("without shuffling, orders the replicas as the child does (a rack-aware child's rack first)", () => {
    const replicas = replicasOf("alice").filter((h) => h.datacenter === "dc1")
    // NetworkTopologyStrategy spreads a DC's replicas over its racks.
    expect(new Set(replicas.map((h) => h.rack)).size).toBe(2)
    const inRack = (rack: string) => names(replicas.filter((h) => h.rack === rack))[0]!
    for (const rack of ["r1", "r2"]) {
      const p = LoadBalancingPolicy.tokenAware(LoadBalancingPolicy.rackAware({ localDc: "dc1", localRack: rack }), { shuffleReplicas: false })
      for (let i = 0; i < 8; i++) {
        const plan = names(p.newQueryPlan(view, routing("alice")))
        expect(plan[0]).toBe(inRack(rack))
        expect(plan[1]).toBe(inRack(rack === "r1" ? "r2" : "r1"))
        expect([...plan].sort()).toEqual([1, 2, 3, 4])
      }
    }
  })

  it("without shuffling, pulls the child's plan only as far as it needs", () => {
    const replicas = replicasOf("alice").filter((h) => h.datacenter === "dc1")
    let pulled = 0
    const child: LoadBalancingPolicy.LoadBalancingPolicy = {
      distance: (h) => (h.datacenter === "dc1" ? "local" : "ignored"),
      newQueryPlan: function* (v) {
        for (const h of v.hosts.values()) {
          pulled++
          yield h
        }
      }
    }
    const it = LoadBalancingPolicy.tokenAware(child, { shuffleReplicas: false }).newQueryPlan(view, routing("alice"))[Symbol.iterator]()
    const first = it.next()
    expect(first.done).toBe(false)
    expect(pulled).toBe(cluster.findIndex((h) => h.endpoint === replicas[0]!.endpoint || h.endpoint === replicas[1]!.endpoint) + 1)
    // The hosts pulled before the replicas come right after them, in the child's order, then the rest.
    const rest = names({ [Symbol.iterator]: () => it })
    expect(new Set([names([first.value as Host])[0], ...rest]).size).toBe(8)
  })

  it("skips replicas that are down or not local to the child", () => {
    const [a, b] = replicasOf("alice").filter((h) => h.datacenter === "dc1")
    const p = LoadBalancingPolicy.tokenAware(LoadBalancingPolicy.dcAware({ localDc: "dc1", usedHostsPerRemoteDc: 1 }))
    const v = down(names([a!])[0]!)
    for (let i = 0; i < 10; i++) {
      const plan = names(p.newQueryPlan(v, routing("alice")))
      expect(plan[0]).toBe(names([b!])[0])
      expect(plan).not.toContain(names([a!])[0])
      // The dc2 replica is not local to the child: the remote hosts keep the child's order, after the local ones.
      expect(plan.slice(-2).sort()).toEqual([5, 8])
      expect(plan).toHaveLength(5)
    }
  })

  it("falls back to the child's plan without a keyspace, routing key, token map or known replicas", () => {
    const plans = (routingOf: LoadBalancingPolicy.Routing | undefined, v: LoadBalancingPolicy.ClusterView = view) => [
      names(LoadBalancingPolicy.tokenAware(LoadBalancingPolicy.roundRobin()).newQueryPlan(v, routingOf)),
      names(LoadBalancingPolicy.roundRobin().newQueryPlan(v, routingOf))
    ]
    for (const [withTokens, plain] of [
      plans(undefined),
      plans({ routingKey: key("alice") }),
      plans({ keyspace: "ks" }),
      plans({ keyspace: "other", routingKey: key("alice") }),
      plans(routing("alice"), { hosts: view.hosts, tokenMap: undefined })
    ]) expect(withTokens).toEqual(plain)
  })

  it("keeps to the hosts of an allow list it wraps", () => {
    const [a, b] = replicasOf("alice").filter((h) => h.datacenter === "dc1")
    const allowed = cluster.filter((h) => h !== a && h.datacenter === "dc1").map((h) => h.endpoint)
    const p = LoadBalancingPolicy.tokenAware(LoadBalancingPolicy.allowList(LoadBalancingPolicy.roundRobin(), allowed))
    const plan = names(p.newQueryPlan(view, routing("alice")))
    expect(plan[0]).toBe(names([b!])[0])
    expect(plan).toHaveLength(3)
    expect(plan).not.toContain(names([a!])[0])
  })
})

describe("filters", () => {
  it("allowList keeps its endpoints and ignores the others", () => {
    const p = LoadBalancingPolicy.allowList(LoadBalancingPolicy.roundRobin(), ["10.0.0.2:9042", "10.0.0.7:9042", "10.0.0.99:9042"])
    expect(names(p.newQueryPlan(view))).toEqual([2, 7])
    expect(names(p.newQueryPlan(view))).toEqual([2, 7])
    expect(names(p.newQueryPlan(view))).toEqual([7, 2])
    expect(cluster.map((h) => p.distance(h, view))).toEqual(["ignored", "local", "ignored", "ignored", "ignored", "ignored", "local", "ignored"])
  })

  it("hostFilter keeps what the predicate accepts, with the child's distances", () => {
    const p = LoadBalancingPolicy.hostFilter(LoadBalancingPolicy.dcAware({ localDc: "dc1", usedHostsPerRemoteDc: 2 }), (h) => h.rack === "r1")
    expect(names(p.newQueryPlan(view))).toEqual([1, 2, 5, 6, 8])
    expect(cluster.map((h) => p.distance(h, view))).toEqual(["local", "local", "ignored", "ignored", "remote", "remote", "ignored", "remote"])
  })
})

describe("defaultPolicy", () => {
  it("is token aware over DC aware with a local DC, over round robin without", () => {
    const local = LoadBalancingPolicy.defaultPolicy({ localDc: "dc2" })
    expect(names(local.newQueryPlan(view)).sort()).toEqual([5, 6, 7])
    expect(names(local.newQueryPlan(view, { keyspace: "ks", routingKey: key("alice") }))[0]).toBe(
      names(view.tokenMap!.replicasOfKey("ks", key("alice")).filter((h) => h.datacenter === "dc2"))[0]
    )
    expect(names(LoadBalancingPolicy.defaultPolicy().newQueryPlan(view))).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(LoadBalancingPolicy.defaultPolicy().distance(cluster[7]!, view)).toBe("local")
    expect(local.distance(cluster[0]!, view)).toBe("ignored")
  })
})
