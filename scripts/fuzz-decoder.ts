/**
 * Fuzzes the whole inbound path: bytes from a socket -> `Segment.Inbound` (plain v4 envelopes, v4 lz4/snappy
 * bodies, v5 segments with or without lz4) -> `Response.decodeResponseEnvelope` (rows decoded by `Rows.readRows`)
 * or, for request envelopes, `Request.decodeRequestEnvelope` (the stub server's side).
 *
 * Each input starts from valid envelopes of every message kind (both versions), then is mutated: bit flips, byte
 * edits, truncations, insertions, deletions, duplicated slices and length-field edits, either inside one envelope
 * before framing (so that CRCs and compression stay valid and the message decoders see the damage) or on the
 * framed bytes; some inputs are random bytes, some are left valid (those must decode). The stream is then pushed
 * in random chunks.
 *
 * It reports how many inputs ran, how many decoded, how many ended in a DecodeError, and checks that no exception
 * escaped, that every decoder returned an Either, that every valid input decoded, and that no input ran longer
 * than the time limit (a batch that hangs is interrupted by a vm timeout and the input is reported).
 *
 *   npx vite-node scripts/fuzz-decoder.ts [count=1000000] [--seed N] [--limit-ms 50] [--only INDEX]
 *
 * Inputs are reproducible: input i of seed s is always the same (`--only i --seed s` prints it).
 */
import * as Either from "effect/Either"
import { performance } from "node:perf_hooks"
import * as vm from "node:vm"
import * as Compression from "../packages/protocol/src/Compression.js"
import type { DataType } from "../packages/protocol/src/DataType.js"
import * as Frame from "../packages/protocol/src/Frame.js"
import { ByteWriter } from "../packages/protocol/src/internal/writer.js"
import * as Request from "../packages/protocol/src/Request.js"
import * as Response from "../packages/protocol/src/Response.js"
import type { ColumnSpec, RowsMetadata } from "../packages/protocol/src/Rows.js"
import * as Segment from "../packages/protocol/src/Segment.js"
import type * as ServerError from "../packages/protocol/src/ServerError.js"

// ---------------------------------------------------------------------------------------------------------------
// Deterministic randomness: input i of seed s gets its own generator.

class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0
  }
  /** mulberry32 */
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
  int(n: number): number {
    return n <= 0 ? 0 : this.u32() % n
  }
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p
  }
  pick<A>(xs: ReadonlyArray<A>): A {
    return xs[this.int(xs.length)]!
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff
    return b
  }
}

