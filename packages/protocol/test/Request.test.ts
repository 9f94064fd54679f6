import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Codec from "../src/Codec.js"
import * as Consistency from "../src/Consistency.js"
import type { DataType } from "../src/DataType.js"
import { EnvelopeDecoder, Opcode } from "../src/Frame.js"
import { ByteWriter } from "../src/internal/writer.js"
import * as Request from "../src/Request.js"
import { blob, bytes, int, long, longStr, short, shortBlob, str, strList } from "./messageBytes.js"

const INT: DataType = { kind: "int" }
const TEXT: DataType = { kind: "varchar" }
const BIGINT: DataType = { kind: "bigint" }
const BLOB: DataType = { kind: "blob" }
const LIST_INT: DataType = { kind: "list", element: INT }

const ONE = short(1)
const QUORUM = short(4)
const SERIAL = short(8)
const LOCAL_SERIAL = short(9)

const encode = (req: Request.Request, version: 4 | 5): Either.Either<Buffer, unknown> => {
  const w = new ByteWriter(8)
  return Either.map(Request.encodeRequest(w, req, version), () => Buffer.from(w.finish()))
}

const decode = (opcode: number, body: Buffer, version: 4 | 5, flags = 0) => Request.decodeRequest(opcode, flags, body, version)

/**
 * One message: the request a client encodes (with JS values and types), the bytes written from the spec, and the
 * request a server decodes from them (raw values).
 */
interface Vector {
  readonly name: string
  readonly version: 4 | 5
  readonly request: Request.Request
  readonly body: Buffer
  readonly decoded: Request.Request<Request.RawValue>
  readonly flags?: number
}

const query = "SELECT v FROM ks.t WHERE k = ?"
const id = [0x5f, 0x1d, 0xe0, 0x01]
const rmid = [0xaa, 0xbb]

