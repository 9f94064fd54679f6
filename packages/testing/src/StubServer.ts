/**
 * A scriptable CQL server for tests: real TCP listeners (node:net) emulating 1..N Cassandra nodes on
 * 127.0.1.x addresses (apart from a real Cassandra on 127.0.0.x), speaking protocol v4 and v5 (v5 segments with
 * CRC24/CRC32, LZ4 after READY/AUTHENTICATE), with PasswordAuthenticator-style SASL PLAIN or a custom SASL
 * mechanism when configured.
 *
 * Each node answers from its system tables (system.local, system.peers_v2, system.peers with balanced Murmur3
 * tokens, and the system_schema tables of the keyspaces it emulates), `USE`, and from rules: match the query text
 * (and optionally its parameters), then answer with rows, any server error, a delay, a dropped connection, no
 * answer, or malformed bytes. Nodes can stop accepting connections and accept again, push events to the connections
 * that REGISTERed for them, and keep a log of the requests they received.
 *
 *   const server = yield* StubServer.make({ nodes: 3, rules: [{ query: "SELECT v FROM ks.kv WHERE k = ?", rows: [{ v: "x" }] }] })
 *   // contact points: server.contactPoints ("127.0.1.1:9042", ...)
 *
 * Closing the scope closes every socket and listener. A static answer to a prepared EXECUTE (null-server mode) is
 * encoded once and sent with only its stream id patched.
 */
import type { Event } from "@effect-cql/protocol"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { ClusterSpec, KeyspaceSpec, NodeInfo, NodeSpec } from "./internal/cluster.js"
import { balancedTokens, nthAddress, stableUuid, virtualTables } from "./internal/cluster.js"
import { RuleBook } from "./internal/match.js"
import type { Authenticator, Malformed } from "./internal/stubConnection.js"
import type { LoggedRequest, Shared } from "./internal/stubNode.js"
import { StubNode } from "./internal/stubNode.js"

export type { KeyspaceSpec, NodeSpec, TableSpec, UdtSpec } from "./internal/cluster.js"
export type { QueryMatcher } from "./internal/match.js"
export type { AuthAnswer, Authenticator, Malformed } from "./internal/stubConnection.js"
export type { LoggedRequest } from "./internal/stubNode.js"

export type { Rule, Statement } from "./internal/rules.js"
import type { Rule } from "./internal/rules.js"

export interface Options {
  /** How many nodes, or one spec per node. Default 1. */
  readonly nodes?: number | ReadonlyArray<NodeSpec>
  /** The first node's address; the others follow it. Default "127.0.1.1". */
  readonly firstAddress?: string
  /** Every node's native port. Default 9042; 0 gives each node an ephemeral port. */
  readonly port?: number
  /** Default [4, 5]. A v5 STARTUP to a v4-only node gets a protocol error, as from Cassandra 3.x. */
  readonly protocolVersions?: ReadonlyArray<4 | 5>
  /** Offered in SUPPORTED. Default ["lz4", "snappy"] (snappy is refused in v5, which has only lz4). */
  readonly compression?: ReadonlyArray<"lz4" | "snappy">
  /** Require SASL PLAIN authentication (PasswordAuthenticator) with these credentials. */
  readonly credentials?: { readonly username: string; readonly password: string }
  /** Require authentication by a custom SASL mechanism instead (its class name and its server side). */
  readonly authenticator?: Authenticator
  /** Keyspaces to emulate (their tables and types appear in system_schema). */
  readonly keyspaces?: ReadonlyArray<KeyspaceSpec>
  readonly rules?: ReadonlyArray<Rule>
  /** Default "stub". */
  readonly clusterName?: string
  /** Default "5.0.9". */
  readonly releaseVersion?: string
  /** Tokens per node. Default 1. */
  readonly numTokens?: number
  /** Keep a log of every request. Default true (turn off for throughput). */
  readonly log?: boolean
  /** What a statement no rule or system table answers gets. Default "error" (an Invalid naming the query). */
  readonly unmatched?: "error" | "void"
}