/** A 32-bit finalizer (murmur3's): every input bit affects every output bit. */
const mix = (x: number): number => {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

/** The seed is mixed before the index is added, so that two seeds do not replay the same inputs in another order. */
const inputSeed = (seed: number, index: number): number => mix((mix(seed) + Math.imul(index + 1, 0x9e3779b9)) | 0)

// ---------------------------------------------------------------------------------------------------------------
// The corpus: one valid envelope per message kind and version.

interface Seed {
  readonly name: string
  readonly version: 4 | 5
  readonly envelope: Buffer
  readonly ctx: Response.DecodeContext
}

const native = (kind: string): DataType => ({ kind }) as DataType
const col = (name: string, type: DataType): ColumnSpec => ({ keyspace: "ks", table: "t", name, type })

const columns: ReadonlyArray<ColumnSpec> = [
  col("id", native("uuid")),
  col("n", native("int")),
  col("big", native("bigint")),
  col("name", native("varchar")),
  col("asc", native("ascii")),
  col("ok", native("boolean")),
  col("score", native("double")),
  col("f", native("float")),
  col("data", native("blob")),
  col("at", native("timestamp")),
  col("day", native("date")),
  col("tod", native("time")),
  col("dur", native("duration")),
  col("dec", native("decimal")),
  col("vi", native("varint")),
  col("ip", native("inet")),
  col("small", native("smallint")),
  col("tiny", native("tinyint")),
  col("tu", native("timeuuid")),
  col("cnt", native("counter")),
  col("tags", { kind: "list", element: native("varchar") }),
  col("uniq", { kind: "set", element: native("int") }),
  col("m", { kind: "map", key: native("varchar"), value: { kind: "list", element: native("int") } }),
  col("tup", { kind: "tuple", elements: [native("int"), native("varchar")] }),
  col("addr", {
    kind: "udt",
    keyspace: "ks",
    name: "address",
    fields: [
      { name: "street", type: native("varchar") },
      { name: "zip", type: native("int") }
    ]
  }),
  col("vec", { kind: "vector", element: native("float"), dimension: 3 }),
  col("vtext", { kind: "vector", element: native("varchar"), dimension: 2 }),
  col("cust", { kind: "custom", className: "org.example.Foo" })
]

const fullRow = {
  id: "5b6962dd-3f90-4c93-8f61-eabfa4a803e2",
  n: 42,
  big: -7n,
  name: "héllo",
  asc: "plain",
  ok: true,
  score: 1.5,
  f: 0.25,
  data: Buffer.from([0, 1, 2, 255]),
  at: new Date(1_700_000_000_000),
  day: "2024-02-29",
  tod: "12:34:56.789",
  dur: "1h30m",
  dec: "-123.4500",
  vi: 12345678901234567890n,
  ip: "2001:db8::1",
  small: -300,
  tiny: 7,
  tu: "8f1c2b40-9c4e-11ee-8c90-0242ac120002",
  cnt: 9n,
  tags: ["a", "b", ""],
  uniq: [1, 2, 3],
  m: new Map([["k", [1, 2]]]),
  tup: [1, "x"],
  addr: { street: "Main", zip: 12345 },
  vec: new Float32Array([1, 2, 3]),
  vtext: ["ab", "c"],
  cust: Buffer.from("custom")
}

const meta = (m: Partial<RowsMetadata>): RowsMetadata => ({
  flags: 0,
  columnCount: columns.length,
  columns,
  pagingState: undefined,
  newMetadataId: undefined,
  ...m
})

const kv: ReadonlyArray<ColumnSpec> = [col("k", native("int")), col("v", native("varchar"))]

const errors = (version: 4 | 5): ReadonlyArray<ServerError.ServerError> => {
  const c = { consistency: "QUORUM" as const, received: 1, blockFor: 2 }
  const reasons = [
    { endpoint: "10.0.0.1", code: 1 },
    { endpoint: "::1", code: 0 }
  ]
  return [
    { kind: "ServerError", message: "boom" },
    { kind: "ProtocolError", message: "Invalid or unsupported protocol version" },
    { kind: "AuthenticationError", message: "bad credentials" },
    { kind: "Unavailable", message: "u", consistency: "LOCAL_QUORUM", required: 3, alive: 1 },
    { kind: "Overloaded", message: "o" },
    { kind: "IsBootstrapping", message: "b" },
    { kind: "TruncateError", message: "t" },
    { kind: "WriteTimeout", message: "wt", ...c, writeType: "SIMPLE" },
    version === 5
      ? { kind: "WriteTimeout", message: "cas", ...c, writeType: "CAS", contentions: 3 }
      : { kind: "WriteTimeout", message: "cas", ...c, writeType: "CAS" },
    { kind: "ReadTimeout", message: "rt", ...c, dataPresent: true },
    { kind: "ReadFailure", message: "rf", ...c, numFailures: 2, reasons: version === 5 ? reasons : [], dataPresent: false },
    { kind: "FunctionFailure", message: "ff", keyspace: "ks", function: "f", argTypes: ["int", "text"] },
    { kind: "WriteFailure", message: "wf", ...c, numFailures: 2, reasons: version === 5 ? reasons : [], writeType: "BATCH" },
    { kind: "CdcWriteFailure", message: "cdc" },
    ...(version === 5 ? [{ kind: "CasWriteUnknown" as const, message: "cu", ...c }] : []),
    { kind: "SyntaxError", message: "s" },
    { kind: "Unauthorized", message: "no" },
    { kind: "Invalid", message: "i" },
    { kind: "ConfigError", message: "c" },
    { kind: "AlreadyExists", message: "ae", keyspace: "ks", table: "t" },
    { kind: "Unprepared", message: "up", id: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]) },
    { kind: "Unknown", code: 0x7777, message: "future" }
  ]
}

