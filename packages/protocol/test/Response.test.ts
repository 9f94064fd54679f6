import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import type { DataType } from "../src/DataType.js"
import { EnvelopeDecoder, Opcode } from "../src/Frame.js"
import { ByteWriter } from "../src/internal/writer.js"
import * as Response from "../src/Response.js"
import type { ColumnSpec, RowsMetadata } from "../src/Rows.js"
import { blob, bytes, int, short, shortBlob, str, strList } from "./messageBytes.js"

const INT: DataType = { kind: "int" }
const TEXT: DataType = { kind: "varchar" }
const BIGINT: DataType = { kind: "bigint" }
const BLOB: DataType = { kind: "blob" }
const LIST_TEXT: DataType = { kind: "list", element: TEXT }

const encode = (res: Response.Response, version: 4 | 5): Buffer => {
  const w = new ByteWriter(8)
  Either.getOrThrow(Response.encodeResponse(w, res, version))
  return Buffer.from(w.finish())
}

const decode = (opcode: number, body: Buffer, version: 4 | 5, flags = 0, ctx?: Response.DecodeContext) =>
  Response.decodeResponse(opcode, flags, body, version, ctx)

const col = (name: string, type: DataType, table = "t"): ColumnSpec => ({ keyspace: "ks", table, name, type })
const kv = [col("k", INT), col("v", TEXT)]

const meta = (m: Partial<RowsMetadata> & { flags: number; columnCount: number }): RowsMetadata => ({
  columns: undefined,
  pagingState: undefined,
  newMetadataId: undefined,
  ...m
})

/** A response a server encodes, the bytes written from the spec, and the opcode and flags of its envelope. */
interface Vector {
  readonly name: string
  readonly version: 4 | 5
  readonly opcode: number
  readonly flags?: number
  readonly body: Buffer
  readonly response: Response.Response
}

// Option ids (spec 4.2.5.2): int 0x0009, varchar 0x000D.
const colSpecsKv = bytes(str("ks"), str("t"), str("k"), short(0x09), str("v"), short(0x0d))
const traceId = Buffer.from("0123456789abcdef0123456789abcdef", "hex")