/** The stub could not start (e.g. an address already in use). */
export class StubError extends Data.TaggedError("StubError")<{ readonly message: string; readonly cause?: unknown }> {}

/** One emulated node. Its methods act at once on its sockets. */
export interface Node {
  /** 1-based. */
  readonly index: number
  readonly address: string
  readonly port: number
  /** "address:port", for a driver's contact points. */
  readonly contactPoint: string
  readonly hostId: string
  readonly dataCenter: string
  readonly rack: string
  readonly tokens: ReadonlyArray<string>
  /** Rules for this node only, checked before the server's. */
  readonly addRules: (...rules: ReadonlyArray<Rule>) => Effect.Effect<void>
  readonly clearRules: Effect.Effect<void>
  /** The requests this node received, in order (empty when logging is off). */
  readonly requests: Effect.Effect<ReadonlyArray<LoggedRequest>>
  readonly clearRequests: Effect.Effect<void>
  /** Sends an EVENT to this node's connections registered for its type; returns how many got it. */
  readonly pushEvent: (event: Event.Event) => Effect.Effect<number>
  /** Stops listening: new connections are refused; open ones stay. */
  readonly stopAccepting: Effect.Effect<void>
  /** Listens again, on the same address and port. */
  readonly startAccepting: Effect.Effect<void, StubError>
  /** Closes every open connection at once (a crash, as the clients see it). */
  readonly dropConnections: Effect.Effect<void>
  /** A stopped process (SIGSTOP): open and new connections stay open, but nothing is read or answered. */
  readonly pause: Effect.Effect<void>
  /** Continues (SIGCONT): what was held is answered, in order. */
  readonly resume: Effect.Effect<void>
  /** Forgets the prepared statements (a restart): EXECUTEs then get Unprepared. */
  readonly clearPrepared: Effect.Effect<void>
  /** Writes malformed bytes to every open connection now. */
  readonly sendMalformed: (malformed: Malformed) => Effect.Effect<void>
  /** Open connections. */
  readonly connections: Effect.Effect<number>
}

export interface StubServer {
  readonly nodes: ReadonlyArray<Node>
  readonly contactPoints: ReadonlyArray<string>
  /** Rules for every node. */
  readonly addRules: (...rules: ReadonlyArray<Rule>) => Effect.Effect<void>
  readonly clearRules: Effect.Effect<void>
  /** Sends an EVENT from every node to its registered connections; returns how many got it. */
  readonly pushEvent: (event: Event.Event) => Effect.Effect<number>
  /** Every node's requests, by arrival time. */
  readonly requests: Effect.Effect<ReadonlyArray<LoggedRequest>>
}

export const StubServer = Context.GenericTag<StubServer>("@effect-cql/testing/StubServer")

const nodeApi = (n: StubNode): Node => ({
  index: n.info.index,
  address: n.info.address,
  get port() {
    return n.info.port
  },
  get contactPoint() {
    return `${n.info.address}:${n.info.port}`
  },
  hostId: n.info.hostId,
  dataCenter: n.info.dataCenter,
  rack: n.info.rack,
  tokens: n.info.tokens,
  addRules: (...rules) =>
    Effect.sync(() => {
      for (const r of rules) n.rules.add(r)
    }),
  clearRules: Effect.sync(() => n.rules.clear()),
  requests: Effect.sync(() => n.requests.slice()),
  clearRequests: Effect.sync(() => {
    n.requests.length = 0
  }),
  pushEvent: (event) => Effect.sync(() => n.pushEvent(event)),
  stopAccepting: Effect.sync(() => n.stopAccepting()),
  startAccepting: Effect.tryPromise({
    try: () => n.listen(),
    catch: (cause) => new StubError({ message: `node ${n.info.index} cannot listen on ${n.info.address}:${n.info.port}`, cause })
  }),
  dropConnections: Effect.sync(() => n.dropConnections()),
  clearPrepared: Effect.sync(() => n.clearPrepared()),
  pause: Effect.sync(() => n.pause()),
  resume: Effect.sync(() => n.resume()),
  sendMalformed: (malformed) =>
    Effect.sync(() => {
      for (const c of n.connections) c.sendMalformed(malformed)
    }),
  connections: Effect.sync(() => n.connections.size)
})