const responses = (version: 4 | 5): ReadonlyArray<[string, Response.Response, Response.DecodeContext]> => {
  const none: Response.DecodeContext = {}
  const traced = { tracingId: Buffer.alloc(16, 0xab), warnings: ["big batch"], customPayload: { k: Buffer.from([1]) } }
  return [
    ["READY", { _tag: "Ready" }, none],
    ["AUTHENTICATE", { _tag: "Authenticate", authenticator: "org.apache.cassandra.auth.PasswordAuthenticator" }, none],
    ["SUPPORTED", { _tag: "Supported", options: { CQL_VERSION: ["3.4.7"], COMPRESSION: ["lz4", "snappy"], PROTOCOL_VERSIONS: ["4/v4", "5/v5"] } }, none],
    ["AUTH_CHALLENGE", { _tag: "AuthChallenge", token: Buffer.from("challenge") }, none],
    ["AUTH_SUCCESS", { _tag: "AuthSuccess", token: null }, none],
    ["Void (traced, warnings, payload)", { _tag: "Void", ...traced }, none],
    ["SetKeyspace", { _tag: "SetKeyspace", keyspace: "ks" }, none],
    ["SchemaChange KEYSPACE", { _tag: "SchemaChange", change: { change: "CREATED", target: "KEYSPACE", keyspace: "ks" } }, none],
    ["SchemaChange TABLE", { _tag: "SchemaChange", change: { change: "UPDATED", target: "TABLE", keyspace: "ks", name: "t" } }, none],
    ["SchemaChange TYPE", { _tag: "SchemaChange", change: { change: "DROPPED", target: "TYPE", keyspace: "ks", name: "ty" } }, none],
    [
      "SchemaChange FUNCTION",
      { _tag: "SchemaChange", change: { change: "CREATED", target: "FUNCTION", keyspace: "ks", name: "f", argTypes: ["int"] } },
      none
    ],
    [
      "SchemaChange AGGREGATE",
      { _tag: "SchemaChange", change: { change: "CREATED", target: "AGGREGATE", keyspace: "ks", name: "a", argTypes: ["int", "text"] } },
      none
    ],
    ["EVENT TOPOLOGY_CHANGE", { _tag: "Event", event: { type: "TOPOLOGY_CHANGE", change: "NEW_NODE", address: "127.0.0.2", port: 9042 } }, none],
    ["EVENT STATUS_CHANGE", { _tag: "Event", event: { type: "STATUS_CHANGE", change: "DOWN", address: "fe80::1", port: 9042 } }, none],
    ["EVENT SCHEMA_CHANGE", { _tag: "Event", event: { type: "SCHEMA_CHANGE", change: "DROPPED", target: "KEYSPACE", keyspace: "ks" } }, none],
    [
      "Rows (every type)",
      { _tag: "Rows", metadata: meta({}), columns, rows: [fullRow, {}, { ...fullRow, tags: [], m: new Map(), name: "" }] },
      none
    ],
    [
      "Rows (paging state, per-column specs)",
      {
        _tag: "Rows",
        metadata: { flags: 0, columnCount: 2, columns: [kv[0]!, { ...kv[1]!, table: "u" }], pagingState: Buffer.from([1, 2, 3]), newMetadataId: undefined },
        columns: [kv[0]!, { ...kv[1]!, table: "u" }],
        rows: [{ k: 1, v: "a" }, { k: 2, v: null }]
      },
      none
    ],
    [
      "Rows (No_metadata, cached columns)",
      {
        _tag: "Rows",
        metadata: { flags: 0, columnCount: columns.length, columns: undefined, pagingState: undefined, newMetadataId: undefined },
        columns,
        rows: [fullRow]
      },
      { columns }
    ],
    ...(version === 5
      ? [
          [
            "Rows (Metadata_changed)",
            { _tag: "Rows", metadata: { ...meta({}), columns: kv, columnCount: 2, newMetadataId: Buffer.from([9, 9]) }, columns: kv, rows: [{ k: 3, v: "z" }] },
            none
          ] as [string, Response.Response, Response.DecodeContext]
        ]
      : []),
    [
      "Prepared",
      {
        _tag: "Prepared",
        id: Buffer.from("0123456789abcdef"),
        ...(version === 5 ? { resultMetadataId: Buffer.from("fedcba98") } : {}),
        metadata: { flags: 0, columns: kv, pkIndexes: [0] },
        resultMetadata: meta({})
      },
      none
    ],
    ...errors(version).map((error): [string, Response.Response, Response.DecodeContext] => [`ERROR ${error.kind}`, { _tag: "Error", error }, none])
  ]
}

