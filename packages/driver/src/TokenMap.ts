/**
 * The token ring and the replicas of every token, for token-aware routing.
 *
 * - Tokens: Murmur3Partitioner (Cassandra's MurmurHash3 variant; a signed 64-bit token as a bigint),
 *   RandomPartitioner (|MD5| as a bigint), ByteOrderedPartitioner (the key bytes as a Buffer).
 * - The ring: every host's tokens, sorted; position i owns the range (token[i-1], token[i]], and tokens past the
 *   last one wrap to position 0.
 * - Replicas: computed once per distinct replication (SimpleStrategy, NetworkTopologyStrategy with racks,
 *   LocalStrategy, EverywhereStrategy) for every ring position, so `replicas(keyspace, token)` is a binary search
 *   and two array reads. A keyspace with an unknown strategy has no replicas (the caller routes without them).
 */
import { Codec } from "@effect-cql/protocol"
import { ByteWriter } from "@effect-cql/protocol/internal"
import type { DataType } from "@effect-cql/protocol"
import * as Option from "effect/Option"
import { createHash } from "node:crypto"
import type { Host, Replication } from "./internal/metadata/model.js"
import { murmur3, token as m3 } from "./internal/metadata/murmur3.js"
import { type Placement, placementOf, replicationKey } from "./internal/metadata/replication.js"

export type PartitionerName = "Murmur3Partitioner" | "RandomPartitioner" | "ByteOrderedPartitioner"

/** bigint for Murmur3Partitioner and RandomPartitioner, Buffer for ByteOrderedPartitioner. */
export type Token = bigint | Buffer

/** The partitioner of a class name such as `org.apache.cassandra.dht.Murmur3Partitioner`, if this driver has it. */
export const partitionerOf = (className: string): PartitionerName | undefined => {
  const name = className.slice(className.lastIndexOf(".") + 1)
  return name === "Murmur3Partitioner" || name === "RandomPartitioner" || name === "ByteOrderedPartitioner"
    ? name
    : undefined
}

/**
 * The routing key of a partition key: the value's bytes for a single column; for a composite key each component
 * as `[short length][bytes][0]` (Cassandra's CompositeType). None when a component of a composite key is longer
 * than 65535 bytes, which that encoding cannot carry.
 */
export const routingKey = (components: ReadonlyArray<Uint8Array>): Option.Option<Buffer> => {
  if (components.length === 1) return Option.some(Buffer.from(components[0]!))
  let size = 0
  for (const c of components) {
    if (c.length > 0xffff) return Option.none()
    size += c.length + 3
  }
  const out = Buffer.allocUnsafe(size)
  let o = 0
  for (const c of components) {
    out.writeUInt16BE(c.length, o)
    out.set(c, o + 2)
    o += c.length + 2
    out[o++] = 0
  }
  return Option.some(out)
}

// One writer for every routing key: a key's value is encoded here, then copied out at its exact size.
const scratch = new ByteWriter(64)

/** One value's bytes, as a routing key component; undefined when it is null, unset or not of its type. */
const valueBytes = (type: DataType.DataType, value: unknown): Buffer | undefined => {
  if (value === null || value === undefined || value === Codec.unset) return undefined
  scratch.reset()
  try {
    Codec.writeValue(scratch, type, value, "")
  } catch {
    return undefined // the request's own encoding reports it
  }
  // Past the [int] length prefix; a loop, as keys are short and Buffer#copy has a fixed cost of its own.
  const len = scratch.offset - 4
  const out = Buffer.allocUnsafe(len)
  const src = scratch.buf
  for (let i = 0; i < len; i++) out[i] = src[i + 4]!
  return out
}

/**
 * The routing key of a prepared statement's bound values (`pkIndexes`: the partition key's bind positions), when
 * every component is set. A single-column key costs one allocation: this runs for every token-aware request.
 */
export const routingKeyOfValues = (
  types: ReadonlyArray<DataType.DataType>,
  values: ReadonlyArray<unknown>,
  pkIndexes: ReadonlyArray<number>
): Buffer | undefined => {
  if (pkIndexes.length === 1) return valueBytes(types[pkIndexes[0]!]!, values[pkIndexes[0]!])
  if (pkIndexes.length === 0) return undefined
  const parts: Array<Buffer> = []
  for (const i of pkIndexes) {
    const bytes = valueBytes(types[i]!, values[i])
    if (bytes === undefined) return undefined
    parts.push(bytes)
  }
  return Option.getOrUndefined(routingKey(parts))
}

const int64Min = -(1n << 63n)
const int64Max = (1n << 63n) - 1n
const two128 = 1n << 128n

/** Murmur3 token of a routing key. */
const murmur3Token = (key: Uint8Array): bigint => {
  murmur3(key)
  return (BigInt(m3.hi) << 32n) | BigInt(m3.lo)
}

/** RandomPartitioner: the MD5 digest read as a signed 128-bit integer, absolute value; an empty key is -1. */
const md5Token = (key: Uint8Array): bigint => {
  if (key.length === 0) return -1n
  const v = BigInt(`0x${createHash("md5").update(key).digest("hex")}`)
  return v >= two128 / 2n ? two128 - v : v
}