/** Starts the nodes; closing the scope closes their sockets and listeners. */
export const make = (options: Options = {}): Effect.Effect<StubServer, StubError, Scope.Scope> =>
  Effect.gen(function* () {
    const specs: ReadonlyArray<NodeSpec> =
      typeof options.nodes === "object" ? options.nodes : Array.from({ length: options.nodes ?? 1 }, () => ({}))
    const protocolVersions = options.protocolVersions ?? [4, 5]
    if (specs.length === 0 || protocolVersions.length === 0) {
      return yield* new StubError({ message: "a stub server needs at least one node and one protocol version" })
    }
    const numTokens = options.numTokens ?? 1
    const tokens = balancedTokens(specs.length, numTokens)
    const first = options.firstAddress ?? "127.0.1.1"
    const infos = yield* Effect.try({
      try: () =>
        specs.map(
          (s, i): NodeInfo => ({
            index: i + 1,
            address: nthAddress(first, i),
            advertisedAddress: s.advertisedAddress ?? nthAddress(first, i),
            port: options.port ?? 9042,
            dataCenter: s.dataCenter ?? "dc1",
            rack: s.rack ?? "rack1",
            hostId: stableUuid(`host:${nthAddress(first, i)}`),
            tokens: tokens[i]!
          })
        ),
      catch: (cause) => new StubError({ message: String(cause instanceof Error ? cause.message : cause), cause })
    })
    const spec: ClusterSpec = {
      clusterName: options.clusterName ?? "stub",
      releaseVersion: options.releaseVersion ?? "5.0.9",
      nativeProtocolVersion: Math.max(...protocolVersions),
      keyspaces: options.keyspaces ?? []
    }
    const rules = new RuleBook<Rule>()
    for (const r of options.rules ?? []) rules.add(r)
    const shared: Shared = {
      spec,
      rules,
      tables: virtualTables(spec, infos),
      protocolVersions,
      compression: options.compression ?? ["lz4", "snappy"],
      credentials: options.credentials,
      authenticator: options.authenticator,
      logging: options.log ?? true,
      unmatched: options.unmatched ?? "error"
    }
    const nodes = infos.map((info) => new StubNode(info, shared))
    const closeAll = () => Promise.all(nodes.map((n) => n.close())).then(() => undefined)
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          Promise.all(nodes.map((n) => n.listen())).catch(async (e) => {
            await closeAll()
            throw e
          }),
        catch: (cause) =>
          new StubError({ message: `stub nodes cannot listen: ${cause instanceof Error ? cause.message : String(cause)}`, cause })
      }),
      () => Effect.promise(closeAll)
    )
    const api = nodes.map(nodeApi)
    const server: StubServer = {
      nodes: api,
      contactPoints: api.map((n) => n.contactPoint),
      addRules: (...more) =>
        Effect.sync(() => {
          for (const r of more) rules.add(r)
        }),
      clearRules: Effect.sync(() => rules.clear()),
      pushEvent: (event) => Effect.sync(() => nodes.reduce((sent, n) => sent + n.pushEvent(event), 0)),
      requests: Effect.sync(() => nodes.flatMap((n) => n.requests).sort((a, b) => a.at - b.at))
    }
    return server
  })

/** The stub server as a scoped layer. */
export const layer = (options: Options = {}): Layer.Layer<StubServer, StubError> => Layer.scoped(StubServer, make(options))