const vectors: ReadonlyArray<Vector> = [
  ...([4, 5] as const).map(
    (version): Vector => ({
      name: "STARTUP",
      version,
      request: { _tag: "Startup", options: { CQL_VERSION: "3.0.0", COMPRESSION: "lz4" } },
      body: bytes(short(2), str("CQL_VERSION"), str("3.0.0"), str("COMPRESSION"), str("lz4")),
      decoded: { _tag: "Startup", options: { CQL_VERSION: "3.0.0", COMPRESSION: "lz4" } }
    })
  ),
  {
    name: "AUTH_RESPONSE (PLAIN token)",
    version: 4,
    request: { _tag: "AuthResponse", token: Buffer.from("\0cassandra\0cassandra") },
    body: blob([...Buffer.from("\0cassandra\0cassandra")]),
    decoded: { _tag: "AuthResponse", token: Buffer.from("\0cassandra\0cassandra") }
  },
  {
    name: "AUTH_RESPONSE (null token)",
    version: 5,
    request: { _tag: "AuthResponse", token: null },
    body: blob(null),
    decoded: { _tag: "AuthResponse", token: null }
  },
  {
    name: "OPTIONS",
    version: 5,
    request: { _tag: "Options" },
    body: bytes(),
    decoded: { _tag: "Options" }
  },
  {
    name: "QUERY v4, no values: flags are a [byte]",
    version: 4,
    request: { _tag: "Query", query: "SELECT * FROM system.local", params: { consistency: "ONE" } },
    body: bytes(longStr("SELECT * FROM system.local"), ONE, 0x00),
    decoded: { _tag: "Query", query: "SELECT * FROM system.local", params: { consistency: "ONE" } }
  },
  {
    name: "QUERY v4 with values, page size, paging state, serial consistency, timestamp",
    version: 4,
    request: {
      _tag: "Query",
      query,
      params: {
        consistency: "QUORUM",
        values: [42],
        types: [INT],
        pageSize: 5000,
        pagingState: Buffer.from([1, 2, 3]),
        serialConsistency: "LOCAL_SERIAL",
        timestamp: 1_700_000_000_000_000n
      }
    },
    // 0x01 values | 0x04 page size | 0x08 paging state | 0x10 serial | 0x20 timestamp = 0x3D
    body: bytes(longStr(query), QUORUM, 0x3d, short(1), int(4), int(42), int(5000), blob([1, 2, 3]), LOCAL_SERIAL, long(1_700_000_000_000_000n)),
    decoded: {
      _tag: "Query",
      query,
      params: {
        consistency: "QUORUM",
        values: [Buffer.from(int(42))],
        pageSize: 5000,
        pagingState: Buffer.from([1, 2, 3]),
        serialConsistency: "LOCAL_SERIAL",
        timestamp: 1_700_000_000_000_000n
      }
    }
  },
  {
    name: "QUERY v5 with named values (inferred types, null, unset), skip metadata, keyspace, now_in_seconds",
    version: 5,
    request: {
      _tag: "Query",
      query: "INSERT INTO t (a, b, c) VALUES (:a, :b, :c)",
      params: {
        consistency: "LOCAL_ONE" as Consistency.Consistency,
        values: ["x", null, Codec.unset],
        names: ["a", "b", "c"],
        skipMetadata: true,
        keyspace: "ks",
        nowInSeconds: 1_700_000_000
      }
    },
    // 0x01 values | 0x02 skip metadata | 0x40 names | 0x80 keyspace | 0x100 now_in_seconds = 0x1C3, an [int] in v5
    body: bytes(
      longStr("INSERT INTO t (a, b, c) VALUES (:a, :b, :c)"),
      short(0x0a),
      int(0x1c3),
      short(3),
      str("a"),
      int(1),
      0x78,
      str("b"),
      int(-1),
      str("c"),
      int(-2),
      str("ks"),
      int(1_700_000_000)
    ),
    decoded: {
      _tag: "Query",
      query: "INSERT INTO t (a, b, c) VALUES (:a, :b, :c)",
      params: {
        consistency: "LOCAL_ONE",
        values: [Buffer.from("x"), null, Codec.unset],
        names: ["a", "b", "c"],
        skipMetadata: true,
        keyspace: "ks",
        nowInSeconds: 1_700_000_000
      }
    }
  },
  {
    name: "QUERY with a custom payload before the message",
    version: 4,
    flags: 0x04,
    request: {
      _tag: "Query",
      query: "SELECT 1",
      params: { consistency: "ONE" },
      customPayload: { tenant: Buffer.from("acme") }
    },
    body: bytes(short(1), str("tenant"), blob([...Buffer.from("acme")]), longStr("SELECT 1"), ONE, 0),
    decoded: {
      _tag: "Query",
      query: "SELECT 1",
      params: { consistency: "ONE" },
      customPayload: { tenant: Buffer.from("acme") }
    }
  },
  {
    name: "PREPARE v4: the query only",
    version: 4,
    request: { _tag: "Prepare", query },
    body: longStr(query),
    decoded: { _tag: "Prepare", query }
  },
  {
    name: "PREPARE v5: [int] flags 0",
    version: 5,
    request: { _tag: "Prepare", query },
    body: bytes(longStr(query), int(0)),
    decoded: { _tag: "Prepare", query }
  },
  {
    name: "PREPARE v5 with keyspace (flag 0x01)",
    version: 5,
    request: { _tag: "Prepare", query, keyspace: "ks" },
    body: bytes(longStr(query), int(1), str("ks")),
    decoded: { _tag: "Prepare", query, keyspace: "ks" }
  },
  {
    name: "EXECUTE v4: id then parameters",
    version: 4,
    request: { _tag: "Execute", id: Buffer.from(id), params: { consistency: "ONE", values: [7n, [1, 2]], types: [BIGINT, LIST_INT] } },
    body: bytes(shortBlob(id), ONE, 0x01, short(2), int(8), long(7n), int(20), int(2), int(4), int(1), int(4), int(2)),
    decoded: {
      _tag: "Execute",
      id: Buffer.from(id),
      params: { consistency: "ONE", values: [Buffer.from(long(7n)), Buffer.from(bytes(int(2), int(4), int(1), int(4), int(2)))] }
    }
  },
  {
    name: "EXECUTE v5: id, result metadata id, parameters with [int] flags",
    version: 5,
    request: {
      _tag: "Execute",
      id: Buffer.from(id),
      resultMetadataId: Buffer.from(rmid),
      params: { consistency: "QUORUM", values: [], skipMetadata: true, pageSize: 100 }
    },
    body: bytes(shortBlob(id), shortBlob(rmid), QUORUM, int(0x07), short(0), int(100)),
    decoded: {
      _tag: "Execute",
      id: Buffer.from(id),
      resultMetadataId: Buffer.from(rmid),
      params: { consistency: "QUORUM", values: [], skipMetadata: true, pageSize: 100 }
    }
  },
  {
    name: "BATCH v4: unlogged, a query and a prepared id, serial consistency and timestamp",
    version: 4,
    request: {
      _tag: "Batch",
      type: "UNLOGGED",
      statements: [
        { query: "INSERT INTO t (k) VALUES (?)", values: ["k1"], types: [TEXT] },
        { id: Buffer.from(id), values: [Buffer.from([0xff])], types: [BLOB] },
        { id: Buffer.from(id) }
      ],
      consistency: "QUORUM",
      serialConsistency: "SERIAL",
      timestamp: 99n
    },
    body: bytes(
      1,
      short(3),
      0,
      longStr("INSERT INTO t (k) VALUES (?)"),
      short(1),
      int(2),
      Buffer.from("k1"),
      1,
      shortBlob(id),
      short(1),
      int(1),
      0xff,
      1,
      shortBlob(id),
      short(0),
      QUORUM,
      0x30,
      SERIAL,
      long(99n)
    ),
    decoded: {
      _tag: "Batch",
      type: "UNLOGGED",
      statements: [
        { query: "INSERT INTO t (k) VALUES (?)", values: [Buffer.from("k1")] },
        { id: Buffer.from(id), values: [Buffer.from([0xff])] },
        { id: Buffer.from(id), values: [] }
      ],
      consistency: "QUORUM",
      serialConsistency: "SERIAL",
      timestamp: 99n
    }
  },
  {
    name: "BATCH v5: logged, keyspace and now_in_seconds, [int] flags",
    version: 5,
    request: {
      _tag: "Batch",
      type: "LOGGED",
      statements: [{ query: "DELETE FROM t WHERE k = 1" }],
      consistency: "ONE",
      keyspace: "ks",
      nowInSeconds: 5
    },
    body: bytes(0, short(1), 0, longStr("DELETE FROM t WHERE k = 1"), short(0), ONE, int(0x180), str("ks"), int(5)),
    decoded: {
      _tag: "Batch",
      type: "LOGGED",
      statements: [{ query: "DELETE FROM t WHERE k = 1", values: [] }],
      consistency: "ONE",
      keyspace: "ks",
      nowInSeconds: 5
    }
  },
  {
    name: "BATCH counter",
    version: 4,
    request: { _tag: "Batch", type: "COUNTER", statements: [], consistency: "ONE" },
    body: bytes(2, short(0), ONE, 0),
    decoded: { _tag: "Batch", type: "COUNTER", statements: [], consistency: "ONE" }
  },
  {
    name: "REGISTER",
    version: 5,
    request: { _tag: "Register", events: ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"] },
    body: strList("TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"),
    decoded: { _tag: "Register", events: ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"] }
  }
]

describe("Request", () => {
  for (const v of vectors) {
    it(`${v.name} (v${v.version}): client encode gives the spec bytes`, () => {
      expect(Either.getOrThrow(encode(v.request, v.version)).toString("hex")).toBe(v.body.toString("hex"))
    })
    it(`${v.name} (v${v.version}): server decode gives the fields, values raw`, () => {
      const opcode = Request.opcodeOf(v.request)
      expect(Either.getOrThrow(decode(opcode, v.body, v.version, v.flags ?? 0))).toEqual(v.decoded)
    })
  }

  it("every consistency level travels as its spec code (section 3, [consistency])", () => {
    const spec: ReadonlyArray<[Consistency.Consistency, number]> = [
      ["ANY", 0x0000],
      ["ONE", 0x0001],
      ["TWO", 0x0002],
      ["THREE", 0x0003],
      ["QUORUM", 0x0004],
      ["ALL", 0x0005],
      ["LOCAL_QUORUM", 0x0006],
      ["EACH_QUORUM", 0x0007],
      ["SERIAL", 0x0008],
      ["LOCAL_SERIAL", 0x0009],
      ["LOCAL_ONE", 0x000a]
    ]
    expect(Consistency.all).toHaveLength(spec.length)
    for (const [level, code] of spec) {
      const body = bytes(longStr("q"), short(code), 0)
      expect(Either.getOrThrow(encode({ _tag: "Query", query: "q", params: { consistency: level } }, 4)).equals(body)).toBe(true)
      expect(Either.getOrThrow(decode(Opcode.Query, body, 4))).toEqual({ _tag: "Query", query: "q", params: { consistency: level } })
      expect(Consistency.code(level)).toBe(code)
      expect(Consistency.fromCode(code)).toBe(level)
    }
    expect(Consistency.fromCode(0x000b)).toBeUndefined()
    expect(Consistency.code("toString" as Consistency.Consistency)).toBeUndefined()
  })

  it("a whole envelope: header (version, flags, stream, opcode, length) then the body, in one buffer", () => {
    const v = vectors.find((x) => x.name.startsWith("QUERY with a custom payload"))!
    const w = new ByteWriter(16)
    const env = Either.getOrThrow(Request.encodeRequestEnvelope(w, v.request, { version: 4, stream: 0x1234, tracing: true }))
    // Tracing 0x02 and custom payload 0x04.
    expect(env.toString("hex")).toBe(bytes(0x04, 0x06, short(0x1234), Opcode.Query, int(v.body.length), v.body).toString("hex"))
    expect(env.buffer).toBe(w.buf.buffer)
    const decoder = new EnvelopeDecoder()
    decoder.push(Buffer.from(env))
    const e = Either.getOrThrow(decoder.next()!)
    expect(Either.getOrThrow(Request.decodeRequestEnvelope(e))).toEqual(v.decoded)
  })

  it("the v5 beta flag and successive envelopes in one writer", () => {
    const w = new ByteWriter(4)
    Either.getOrThrow(Request.encodeRequestEnvelope(w, { _tag: "Options" }, { version: 5, stream: 0, beta: true }))
    Either.getOrThrow(Request.encodeRequestEnvelope(w, { _tag: "Register", events: ["STATUS_CHANGE"] }, { version: 5, stream: 1 }))
    const body = strList("STATUS_CHANGE")
    expect(w.finish().toString("hex")).toBe(
      bytes(5, 0x10, short(0), Opcode.Options, int(0), 5, 0, short(1), Opcode.Register, int(body.length), body).toString("hex")
    )
  })

  describe("encoding checks its input and names the field", () => {
    const failures: ReadonlyArray<[string, Request.Request, 4 | 5, string]> = [
      ["a value that does not fit its type", { _tag: "Query", query, params: { consistency: "ONE", values: ["x"], types: [INT] } }, 4, "$1"],
      [
        "a named value that does not fit its type",
        { _tag: "Query", query, params: { consistency: "ONE", values: [1, 2 ** 40], names: ["a", "b"], types: [INT, INT] } },
        4,
        "b"
      ],
      ["more values than types", { _tag: "Query", query, params: { consistency: "ONE", values: [1, 2], types: [INT] } }, 4, "values"],
      ["names that do not match the values", { _tag: "Query", query, params: { consistency: "ONE", values: [1], names: [] } }, 4, "names"],
      ["an unknown consistency", { _tag: "Query", query, params: { consistency: "MOST" as Consistency.Consistency } }, 4, "consistency"],
      ["a serial consistency that is not serial", { _tag: "Query", query, params: { consistency: "ONE", serialConsistency: "QUORUM" } }, 5, "serialConsistency"],
      ["a keyspace in v4", { _tag: "Query", query, params: { consistency: "ONE", keyspace: "ks" } }, 4, "keyspace"],
      ["now_in_seconds in v4", { _tag: "Batch", type: "LOGGED", statements: [], consistency: "ONE", nowInSeconds: 1 }, 4, "nowInSeconds"],
      ["a zero page size", { _tag: "Query", query, params: { consistency: "ONE", pageSize: 0 } }, 4, "pageSize"],
      ["a timestamp beyond [long]", { _tag: "Query", query, params: { consistency: "ONE", timestamp: 2n ** 63n } }, 4, "timestamp"],
      ["a PREPARE keyspace in v4", { _tag: "Prepare", query, keyspace: "ks" }, 4, "keyspace"],
      ["a v5 EXECUTE without result metadata id", { _tag: "Execute", id: Buffer.from(id), params: { consistency: "ONE" } }, 5, "resultMetadataId"],
      [
        "a result metadata id in v4",
        { _tag: "Execute", id: Buffer.from(id), resultMetadataId: Buffer.from(rmid), params: { consistency: "ONE" } },
        4,
        "resultMetadataId"
      ],
      ["a prepared id longer than [short bytes]", { _tag: "Execute", id: Buffer.alloc(70_000), params: { consistency: "ONE" } }, 4, "id"],
      [
        "a batch value that does not fit its type",
        { _tag: "Batch", type: "LOGGED", statements: [{ query }, { query, values: [1, "no"], types: [INT, INT] }], consistency: "ONE" },
        4,
        "statements[1].$2"
      ],
      ["an unknown batch type", { _tag: "Batch", type: "BIG" as Request.BatchType, statements: [], consistency: "ONE" }, 4, "type"],
      [
        "a batch statement without query or id",
        { _tag: "Batch", type: "LOGGED", statements: [{} as Request.BatchStatement], consistency: "ONE" },
        4,
        "statements[0]"
      ],
      ["an unknown event type", { _tag: "Register", events: ["TOPOLOGY"] as unknown as Array<"STATUS_CHANGE"> }, 4, "events"],
      [
        "more than 65535 values",
        { _tag: "Query", query, params: { consistency: "ONE", values: new Array(65_536).fill(1), types: new Array(65_536).fill(INT) } },
        4,
        "values"
      ]
    ]
    for (const [name, req, version, path] of failures) {
      it(name, () => {
        const w = new ByteWriter(8)
        w.int(7)
        const r = Request.encodeRequest(w, req, version)
        expect(Either.isLeft(r) && r.left.path).toBe(path)
        expect(w.offset).toBe(4)
      })
    }

    it("a request stream id outside 0..32767", () => {
      const r = Request.encodeRequestEnvelope(new ByteWriter(), { _tag: "Options" }, { version: 4, stream: -1 })
      expect(Either.isLeft(r) && r.left.path).toBe("stream")
    })
  })

  describe("hostile bodies", () => {
    for (const v of vectors.filter((x) => x.body.length > 0)) {
      it(`${v.name} (v${v.version}): every truncation is a DecodeError`, () => {
        const opcode = Request.opcodeOf(v.request)
        for (let n = 0; n < v.body.length; n++) {
          expect(Either.isLeft(decode(opcode, v.body.subarray(0, n), v.version, v.flags ?? 0)), `truncated to ${n}`).toBe(true)
        }
      })
    }

    const bad: ReadonlyArray<[string, number, Buffer, 4 | 5, RegExp]> = [
      ["opcode 0x04 (none in v4/v5)", 0x04, bytes(), 4, /UNKNOWN\(0x04\) is not a request opcode/],
      ["a response opcode", Opcode.Result, bytes(int(1)), 5, /RESULT is not a request opcode/],
      ["an unknown consistency", Opcode.Query, bytes(longStr("q"), short(0x0b), 0), 4, /consistency code 0x000b/],
      ["unknown v4 query flags", Opcode.Query, bytes(longStr("q"), ONE, 0x80), 4, /unknown query flags 0x80/],
      ["unknown v5 query flags", Opcode.Query, bytes(longStr("q"), ONE, int(0x200)), 5, /unknown query flags 0x200/],
      ["a [value] length of -3", Opcode.Query, bytes(longStr("q"), ONE, 1, short(1), int(-3)), 4, /invalid \[value\] length -3/],
      ["a value count past the end", Opcode.Query, bytes(longStr("q"), ONE, 1, short(65535), int(0)), 4, /values count 65535 exceeds/],
      ["a value length past the end", Opcode.Execute, bytes(shortBlob(id), ONE, 1, short(1), int(1 << 30)), 4, /need 1073741824 bytes/],
      ["a query length past the end", Opcode.Prepare, bytes(int(0x7fffffff), 0x41), 4, /need 2147483647 bytes/],
      ["a negative query length", Opcode.Prepare, bytes(int(-5)), 4, /negative \[long string\] length/],
      ["unknown PREPARE flags", Opcode.Prepare, bytes(longStr("q"), int(2)), 5, /unknown PREPARE flags 0x2/],
      ["an unknown batch type", Opcode.Batch, bytes(3, short(0), ONE, 0), 4, /unknown batch type 3/],
      ["an unknown batch statement kind", Opcode.Batch, bytes(0, short(1), 2, shortBlob(id), short(0), ONE, 0), 4, /statement kind 2/],
      ["named values in a batch (CASSANDRA-10246)", Opcode.Batch, bytes(0, short(0), ONE, 0x40), 4, /unknown batch flags 0x40/],
      ["query-only flags in a batch", Opcode.Batch, bytes(0, short(0), ONE, int(0x04)), 5, /unknown batch flags 0x4/],
      ["an absurd batch statement count", Opcode.Batch, bytes(0, short(60000), 0, 0, 0), 4, /batch statements count 60000 exceeds/],
      ["an unknown event type", Opcode.Register, strList("NODE_CHANGE"), 4, /unknown event type "NODE_CHANGE"/],
      ["a null paging state", Opcode.Query, bytes(longStr("q"), ONE, 0x08, int(-1)), 4, /null paging state/],
      ["a custom payload count past the end", Opcode.Options, bytes(short(9000)), 4, /\[bytes map\] count 9000 exceeds/]
    ]
    for (const [name, opcode, body, version, message] of bad) {
      it(`${name} is a DecodeError`, () => {
        const flags = name.startsWith("a custom payload") ? 0x04 : 0
        const r = decode(opcode, body, version, flags)
        expect(Either.isLeft(r) && r.left.message).toMatch(message)
      })
    }

    it("a response envelope or an unsupported version is refused by decodeRequestEnvelope", () => {
      const base = { flags: 0, stream: 0, opcode: Opcode.Options, length: 0, body: Buffer.alloc(0) }
      expect(Either.isLeft(Request.decodeRequestEnvelope({ ...base, version: 4, response: true }))).toBe(true)
      expect(Either.isLeft(Request.decodeRequestEnvelope({ ...base, version: 3, response: false }))).toBe(true)
      expect(Either.isRight(Request.decodeRequestEnvelope({ ...base, version: 5, response: false }))).toBe(true)
    })

    it("bytes after the message are ignored (spec section 1: the body may carry more than described)", () => {
      expect(Either.getOrThrow(decode(Opcode.Prepare, bytes(longStr("q"), 1, 2, 3), 4))).toEqual({ _tag: "Prepare", query: "q" })
    })
  })

  // Values of a few types, each with the type it is bound as; null and unset with any of them.
  const typed: fc.Arbitrary<[unknown, DataType]> = fc.oneof(
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => [v, INT] as [unknown, DataType]),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => [v, BIGINT] as [unknown, DataType]),
    fc.string({ unit: "grapheme", maxLength: 12 }).map((v) => [v, TEXT] as [unknown, DataType]),
    fc.uint8Array({ maxLength: 12 }).map((v) => [Buffer.from(v), BLOB] as [unknown, DataType]),
    fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 4 }).map((v) => [v, LIST_INT] as [unknown, DataType]),
    fc.constantFrom<[unknown, DataType]>([null, INT], [Codec.unset, TEXT])
  )
  const consistency = fc.constantFrom(...Consistency.all)
  const serial = fc.constantFrom<Consistency.Consistency>("SERIAL", "LOCAL_SERIAL")
  const text = fc.string({ unit: "grapheme", maxLength: 16 })
  const bytesArb = fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a))

  const params = (version: 4 | 5) =>
    fc.record(
      {
        consistency,
        values: fc.array(typed, { maxLength: 5 }),
        named: fc.boolean(),
        skipMetadata: fc.constant(true),
        pageSize: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        pagingState: bytesArb,
        serialConsistency: serial,
        timestamp: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        ...(version === 5 ? { keyspace: text, nowInSeconds: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) } : {})
      },
      { requiredKeys: ["consistency"] }
    )

  const request = (version: 4 | 5): fc.Arbitrary<Request.Request> =>
    fc.oneof(
      fc.dictionary(text, text, { maxKeys: 4 }).map((options): Request.Request => ({ _tag: "Startup", options })),
      fc.option(bytesArb, { nil: null }).map((token): Request.Request => ({ _tag: "AuthResponse", token })),
      fc.constant<Request.Request>({ _tag: "Options" }),
      fc.record({ query: text, p: params(version) }).map(({ query, p }) => ({ _tag: "Query" as const, query, params: toParams(p) })),
      fc
        .record({ query: text, keyspace: version === 5 ? fc.option(text, { nil: undefined }) : fc.constant(undefined) })
        .map(({ query, keyspace }): Request.Request => (keyspace === undefined ? { _tag: "Prepare", query } : { _tag: "Prepare", query, keyspace })),
      fc.record({ id: bytesArb, rmid: bytesArb, p: params(version) }).map(
        ({ id, rmid, p }): Request.Request =>
          version === 5
            ? { _tag: "Execute", id, resultMetadataId: rmid, params: toParams(p) }
            : { _tag: "Execute", id, params: toParams(p) }
      ),
      fc
        .record(
          {
            type: fc.constantFrom<Request.BatchType>("LOGGED", "UNLOGGED", "COUNTER"),
            statements: fc.array(
              fc.record({ query: fc.option(text, { nil: undefined }), id: bytesArb, values: fc.array(typed, { maxLength: 3 }) }),
              { maxLength: 4 }
            ),
            consistency,
            serialConsistency: serial,
            timestamp: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
            ...(version === 5 ? { keyspace: text, nowInSeconds: fc.nat() } : {})
          },
          { requiredKeys: ["type", "statements", "consistency"] }
        )
        .map(({ statements, ...rest }): Request.Request => ({
          _tag: "Batch",
          ...rest,
          statements: statements.map((s): Request.BatchStatement => {
            const values = s.values.map(([v]) => v)
            const types = s.values.map(([, t]) => t)
            return s.query === undefined ? { id: s.id, values, types } : { query: s.query, values, types }
          })
        })),
      fc
        .subarray(["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"] as const)
        .map((events): Request.Request => ({ _tag: "Register", events }))
    )

  const toParams = (p: {
    consistency: Consistency.Consistency
    values?: Array<[unknown, DataType]>
    named?: boolean
  }): Request.QueryParameters => {
    const { values, named, ...rest } = p
    if (values === undefined) return rest
    const withValues = { ...rest, values: values.map(([v]) => v), types: values.map(([, t]) => t) }
    return named === true ? { ...withValues, names: values.map((_, i) => `v${i}`) } : withValues
  }

  /** What a server should decode from a client's request: the same fields, each value as its [value] bytes. */
  const expectedRaw = (req: Request.Request): unknown => {
    const raw = (values: ReadonlyArray<unknown> | undefined, types: ReadonlyArray<DataType> | undefined) =>
      (values ?? []).map((v, i) => (v === Codec.unset ? v : Either.getOrThrow(Codec.encode(types![i]!, v))))
    switch (req._tag) {
      case "Query":
      case "Execute": {
        const { types, ...params } = req.params
        return {
          ...req,
          params: req.params.values === undefined ? params : { ...params, values: raw(req.params.values, types) }
        }
      }
      case "Batch":
        return {
          ...req,
          statements: req.statements.map((s) => {
            const { types, ...rest } = s
            return { ...rest, values: raw(s.values, types) }
          })
        }
      default:
        return req
    }
  }

  for (const version of [4, 5] as const) {
    it.prop(`client encode -> server decode keeps every field (v${version})`, { req: request(version) }, ({ req }) => {
      const body = Either.getOrThrow(encode(req, version))
      const decoded = Either.getOrThrow(decode(Request.opcodeOf(req), body, version))
      expect(decoded).toEqual(expectedRaw(req))
      // A server relaying what it decoded writes the same bytes: raw values re-encode as they came.
      expect(Either.getOrThrow(encode(decoded, version)).equals(body)).toBe(true)
    })
  }
})