/** The token of a routing key. */
export const tokenOf = (partitioner: PartitionerName, key: Uint8Array): Token => {
  switch (partitioner) {
    case "Murmur3Partitioner":
      return murmur3Token(key)
    case "RandomPartitioner":
      return md5Token(key)
    case "ByteOrderedPartitioner":
      return Buffer.from(key)
  }
}

/** A token as system.local/peers store it: decimal for the hash partitioners, hex for ByteOrdered. */
export const parseToken = (partitioner: PartitionerName, text: string): Option.Option<Token> => {
  if (partitioner === "ByteOrderedPartitioner") {
    return /^(?:[0-9a-fA-F]{2})*$/.test(text) ? Option.some(Buffer.from(text, "hex")) : Option.none()
  }
  if (!/^-?\d{1,40}$/.test(text)) return Option.none()
  const t = BigInt(text)
  const ok = partitioner === "Murmur3Partitioner" ? t >= int64Min && t <= int64Max : t >= -1n && t <= two128 / 2n
  return ok ? Option.some(t) : Option.none()
}

export const tokenToString = (t: Token): string => (typeof t === "bigint" ? t.toString() : t.toString("hex"))

/** Orders tokens: bigints numerically, byte tokens as unsigned bytes (and, for mixed kinds, bigints first). */
export const compareTokens = (a: Token, b: Token): number => {
  if (typeof a === "bigint") return typeof b === "bigint" ? (a < b ? -1 : a > b ? 1 : 0) : -1
  return typeof b === "bigint" ? 1 : Buffer.compare(a, b)
}

// ---------------------------------------------------------------------------------------------------------------
// The ring

interface Ring {
  readonly size: number
  /** Host index owning each position. */
  readonly owners: Int32Array
  readonly tokenAt: (i: number) => Token
  /** The position whose range holds `t`: the first token >= t, or 0 past the last one. */
  readonly search: (t: Token) => number
  /** `search(tokenOf(key))` without building the token. */
  readonly searchKey: (key: Uint8Array) => number
}

/** Murmur3 tokens as signed high and unsigned low halves: searching compares numbers, not bigints. */
const murmur3Ring = (tokens: ReadonlyArray<bigint>, owners: Int32Array): Ring => {
  const n = tokens.length
  const hi = new Int32Array(n)
  const lo = new Uint32Array(n)
  tokens.forEach((t, i) => {
    hi[i] = Number(BigInt.asIntN(32, t >> 32n))
    lo[i] = Number(BigInt.asUintN(32, t))
  })
  const find = (h: number, l: number): number => {
    let a = 0
    let b = n
    while (a < b) {
      const m = (a + b) >>> 1
      const mh = hi[m]!
      if (mh < h || (mh === h && lo[m]! < l)) a = m + 1
      else b = m
    }
    return a === n ? 0 : a
  }
  return {
    size: n,
    owners,
    tokenAt: (i) => tokens[i]!,
    search: (t) => find(Number(BigInt.asIntN(32, (t as bigint) >> 32n)), Number(BigInt.asUintN(32, t as bigint))),
    searchKey: (key) => {
      murmur3(key)
      return find(m3.hi, m3.lo)
    }
  }
}

/** Any other partitioner: a binary search with `compareTokens`. */
const genericRing = (partitioner: PartitionerName, tokens: ReadonlyArray<Token>, owners: Int32Array): Ring => {
  const n = tokens.length
  const search = (t: Token): number => {
    let a = 0
    let b = n
    while (a < b) {
      const m = (a + b) >>> 1
      if (compareTokens(tokens[m]!, t) < 0) a = m + 1
      else b = m
    }
    return a === n ? 0 : a
  }
  return { size: n, owners, tokenAt: (i) => tokens[i]!, search, searchKey: (key) => search(tokenOf(partitioner, key)) }
}

// ---------------------------------------------------------------------------------------------------------------
// The token map

export interface KeyspaceReplication {
  readonly keyspace: string
  readonly replication: Replication
}

export interface TokenMap {
  readonly partitioner: PartitionerName
  /** The hosts that own tokens (host indices in the ring refer to this list). */
  readonly hosts: ReadonlyArray<Host>
  /** Number of tokens in the ring. */
  readonly size: number
  /** The ring in token order. */
  readonly ring: () => ReadonlyArray<{ readonly token: Token; readonly host: Host }>
  readonly tokenOf: (routingKey: Uint8Array) => Token
  /** The replicas of a token in a keyspace, primary first; empty for an unknown keyspace or strategy. */
  readonly replicas: (keyspace: string, token: Token) => ReadonlyArray<Host>
  /** `replicas(keyspace, tokenOf(routingKey))`, without materializing the token (the per-request path). */
  readonly replicasOfKey: (keyspace: string, routingKey: Uint8Array) => ReadonlyArray<Host>
  /** The same ring with another set of keyspaces; placements already computed are reused. */
  readonly withKeyspaces: (keyspaces: ReadonlyArray<KeyspaceReplication>) => TokenMap
  /**
   * The same ring with updated host objects (e.g. a state change): when no host moved, joined or left (same
   * endpoints, tokens, data centres and racks) the placements are kept, else everything is rebuilt.
   */
  readonly withHosts: (hosts: ReadonlyArray<Host>) => TokenMap
}