const vectors: ReadonlyArray<Vector> = [
  { name: "READY", version: 4, opcode: Opcode.Ready, body: bytes(), response: { _tag: "Ready" } },
  {
    name: "AUTHENTICATE",
    version: 5,
    opcode: Opcode.Authenticate,
    body: str("org.apache.cassandra.auth.PasswordAuthenticator"),
    response: { _tag: "Authenticate", authenticator: "org.apache.cassandra.auth.PasswordAuthenticator" }
  },
  {
    name: "SUPPORTED",
    version: 4,
    opcode: Opcode.Supported,
    body: bytes(
      short(3),
      str("CQL_VERSION"),
      strList("3.4.7"),
      str("COMPRESSION"),
      strList("lz4", "snappy"),
      str("PROTOCOL_VERSIONS"),
      strList("3/v3", "4/v4", "5/v5", "6/v6-beta")
    ),
    response: {
      _tag: "Supported",
      options: { CQL_VERSION: ["3.4.7"], COMPRESSION: ["lz4", "snappy"], PROTOCOL_VERSIONS: ["3/v3", "4/v4", "5/v5", "6/v6-beta"] }
    }
  },
  { name: "RESULT Void", version: 5, opcode: Opcode.Result, body: bytes(int(1)), response: { _tag: "Void" } },
  {
    name: "RESULT Rows (global table spec)",
    version: 4,
    opcode: Opcode.Result,
    body: bytes(int(2), int(0x0001), int(2), colSpecsKv, int(2), int(4), int(1), int(1), 0x61, int(4), int(2), int(-1)),
    response: {
      _tag: "Rows",
      metadata: meta({ flags: 1, columnCount: 2, columns: kv }),
      columns: kv,
      rows: [
        { k: 1, v: "a" },
        { k: 2, v: null }
      ]
    }
  },
  {
    name: "RESULT Rows (per-column table spec, has more pages, no rows)",
    version: 5,
    opcode: Opcode.Result,
    body: bytes(int(2), int(0x0002), int(2), blob([9, 9]), str("ks"), str("t"), str("k"), short(0x09), str("ks"), str("u"), str("v"), short(0x0d), int(0)),
    response: {
      _tag: "Rows",
      metadata: meta({ flags: 2, columnCount: 2, columns: [col("k", INT), col("v", TEXT, "u")], pagingState: Buffer.from([9, 9]) }),
      columns: [col("k", INT), col("v", TEXT, "u")],
      rows: []
    }
  },
  {
    name: "RESULT Rows v5 Metadata_changed: new metadata id and new columns",
    version: 5,
    opcode: Opcode.Result,
    body: bytes(int(2), int(0x0009), int(1), shortBlob([7, 7, 7]), str("ks"), str("t"), str("k"), short(0x09), int(1), int(4), int(5)),
    response: {
      _tag: "Rows",
      metadata: meta({ flags: 9, columnCount: 1, columns: [col("k", INT)], newMetadataId: Buffer.from([7, 7, 7]) }),
      columns: [col("k", INT)],
      rows: [{ k: 5 }]
    }
  },
  {
    name: "RESULT Set_keyspace",
    version: 4,
    opcode: Opcode.Result,
    body: bytes(int(3), str("ks")),
    response: { _tag: "SetKeyspace", keyspace: "ks" }
  },
  {
    name: "RESULT Prepared v4 (an INSERT: empty result metadata)",
    version: 4,
    opcode: Opcode.Result,
    body: bytes(int(4), shortBlob([1, 2, 3, 4]), int(1), int(2), int(1), short(0), colSpecsKv, int(0x0004), int(0)),
    response: {
      _tag: "Prepared",
      id: Buffer.from([1, 2, 3, 4]),
      metadata: { flags: 1, columns: kv, pkIndexes: [0] },
      resultMetadata: meta({ flags: 4, columnCount: 0 })
    }
  },
  {
    name: "RESULT Prepared v5 (a SELECT: result metadata id and columns)",
    version: 5,
    opcode: Opcode.Result,
    body: bytes(
      int(4),
      shortBlob([1, 2]),
      shortBlob([0xee]),
      int(1),
      int(1),
      int(1),
      short(0),
      str("ks"),
      str("t"),
      str("k"),
      short(0x09),
      int(1),
      int(1),
      str("ks"),
      str("t"),
      str("v"),
      short(0x0d)
    ),
    response: {
      _tag: "Prepared",
      id: Buffer.from([1, 2]),
      resultMetadataId: Buffer.from([0xee]),
      metadata: { flags: 1, columns: [col("k", INT)], pkIndexes: [0] },
      resultMetadata: meta({ flags: 1, columnCount: 1, columns: [col("v", TEXT)] })
    }
  },
  {
    name: "RESULT Schema_change",
    version: 4,
    opcode: Opcode.Result,
    body: bytes(int(5), str("CREATED"), str("TABLE"), str("ks"), str("t")),
    response: { _tag: "SchemaChange", change: { change: "CREATED", target: "TABLE", keyspace: "ks", name: "t" } }
  },
  {
    name: "EVENT",
    version: 5,
    opcode: Opcode.Event,
    body: bytes(str("STATUS_CHANGE"), str("UP"), [4, 127, 0, 0, 1], int(9042)),
    response: { _tag: "Event", event: { type: "STATUS_CHANGE", change: "UP", address: "127.0.0.1", port: 9042 } }
  },
  {
    name: "ERROR",
    version: 4,
    opcode: Opcode.Error,
    body: bytes(int(0x2200), str("bad")),
    response: { _tag: "Error", error: { kind: "Invalid", message: "bad" } }
  },
  {
    name: "AUTH_CHALLENGE",
    version: 4,
    opcode: Opcode.AuthChallenge,
    body: blob([1, 2, 3]),
    response: { _tag: "AuthChallenge", token: Buffer.from([1, 2, 3]) }
  },
  {
    name: "AUTH_SUCCESS (null token)",
    version: 5,
    opcode: Opcode.AuthSuccess,
    body: blob(null),
    response: { _tag: "AuthSuccess", token: null }
  },
  {
    name: "tracing id, warnings and custom payload before a Void result",
    version: 4,
    opcode: Opcode.Result,
    flags: 0x02 | 0x04 | 0x08,
    body: bytes(traceId, strList("Batch is large"), short(1), str("p"), blob([5]), int(1)),
    response: { _tag: "Void", tracingId: traceId, warnings: ["Batch is large"], customPayload: { p: Buffer.from([5]) } }
  },
  {
    name: "tracing id alone before Rows",
    version: 5,
    opcode: Opcode.Result,
    flags: 0x02,
    body: bytes(traceId, int(2), int(0x0004), int(2), int(0)),
    response: { _tag: "Rows", tracingId: traceId, metadata: meta({ flags: 4, columnCount: 2 }), columns: kv, rows: [] }
  },
  {
    name: "warnings alone before an ERROR",
    version: 5,
    opcode: Opcode.Error,
    flags: 0x08,
    body: bytes(strList("w1", "w2"), int(0x1001), str("busy")),
    response: { _tag: "Error", warnings: ["w1", "w2"], error: { kind: "Overloaded", message: "busy" } }
  }
]