const requests = (version: 4 | 5): ReadonlyArray<[string, Request.Request]> => {
  const v5 = version === 5
  const params: Request.QueryParameters = {
    consistency: "LOCAL_QUORUM",
    values: [1, "two", null, 3n],
    types: [native("int"), native("varchar"), native("int"), native("bigint")],
    pageSize: 100,
    pagingState: Buffer.from([7]),
    serialConsistency: "LOCAL_SERIAL",
    timestamp: 1_700_000_000_000_000n,
    ...(v5 ? { keyspace: "ks", nowInSeconds: 1_700_000_000 } : {})
  }
  return [
    ["STARTUP", { _tag: "Startup", options: { CQL_VERSION: "3.0.0", COMPRESSION: "lz4" } }],
    ["AUTH_RESPONSE", { _tag: "AuthResponse", token: Buffer.from("\0cassandra\0cassandra") }],
    ["OPTIONS", { _tag: "Options" }],
    ["QUERY", { _tag: "Query", query: "SELECT * FROM ks.t WHERE k = ?", params, customPayload: { p: null } }],
    ["QUERY (named)", { _tag: "Query", query: "SELECT :a", params: { consistency: "ONE", values: ["x"], names: ["a"], skipMetadata: true } }],
    ["PREPARE", { _tag: "Prepare", query: "SELECT * FROM t", ...(v5 ? { keyspace: "ks" } : {}) }],
    ["EXECUTE", { _tag: "Execute", id: Buffer.from("0123456789abcdef"), ...(v5 ? { resultMetadataId: Buffer.from([1]) } : {}), params }],
    [
      "BATCH",
      {
        _tag: "Batch",
        type: "UNLOGGED",
        statements: [
          { query: "INSERT INTO t (k) VALUES (?)", values: [1], types: [native("int")] },
          { id: Buffer.from([1, 2]), values: [Buffer.from([3])] }
        ],
        consistency: "ONE",
        serialConsistency: "SERIAL",
        timestamp: 5n,
        ...(v5 ? { keyspace: "ks", nowInSeconds: 9 } : {})
      }
    ],
    ["REGISTER", { _tag: "Register", events: ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"] }]
  ]
}

export const buildCorpus = (): ReadonlyArray<Seed> => {
  const out: Array<Seed> = []
  for (const version of [4, 5] as const) {
    for (const [name, res, ctx] of responses(version)) {
      const w = new ByteWriter(64)
      const e = Response.encodeResponseEnvelope(w, res, { version, stream: res._tag === "Event" ? -1 : 3 })
      if (Either.isLeft(e)) throw new Error(`corpus: cannot encode ${name} v${version}: ${e.left.message} at ${e.left.path}`)
      out.push({ name, version, envelope: Buffer.from(e.right), ctx })
    }
    for (const [name, req] of requests(version)) {
      const w = new ByteWriter(64)
      const e = Request.encodeRequestEnvelope(w, req, { version, stream: 5 })
      if (Either.isLeft(e)) throw new Error(`corpus: cannot encode ${name} v${version}: ${e.left.message} at ${e.left.path}`)
      out.push({ name: `request ${name}`, version, envelope: Buffer.from(e.right), ctx: {} })
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations

const interesting32 = [0, 1, -1, -2, -3, 0x7fffffff, -0x80000000, 0xffff, 0x10000, 0x7fff, 0x8000, 255, 256, 1 << 28, (1 << 28) + 1]
const interesting16 = [0, 1, 0xffff, 0xfffe, 0x7fff, 0x8000, 0xff, 0x100]

const mutate = (rng: Rng, input: Buffer): Buffer => {
  let b: Buffer = Buffer.from(input)
  const ops = 1 + rng.int(4)
  for (let k = 0; k < ops; k++) {
    const pos = rng.int(b.length + 1)
    switch (rng.int(8)) {
      case 0: // bit flip
        if (b.length > 0) b[pos % b.length]! ^= 1 << rng.int(8)
        break
      case 1: // random byte
        if (b.length > 0) b[pos % b.length] = rng.int(256)
        break
      case 2: // truncate
        b = b.subarray(0, rng.int(b.length + 1))
        break
      case 3: // insert random bytes
        b = Buffer.concat([b.subarray(0, pos), rng.bytes(1 + rng.int(16)), b.subarray(pos)])
        break
      case 4: // delete a range
        b = Buffer.concat([b.subarray(0, pos), b.subarray(Math.min(b.length, pos + 1 + rng.int(16)))])
        break
      case 5: // duplicate a slice somewhere else
        if (b.length > 0) {
          const from = rng.int(b.length)
          const slice = b.subarray(from, from + 1 + rng.int(32))
          b = Buffer.concat([b.subarray(0, pos), slice, b.subarray(pos)])
        }
        break
      case 6: // an [int] length edit
        if (b.length >= 4) b.writeInt32BE(rng.chance(0.8) ? rng.pick(interesting32) : rng.u32() | 0, rng.int(b.length - 3))
        break
      default: // a [short] length edit
        if (b.length >= 2) b.writeUInt16BE(rng.pick(interesting16), rng.int(b.length - 1))
    }
  }
  return b
}

/** After mutating an envelope, its header length usually is made to match the body, so the body is decoded. */
const fixLength = (e: Buffer): Buffer => {
  if (e.length >= Frame.HEADER_LENGTH) e.writeInt32BE(e.length - Frame.HEADER_LENGTH, 5)
  return e
}

type Mode = "v4" | "v4-lz4" | "v4-snappy" | "v5" | "v5-lz4"
const modes: ReadonlyArray<Mode> = ["v4", "v4-lz4", "v4-snappy", "v5", "v5-lz4"]
export type Strategy = "valid" | "envelope" | "stream" | "random"

interface Input {
  readonly mode: Mode
  readonly strategy: Strategy
  readonly seeds: ReadonlyArray<Seed>
  readonly stream: Buffer
  readonly chunks: ReadonlyArray<Buffer>
}

/** Sets up either half of a connection's framing for a mode (both have the same two switches). */
const framed = <T extends Segment.Inbound | Segment.Outbound>(half: T, mode: Mode): T => {
  if (mode === "v4-lz4") half.useCompression(Compression.lz4)
  if (mode === "v4-snappy") half.useCompression(Compression.snappy)
  if (mode === "v5") half.useSegments("uncompressed")
  if (mode === "v5-lz4") half.useSegments("lz4")
  return half
}

const makeInput = (byVersion: Record<4 | 5, ReadonlyArray<Seed>>, rng: Rng): Input => {
  const mode = rng.pick(modes)
  const version = mode.startsWith("v5") ? 5 : 4
  const roll = rng.int(100)
  const strategy: Strategy = roll < 5 ? "valid" : roll < 55 ? "envelope" : roll < 90 ? "stream" : "random"
  const seeds = Array.from({ length: 1 + rng.int(3) }, () => rng.pick(byVersion[version]))
  const envelopes: Array<Buffer> = seeds.map((s) => s.envelope)
  if (strategy === "envelope") {
    const i = rng.int(envelopes.length)
    const m = mutate(rng, envelopes[i]!)
    envelopes[i] = rng.chance(0.75) ? fixLength(m) : m
  }
  let stream = strategy === "random" ? rng.bytes(rng.int(400)) : framed(new Segment.Outbound(), mode).encode(envelopes)
  if (strategy === "stream") stream = mutate(rng, stream)
  if (strategy === "random" && rng.chance(0.5) && !mode.startsWith("v5")) {
    // A plausible header in front of the noise reaches the message decoders.
    stream = fixLength(Buffer.concat([Buffer.from([rng.pick([0x84, 0x85, 0x04, 0x05]), rng.int(32), 0, 1, rng.int(0x12), 0, 0, 0, 0]), stream]))
  }
  return { mode, strategy, seeds, stream, chunks: chunk(rng, stream) }
}

const chunk = (rng: Rng, stream: Buffer): ReadonlyArray<Buffer> => {
  const how = rng.int(10)
  if (how < 3 || stream.length === 0) return [stream]
  if (how === 3 && stream.length <= 256) return Array.from(stream, (_, i) => stream.subarray(i, i + 1))
  const cuts = Array.from({ length: 1 + rng.int(8) }, () => rng.int(stream.length)).sort((a, b) => a - b)
  const out: Array<Buffer> = []
  let at = 0
  for (const c of cuts) {
    out.push(stream.subarray(at, c))
    at = c
  }
  out.push(stream.subarray(at))
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// Running

export interface FuzzOptions {
  readonly count: number
  readonly seed: number
  /** An input that takes more CPU time than this is reported. */
  readonly limitMs: number
  /** Called every `progressEvery` inputs. */
  readonly onProgress?: (done: number) => void
}

export interface FuzzReport {
  readonly inputs: number
  readonly byStrategy: Readonly<Record<Strategy, number>>
  /** Inputs whose every envelope decoded (possibly with bytes left waiting for more). */
  readonly decoded: number
  /** Inputs that ended in a DecodeError: of the framing (envelope/segment/compression) or of a message body. */
  readonly framingErrors: number
  readonly messageErrors: number
  readonly messagesDecoded: number
  readonly messagesRejected: number
  /** Exceptions that escaped a decoder, or decoders that returned something other than an Either. Must be 0. */
  readonly escaped: number
  /** Unmutated inputs that did not decode completely. Must be 0. */
  readonly validRejected: number
  /**
   * Inputs over `limitMs` of CPU time (CPU, not wall time, so that a loaded machine does not make inputs look slow),
   * and inputs interrupted by the batch watchdog (wall time). Must be 0.
   */
  readonly slow: number
  readonly hung: number
  readonly maxCpuMs: number
  /** The longest wall time of one input: includes time the process was not scheduled. */
  readonly maxWallMs: number
  readonly seconds: number
  readonly peakRssMb: number
  /** The first few problems, with the index to replay them. */
  readonly problems: ReadonlyArray<string>
}

interface Outcome {
  framingError: boolean
  messageError: boolean
  decoded: number
  rejected: number
}

const decodeEnvelope = (e: Frame.Envelope, ctx: Response.DecodeContext): Either.Either<unknown, unknown> =>
  e.response ? Response.decodeResponseEnvelope(e, ctx) : Request.decodeRequestEnvelope(e)

/** Pushes the chunks through a fresh inbound path; throws only if a decoder misbehaves. */
const runInput = (input: Input): Outcome => {
  const inbound = framed(new Segment.Inbound(), input.mode)
  // A Rows without metadata is decoded with the cached columns of the seed that had them.
  const ctx = input.seeds.find((s) => s.ctx.columns !== undefined)?.ctx ?? {}
  const out: Outcome = { framingError: false, messageError: false, decoded: 0, rejected: 0 }
  for (const c of input.chunks) {
    inbound.push(c)
    for (;;) {
      const r = inbound.next()
      if (r === undefined) break
      if (!Either.isEither(r)) throw new Error("Inbound.next returned something other than an Either")
      if (Either.isLeft(r)) {
        if (r.left._tag !== "DecodeError") throw new Error(`Inbound.next failed with ${String(r.left)}`)
        out.framingError = true
        return out
      }
      const m = decodeEnvelope(r.right, ctx)
      if (!Either.isEither(m)) throw new Error("a message decoder returned something other than an Either")
      if (Either.isLeft(m)) {
        if ((m.left as { _tag?: unknown })._tag !== "DecodeError") throw new Error(`a message decoder failed with ${String(m.left)}`)
        out.messageError = true
        out.rejected++
      } else {
        out.decoded++
      }
    }
  }
  return out
}

const byVersionOf = (corpus: ReadonlyArray<Seed>): Record<4 | 5, ReadonlyArray<Seed>> => ({
  4: corpus.filter((s) => s.version === 4),
  5: corpus.filter((s) => s.version === 5)
})

export const fuzz = (options: FuzzOptions): FuzzReport => {
  const byVersion = byVersionOf(buildCorpus())
  const byStrategy: Record<Strategy, number> = { valid: 0, envelope: 0, stream: 0, random: 0 }
  const problems: Array<string> = []
  const note = (s: string) => {
    if (problems.length < 20) problems.push(s)
  }
  let decoded = 0
  let framingErrors = 0
  let messageErrors = 0
  let messagesDecoded = 0
  let messagesRejected = 0
  let escaped = 0
  let validRejected = 0
  let slow = 0
  let hung = 0
  let maxWallMs = 0
  let maxCpuMs = 0
  let peakRss = 0
  let next = 0

  const runOne = (i: number): void => {
    const input = makeInput(byVersion, new Rng(inputSeed(options.seed, i)))
    byStrategy[input.strategy]++
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    try {
      const o = runInput(input)
      if (o.framingError) framingErrors++
      else if (o.messageError) messageErrors++
      else decoded++
      messagesDecoded += o.decoded
      messagesRejected += o.rejected
      if (input.strategy === "valid" && (o.framingError || o.messageError || o.decoded !== input.seeds.length)) {
        validRejected++
        note(`input ${i}: valid ${input.mode} stream of [${input.seeds.map((s) => s.name).join(", ")}] did not decode`)
      }
    } catch (e) {
      escaped++
      note(`input ${i}: escaped ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
    }
    const wall = performance.now() - t0
    const c = process.cpuUsage(c0)
    const cpu = (c.user + c.system) / 1000
    if (wall > maxWallMs) maxWallMs = wall
    if (cpu > maxCpuMs) maxCpuMs = cpu
    if (cpu > options.limitMs) {
      slow++
      note(`input ${i}: took ${cpu.toFixed(1)} ms of CPU (${input.mode}, ${input.strategy}, ${input.stream.length} bytes)`)
    }
  }

  // Batches run inside a vm script with a timeout: a decoder stuck in a loop is interrupted and reported.
  const batchSize = 500
  let batchEnd = 0
  const context = vm.createContext({
    runBatch: () => {
      while (next < batchEnd) runOne(next++)
    }
  })
  const script = new vm.Script("runBatch()")
  const start = performance.now()
  const progressEvery = 100_000
  while (next < options.count) {
    batchEnd = Math.min(options.count, next + batchSize)
    try {
      script.runInContext(context, { timeout: Math.max(10_000, options.limitMs * batchSize) })
    } catch (e) {
      hung++
      note(`input ${next}: interrupted by the watchdog (${e instanceof Error ? e.message : String(e)})`)
      next++
    }
    const rss = process.memoryUsage.rss()
    if (rss > peakRss) peakRss = rss
    if (options.onProgress !== undefined && Math.floor(next / progressEvery) !== Math.floor((next - batchSize) / progressEvery)) {
      options.onProgress(next)
    }
  }
  return {
    inputs: options.count,
    byStrategy,
    decoded,
    framingErrors,
    messageErrors,
    messagesDecoded,
    messagesRejected,
    escaped,
    validRejected,
    slow,
    hung,
    maxCpuMs,
    maxWallMs,
    seconds: (performance.now() - start) / 1000,
    peakRssMb: peakRss / (1024 * 1024),
    problems
  }
}

/** The input of one index, for reproducing a reported problem. */
export const describeInput = (seed: number, index: number): string => {
  const byVersion = byVersionOf(buildCorpus())
  const input = makeInput(byVersion, new Rng(inputSeed(seed, index)))
  const o = runInput(input)
  return [
    `input ${index} of seed ${seed}: ${input.mode}, ${input.strategy}, from [${input.seeds.map((s) => s.name).join(", ")}]`,
    `chunks: ${input.chunks.map((c) => c.length).join(" ")}`,
    `stream (${input.stream.length} bytes): ${input.stream.toString("hex")}`,
    `outcome: ${JSON.stringify(o)}`
  ].join("\n")
}

const main = (): void => {
  const args = process.argv.slice(2)
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const positional = args.filter((a, i) => !a.startsWith("--") && (i === 0 || !args[i - 1]!.startsWith("--")))
  const count = Number(positional[0] ?? 1_000_000)
  const seed = Number(flag("--seed") ?? Date.now() % 0x7fffffff)
  const limitMs = Number(flag("--limit-ms") ?? 50)
  const only = flag("--only")
  if (only !== undefined) {
    const t0 = performance.now()
    const text = describeInput(seed, Number(only))
    console.log(`${text}\n(${(performance.now() - t0).toFixed(2)} ms, including a cold start)`)
    return
  }
  console.log(`fuzzing the inbound path: ${count} inputs, seed ${seed}, limit ${limitMs} ms per input`)
  const r = fuzz({ count, seed, limitMs, onProgress: (n) => console.log(`  ${n} inputs...`) })
  console.log(`
inputs run:                 ${r.inputs} (valid ${r.byStrategy.valid}, envelope-mutated ${r.byStrategy.envelope}, stream-mutated ${r.byStrategy.stream}, random ${r.byStrategy.random})
decoded:                    ${r.decoded}
DecodeError (framing):      ${r.framingErrors}
DecodeError (message body): ${r.messageErrors}
messages decoded/rejected:  ${r.messagesDecoded} / ${r.messagesRejected}
exceptions escaped:         ${r.escaped}
valid inputs rejected:      ${r.validRejected}
over ${limitMs} ms CPU / hung:    ${r.slow} / ${r.hung}
slowest input:              ${r.maxCpuMs.toFixed(2)} ms CPU, ${r.maxWallMs.toFixed(2)} ms wall
time:                       ${r.seconds.toFixed(1)} s (${Math.round(r.inputs / r.seconds)} inputs/s), peak RSS ${r.peakRssMb.toFixed(0)} MB`)
  for (const p of r.problems) console.log(`problem: ${p}`)
  const ok = r.escaped === 0 && r.validRejected === 0 && r.slow === 0 && r.hung === 0
  console.log(ok ? "OK: no exception escaped, no input too slow, every valid input decoded" : "FAILED")
  if (!ok) process.exitCode = 1
}

// Vitest imports this module for its smaller batch; only a direct run fuzzes.
if (process.env["VITEST"] === undefined) main()