/** A computed placement with its replica lists as Host arrays. */
interface HostPlacement {
  readonly placement: Placement
  readonly sets: ReadonlyArray<ReadonlyArray<Host>>
}

const none: ReadonlyArray<Host> = []

const materialize = (p: Placement, hosts: ReadonlyArray<Host>): HostPlacement => ({
  placement: p,
  sets: p.sets.map((s) => Array.from(s, (h) => hosts[h]!))
})

/** Where a host sits: what the ring and placements depend on. */
const topologyKey = (h: Host): string => `${h.endpoint}\u0000${h.datacenter}\u0000${h.rack}\u0000${h.tokens.join(",")}`

/**
 * Builds the ring from the hosts' tokens (tokens that do not parse are ignored; when two hosts claim one token the
 * first keeps it) and the placements of the keyspaces' replications.
 */
export const make = (
  partitioner: PartitionerName,
  hosts: ReadonlyArray<Host>,
  keyspaces: ReadonlyArray<KeyspaceReplication>
): TokenMap => {
  const entries: Array<{ token: Token; host: number }> = []
  const candidates: Array<Host> = []
  for (const h of hosts) {
    const before = entries.length
    for (const text of h.tokens) {
      const t = parseToken(partitioner, text)
      if (Option.isSome(t)) entries.push({ token: t.value, host: candidates.length })
    }
    if (entries.length > before) candidates.push(h)
  }
  entries.sort((a, b) => compareTokens(a.token, b.token))
  const unique = entries.filter((e, i) => i === 0 || compareTokens(entries[i - 1]!.token, e.token) !== 0)
  // Hosts whose every token was claimed first by another host own nothing: renumber the ones that do.
  const used = [...new Set(unique.map((e) => e.host))].sort((a, b) => a - b)
  const renumber = new Map(used.map((old, i) => [old, i]))
  const ringHosts = used.map((i) => candidates[i]!)
  const owners = Int32Array.from(unique, (e) => renumber.get(e.host)!)
  const tokens = unique.map((e) => e.token)
  const ring =
    partitioner === "Murmur3Partitioner"
      ? murmur3Ring(tokens as Array<bigint>, owners)
      : genericRing(partitioner, tokens, owners)
  return build(partitioner, ring, ringHosts, keyspaces, new Map())
}

const build = (
  partitioner: PartitionerName,
  ring: Ring,
  hosts: ReadonlyArray<Host>,
  keyspaces: ReadonlyArray<KeyspaceReplication>,
  cache: Map<string, HostPlacement | undefined>
): TokenMap => {
  const byKeyspace = new Map<string, HostPlacement>()
  for (const { keyspace, replication } of keyspaces) {
    const key = replicationKey(replication)
    let p = cache.get(key)
    if (p === undefined && !cache.has(key)) {
      const placement = ring.size === 0 ? undefined : placementOf(replication, ring.owners, hosts)
      p = placement === undefined ? undefined : materialize(placement, hosts)
      cache.set(key, p)
    }
    if (p !== undefined) byKeyspace.set(keyspace, p)
  }
  const self: TokenMap = {
    partitioner,
    hosts,
    size: ring.size,
    ring: () => Array.from({ length: ring.size }, (_, i) => ({ token: ring.tokenAt(i), host: hosts[ring.owners[i]!]! })),
    tokenOf: (key) => tokenOf(partitioner, key),
    replicas: (keyspace, token) => {
      const p = byKeyspace.get(keyspace)
      // A token of another partitioner's kind lies on no ring of this one.
      const kindOk = partitioner === "ByteOrderedPartitioner" ? Buffer.isBuffer(token) : typeof token === "bigint"
      return p === undefined || !kindOk ? none : p.sets[p.placement.setOf[ring.search(token)]!]!
    },
    replicasOfKey: (keyspace, key) => {
      const p = byKeyspace.get(keyspace)
      return p === undefined ? none : p.sets[p.placement.setOf[ring.searchKey(key)]!]!
    },
    withKeyspaces: (next) => build(partitioner, ring, hosts, next, cache),
    withHosts: (next) => {
      const byEndpoint = new Map(next.map((h) => [h.endpoint, h]))
      const moved =
        hosts.some((h) => {
          const n = byEndpoint.get(h.endpoint)
          return n === undefined || topologyKey(n) !== topologyKey(h)
        }) || next.some((h) => h.tokens.length > 0 && !hosts.some((x) => x.endpoint === h.endpoint))
      if (moved) return make(partitioner, next, keyspaces)
      const updated = hosts.map((h) => byEndpoint.get(h.endpoint)!)
      const remapped = new Map<string, HostPlacement | undefined>()
      for (const [k, p] of cache) remapped.set(k, p === undefined ? undefined : materialize(p.placement, updated))
      return build(partitioner, ring, updated, keyspaces, remapped)
    }
  }
  return self
}