/** The Rows-without-metadata vector decodes with the prepared statement's columns. */
const ctxFor = (v: Vector): Response.DecodeContext => (v.name === "tracing id alone before Rows" ? { columns: kv } : {})

describe("Response", () => {
  for (const v of vectors) {
    it(`${v.name} (v${v.version}): client decode gives the fields`, () => {
      expect(Either.getOrThrow(decode(v.opcode, v.body, v.version, v.flags ?? 0, ctxFor(v)))).toEqual(v.response)
    })
    it(`${v.name} (v${v.version}): server encode gives the spec bytes and flags`, () => {
      expect(encode(v.response, v.version).toString("hex")).toBe(v.body.toString("hex"))
      expect(Response.flagsOf(v.response)).toBe(v.flags ?? 0)
      expect(Response.opcodeOf(v.response)).toBe(v.opcode)
    })
  }

  it("a whole envelope: the direction bit, the prefix flags, the stream id; read back through EnvelopeDecoder", () => {
    const v = vectors.find((x) => x.name.startsWith("tracing id, warnings"))!
    const w = new ByteWriter(4)
    const env = Either.getOrThrow(Response.encodeResponseEnvelope(w, v.response, { version: 4, stream: 300 }))
    expect(env.toString("hex")).toBe(bytes(0x84, 0x0e, short(300), Opcode.Result, int(v.body.length), v.body).toString("hex"))
    const decoder = new EnvelopeDecoder()
    decoder.push(Buffer.from(env))
    const e = Either.getOrThrow(decoder.next()!)
    expect(e.stream).toBe(300)
    expect(Either.getOrThrow(Response.decodeResponseEnvelope(e))).toEqual(v.response)
  })

  describe("Rows with No_metadata (EXECUTE with skipMetadata)", () => {
    const body = bytes(int(2), int(0x0004), int(2), int(1), int(4), int(3), int(2), 0x68, 0x69)
    it("decodes with the cached result metadata", () => {
      const r = Either.getOrThrow(decode(Opcode.Result, body, 4, 0, { columns: kv }))
      expect(r).toEqual({ _tag: "Rows", metadata: meta({ flags: 4, columnCount: 2 }), columns: kv, rows: [{ k: 3, v: "hi" }] })
    })
    it("is a DecodeError without it", () => {
      const r = decode(Opcode.Result, body, 4)
      expect(Either.isLeft(r) && r.left.message).toMatch(/No_metadata but no cached result metadata/)
    })
    it("is a DecodeError when the cached metadata has another column count", () => {
      const r = decode(Opcode.Result, body, 4, 0, { columns: [col("k", INT)] })
      expect(Either.isLeft(r) && r.left.message).toMatch(/2 columns but the metadata used to decode them has 1/)
    })
  })

  describe("version negotiation", () => {
    const envelope = (version: number, opcode: number, body: Buffer) => ({
      version,
      response: true,
      flags: 0,
      stream: 0,
      opcode,
      length: body.length,
      body
    })
    it("a server that only speaks v3 answers a v5 STARTUP with a v3 protocol error, which is read", () => {
      const body = bytes(int(0x000a), str("Invalid or unsupported protocol version (5); supported versions are (3/v3)"))
      const r = Either.getOrThrow(Response.decodeResponseEnvelope(envelope(3, Opcode.Error, body)))
      expect(r).toEqual({
        _tag: "Error",
        error: { kind: "ProtocolError", message: "Invalid or unsupported protocol version (5); supported versions are (3/v3)" }
      })
    })
    it("any other message in a version other than 4 or 5 is a DecodeError", () => {
      expect(Either.isLeft(Response.decodeResponseEnvelope(envelope(3, Opcode.Ready, bytes())))).toBe(true)
      expect(Either.isLeft(Response.decodeResponseEnvelope(envelope(6, Opcode.Ready, bytes())))).toBe(true)
    })
    it("a request envelope is a DecodeError", () => {
      expect(Either.isLeft(Response.decodeResponseEnvelope({ ...envelope(4, Opcode.Ready, bytes()), response: false }))).toBe(true)
    })
  })

  describe("hostile bodies", () => {
    for (const v of vectors.filter((x) => x.body.length > 0)) {
      it(`${v.name} (v${v.version}): every truncation is a DecodeError`, () => {
        for (let n = 0; n < v.body.length; n++) {
          const r = decode(v.opcode, v.body.subarray(0, n), v.version, v.flags ?? 0, ctxFor(v))
          expect(Either.isLeft(r), `truncated to ${n} of ${v.body.length}`).toBe(true)
        }
      })
    }

    const bad: ReadonlyArray<[string, number, Buffer, 4 | 5, number, RegExp]> = [
      ["an unknown result kind", Opcode.Result, bytes(int(6)), 4, 0, /unknown RESULT kind 0x0006/],
      ["a negative result kind", Opcode.Result, bytes(int(-1)), 4, 0, /unknown RESULT kind 0xffffffff/],
      ["a request opcode", Opcode.Query, bytes(), 4, 0, /QUERY is not a response opcode/],
      ["opcode 0x04", 0x04, bytes(), 5, 0, /UNKNOWN\(0x04\) is not a response opcode/],
      ["opcode 0xff", 0xff, bytes(), 5, 0, /UNKNOWN\(0xff\) is not a response opcode/],
      ["a tracing flag with a short body", Opcode.Ready, bytes(1, 2, 3), 4, 0x02, /need 16 bytes/],
      ["a warnings count past the end", Opcode.Ready, bytes(short(40000)), 4, 0x08, /\[string list\] count 40000 exceeds/],
      ["a custom payload value past the end", Opcode.Ready, bytes(short(1), str("k"), int(1000)), 5, 0x04, /need 1000 bytes/],
      ["a rows count past the end", Opcode.Result, bytes(int(2), int(1), int(1), str("k"), str("t"), str("c"), short(9), int(1e9)), 4, 0, /rows count/],
      ["a column count past the end", Opcode.Result, bytes(int(2), int(0), int(1e9)), 4, 0, /column count 1000000000 exceeds/],
      ["an unknown type id", Opcode.Result, bytes(int(2), int(1), int(1), str("k"), str("t"), str("c"), short(0x99), int(0)), 4, 0, /./],
      ["a prepared id past the end", Opcode.Result, bytes(int(4), short(500), 1, 2), 4, 0, /need 500 bytes/],
      ["an int value of 3 bytes", Opcode.Result, bytes(int(2), int(1), int(1), str("k"), str("t"), str("c"), short(9), int(1), int(3), 1, 2, 3), 4, 0, /./],
      ["Metadata_changed in v4", Opcode.Result, bytes(int(2), int(8), int(0), shortBlob([1]), int(0)), 4, 0, /Metadata_changed/]
    ]
    for (const [name, opcode, body, version, flags, message] of bad) {
      it(`${name} is a DecodeError`, () => {
        const r = decode(opcode, body, version, flags)
        expect(Either.isLeft(r) && r.left._tag).toBe("DecodeError")
        expect(Either.isLeft(r) && r.left.message).toMatch(message)
      })
    }

    it("bytes after the message are ignored (spec 4.2: clients discard what they do not know)", () => {
      expect(Either.getOrThrow(decode(Opcode.Result, bytes(int(3), str("ks"), 0xde, 0xad), 5))).toEqual({ _tag: "SetKeyspace", keyspace: "ks" })
    })

    it("ids are copies, not views of the response buffer", () => {
      const body = Buffer.from(vectors.find((x) => x.name.startsWith("RESULT Prepared v5"))!.body)
      const r = Either.getOrThrow(decode(Opcode.Result, body, 5))
      body.fill(0)
      expect(r._tag === "Prepared" && [...r.id, ...r.resultMetadataId!]).toEqual([1, 2, 0xee])
    })
  })

  describe("encoding checks its input", () => {
    const failures: ReadonlyArray<[string, Response.Response, 4 | 5, string]> = [
      ["a tracing id that is not 16 bytes", { _tag: "Ready", tracingId: Buffer.alloc(4) }, 4, "tracingId"],
      ["a v5 PREPARED without result metadata id", { _tag: "Prepared", id: Buffer.from([1]), metadata: { flags: 0, columns: [], pkIndexes: [] }, resultMetadata: meta({ flags: 4, columnCount: 0 }) }, 5, "resultMetadataId"],
      [
        "a result metadata id in v4",
        {
          _tag: "Prepared",
          id: Buffer.from([1]),
          resultMetadataId: Buffer.from([2]),
          metadata: { flags: 0, columns: [], pkIndexes: [] },
          resultMetadata: meta({ flags: 4, columnCount: 0 })
        },
        4,
        "resultMetadataId"
      ],
      ["Rows whose columns disagree with the metadata", { _tag: "Rows", metadata: meta({ flags: 4, columnCount: 3 }), columns: kv, rows: [] }, 4, "columns"],
      ["a row value that does not fit its column", { _tag: "Rows", metadata: meta({ flags: 1, columnCount: 2, columns: kv }), columns: kv, rows: [{ k: "one" }] }, 4, "rows[0].k"],
      ["an unknown response", { _tag: "Nope" } as unknown as Response.Response, 4, "_tag"]
    ]
    for (const [name, res, version, path] of failures) {
      it(name, () => {
        const w = new ByteWriter(8)
        const r = Response.encodeResponse(w, res, version)
        expect(Either.isLeft(r) && r.left.path).toBe(path)
        expect(w.offset).toBe(0)
      })
    }
    it("a stream id beyond a signed [short]", () => {
      const r = Response.encodeResponseEnvelope(new ByteWriter(), { _tag: "Ready" }, { version: 4, stream: 40000 })
      expect(Either.isLeft(r) && r.left.path).toBe("stream")
    })
  })

  // Server encode -> client decode for arbitrary responses.
  const text = fc.string({ unit: "grapheme", maxLength: 12 })
  const name = fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 })
  const bytesArb = fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a))
  const typed: ReadonlyArray<[DataType, fc.Arbitrary<unknown>]> = [
    [INT, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })],
    [TEXT, text],
    [BIGINT, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })],
    [BLOB, bytesArb],
    [LIST_TEXT, fc.array(text, { maxLength: 3 })]
  ]
  const columnsAndRows = fc
    .uniqueArray(fc.record({ name, table: fc.constantFrom("t", "u"), t: fc.nat({ max: typed.length - 1 }) }), {
      selector: (c) => c.name,
      maxLength: 4
    })
    .chain((cs) => {
      const columns = cs.map((c) => col(c.name, typed[c.t]![0], c.table))
      const row = fc.tuple(...cs.map((c) => fc.option(typed[c.t]![1], { nil: null }))).map((vs) =>
        Object.fromEntries(columns.map((c, i) => [c.name, vs[i]]))
      )
      // Rows of no columns take no bytes, so a decoder cannot bound their count: Rows.readRows refuses them.
      return fc.record({ columns: fc.constant(columns), rows: fc.array(row, { maxLength: cs.length === 0 ? 0 : 4 }) })
    })
  const rowsMetadata = (version: 4 | 5, noMetadata: boolean) =>
    fc
      .record({
        cr: columnsAndRows,
        pagingState: fc.option(bytesArb, { nil: undefined }),
        newMetadataId: version === 5 && !noMetadata ? fc.option(bytesArb, { nil: undefined }) : fc.constant(undefined)
      })
      .map(({ cr, pagingState, newMetadataId }) => ({
        ...cr,
        metadata: meta({
          flags: 0,
          columnCount: cr.columns.length,
          columns: noMetadata ? undefined : cr.columns,
          pagingState,
          newMetadataId
        })
      }))
  const extras = fc.record(
    {
      tracingId: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
      warnings: fc.array(text, { maxLength: 3 }),
      customPayload: fc.dictionary(name, fc.option(bytesArb, { nil: null }), { maxKeys: 3 })
    },
    { requiredKeys: [] }
  )
  const response = (version: 4 | 5, noMetadata: boolean): fc.Arbitrary<Response.Response> =>
    fc
      .tuple(
        fc.oneof(
          fc.constant<Response.Response>({ _tag: "Ready" }),
          text.map((authenticator): Response.Response => ({ _tag: "Authenticate", authenticator })),
          fc.dictionary(name, fc.array(text, { maxLength: 3 }), { maxKeys: 3 }).map((options): Response.Response => ({ _tag: "Supported", options })),
          fc.constant<Response.Response>({ _tag: "Void" }),
          rowsMetadata(version, noMetadata).map(({ metadata, columns, rows }): Response.Response => ({ _tag: "Rows", metadata, columns, rows })),
          text.map((keyspace): Response.Response => ({ _tag: "SetKeyspace", keyspace })),
          fc
            .record({ id: bytesArb, rmid: bytesArb, bind: columnsAndRows, result: rowsMetadata(version, false), pk: fc.nat({ max: 3 }) })
            .map(({ id, rmid, bind, result, pk }): Response.Response => {
              const metadata = { flags: 0, columns: bind.columns, pkIndexes: bind.columns.slice(0, pk).map((_, i) => i) }
              const resultMetadata = { ...result.metadata, newMetadataId: undefined }
              return version === 5
                ? { _tag: "Prepared", id, resultMetadataId: rmid, metadata, resultMetadata }
                : { _tag: "Prepared", id, metadata, resultMetadata }
            }),
          fc
            .record({ keyspace: text, name: text, argTypes: fc.array(text, { maxLength: 2 }) })
            .map(({ keyspace, name, argTypes }): Response.Response => ({
              _tag: "SchemaChange",
              change: { change: "UPDATED", target: "FUNCTION", keyspace, name, argTypes }
            })),
          fc.option(bytesArb, { nil: null }).map((token): Response.Response => ({ _tag: "AuthChallenge", token })),
          fc.option(bytesArb, { nil: null }).map((token): Response.Response => ({ _tag: "AuthSuccess", token })),
          text.map((message): Response.Response => ({ _tag: "Error", error: { kind: "SyntaxError", message } }))
        ),
        extras
      )
      .map(([res, ex]) => ({ ...res, ...ex }))

  /** The metadata flags are derived from the fields on encode, so they are compared through the fields. */
  const withoutFlags = (res: Response.Response): unknown => {
    switch (res._tag) {
      case "Rows":
        return { ...res, metadata: { ...res.metadata, flags: 0 } }
      case "Prepared":
        return { ...res, metadata: { ...res.metadata, flags: 0 }, resultMetadata: { ...res.resultMetadata, flags: 0 } }
      default:
        return res
    }
  }

  for (const version of [4, 5] as const) {
    for (const noMetadata of [false, true]) {
      it.prop(
        `server encode -> client decode keeps every field (v${version}${noMetadata ? ", rows without metadata" : ""})`,
        { res: response(version, noMetadata) },
        ({ res }) => {
          const w = new ByteWriter(16)
          const env = Either.getOrThrow(Response.encodeResponseEnvelope(w, res, { version, stream: 7 }))
          const decoder = new EnvelopeDecoder()
          decoder.push(Buffer.from(env))
          const ctx = res._tag === "Rows" ? { columns: res.columns } : {}
          const decoded = Either.getOrThrow(Response.decodeResponseEnvelope(Either.getOrThrow(decoder.next()!), ctx))
          expect(withoutFlags(decoded)).toEqual(withoutFlags(res))
        }
      )
    }
  }
})
