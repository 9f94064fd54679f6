/**
 * Request messages (native_protocol_v4.spec and native_protocol_v5.spec section 4.1), both directions:
 * the client encodes them straight into the envelope's ByteWriter, a (stub) server decodes them.
 *
 * Values: the encoder takes JS values and their DataTypes (for EXECUTE and BATCH from the prepared metadata; for
 * QUERY they are inferred from the values when no types are given) and writes each [value] in place with
 * `Codec.writeValue`. The decoder does not know the types and returns each value raw: its bytes, `null`, or `unset`.
 *
 * Version differences: the query flags are a [byte] in v4 and an [int] in v5; v5 adds the keyspace (0x80) and
 * now_in_seconds (0x100) flags, PREPARE's [int] flags with its keyspace, and EXECUTE's <result_metadata_id>.
 */
import * as Either from "effect/Either"
import { writeValue, inferType, unset } from "./Codec.js"
import type { Unset } from "./Codec.js"
import * as Consistency from "./Consistency.js"
import type { DataType } from "./DataType.js"
import * as Event from "./Event.js"
import * as Frame from "./Frame.js"
import {
  writeCheckedBytesMap,
  writeCheckedInt,
  writeCheckedLong,
  writeCheckedShortBytes,
  writeCount,
  writeOrRollBack,
  writeV5ShortBytes
} from "./internal/checked.js"
import { catchDecode, decodeFail, encodeFail, toEncodeError } from "./internal/fail.js"
import { ByteReader } from "./internal/reader.js"
import type { ProtocolVersion } from "./internal/version.js"
import type { ByteWriter } from "./internal/writer.js"
import type { DecodeError, EncodeError } from "./ProtocolError.js"

export type { ProtocolVersion } from "./internal/version.js"

/** A value as a server reads it: the [value] bytes, `null` (length -1) or `unset` (length -2). */
export type RawValue = Buffer | null | Unset

/** Envelope-level fields that any request may carry. */
interface Extras {
  /** [bytes map] before the message (flag 0x04); Cassandra hands it to a custom QueryHandler. */
  readonly customPayload?: Readonly<Record<string, Uint8Array | null>>
}

/** Query parameters of QUERY and EXECUTE (spec 4.1.4). `V` is `unknown` when encoding, `RawValue` when decoded. */
export interface QueryParameters<V = unknown> {
  readonly consistency: Consistency.Consistency
  /** Bound values in marker order (flag 0x01). An empty array still sends the flag with n = 0. */
  readonly values?: ReadonlyArray<V>
  /** One name per value (flag 0x40): values are bound by marker name instead of position. */
  readonly names?: ReadonlyArray<string>
  /**
   * Encoding only: the type of each value, parallel to `values` (from the prepared metadata for EXECUTE).
   * When absent each value's type is inferred (`Codec.inferType`).
   */
  readonly types?: ReadonlyArray<DataType>
  /** Ask for rows without metadata (flag 0x02); the client then decodes them with the prepared result metadata. */
  readonly skipMetadata?: boolean
  /** Rows per page (flag 0x04). */
  readonly pageSize?: number
  /** Paging state of the previous page (flag 0x08). */
  readonly pagingState?: Uint8Array
  /** SERIAL or LOCAL_SERIAL (flag 0x10). */
  readonly serialConsistency?: Consistency.Consistency
  /** Default timestamp in microseconds (flag 0x20). */
  readonly timestamp?: bigint
  /** v5 only (flag 0x80): the keyspace to run in, overriding the connection's. */
  readonly keyspace?: string
  /** v5 only (flag 0x100): the server's "now", for tests of TTLs. */
  readonly nowInSeconds?: number
}

export interface Startup extends Extras {
  readonly _tag: "Startup"
  /** e.g. CQL_VERSION "3.0.0" (mandatory), COMPRESSION, DRIVER_NAME, DRIVER_VERSION, THROW_ON_OVERLOAD. */
  readonly options: Readonly<Record<string, string>>
}

export interface AuthResponse extends Extras {
  readonly _tag: "AuthResponse"
  readonly token: Uint8Array | null
}

export interface Options extends Extras {
  readonly _tag: "Options"
}

export interface Query<V = unknown> extends Extras {
  readonly _tag: "Query"
  readonly query: string
  readonly params: QueryParameters<V>
}

export interface Prepare extends Extras {
  readonly _tag: "Prepare"
  readonly query: string
  /** v5 only (PREPARE flag 0x01). */
  readonly keyspace?: string
}

export interface Execute<V = unknown> extends Extras {
  readonly _tag: "Execute"
  readonly id: Uint8Array
  /** v5: the result metadata id from PREPARED (or the latest Metadata_changed); required in v5, absent in v4. */
  readonly resultMetadataId?: Uint8Array
  readonly params: QueryParameters<V>
}

export type BatchType = "LOGGED" | "UNLOGGED" | "COUNTER"

/** One statement of a BATCH: a query string or a prepared id, with its values (no names: CASSANDRA-10246). */
export type BatchStatement<V = unknown> =
  | {
      readonly query: string
      readonly id?: undefined
      readonly values?: ReadonlyArray<V>
      /** Encoding only, as in QueryParameters. */
      readonly types?: ReadonlyArray<DataType>
    }
  | {
      readonly id: Uint8Array
      readonly query?: undefined
      readonly values?: ReadonlyArray<V>
      readonly types?: ReadonlyArray<DataType>
    }

export interface Batch<V = unknown> extends Extras {
  readonly _tag: "Batch"
  readonly type: BatchType
  readonly statements: ReadonlyArray<BatchStatement<V>>
  readonly consistency: Consistency.Consistency
  readonly serialConsistency?: Consistency.Consistency
  readonly timestamp?: bigint
  /** v5 only. */
  readonly keyspace?: string
  /** v5 only. */
  readonly nowInSeconds?: number
}

export interface Register extends Extras {
  readonly _tag: "Register"
  readonly events: ReadonlyArray<Event.EventType>
}

export type Request<V = unknown> =
  | Startup
  | AuthResponse
  | Options
  | Query<V>
  | Prepare
  | Execute<V>
  | Batch<V>
  | Register

/** Query flags (spec 4.1.4). */
export const QueryFlag = {
  Values: 0x01,
  SkipMetadata: 0x02,
  PageSize: 0x04,
  PagingState: 0x08,
  SerialConsistency: 0x10,
  Timestamp: 0x20,
  NamedValues: 0x40,
  Keyspace: 0x80,
  NowInSeconds: 0x100
} as const

/** v5 PREPARE flags (spec v5 4.1.5). */
export const PrepareFlag = { Keyspace: 0x01 } as const

const batchTypes: ReadonlyArray<BatchType> = ["LOGGED", "UNLOGGED", "COUNTER"]

const opcodes: Readonly<Record<Request["_tag"], number>> = {
  Startup: Frame.Opcode.Startup,
  AuthResponse: Frame.Opcode.AuthResponse,
  Options: Frame.Opcode.Options,
  Query: Frame.Opcode.Query,
  Prepare: Frame.Opcode.Prepare,
  Execute: Frame.Opcode.Execute,
  Batch: Frame.Opcode.Batch,
  Register: Frame.Opcode.Register
}

/** The opcode of a request. */
export const opcodeOf = (req: Request): number => opcodes[req._tag]

// ---------------------------------------------------------------------------------------------------------------
// Encoding (client side)

/**
 * Writes the body of `req` (with its custom payload first, when it has one) at the writer's position. On failure
 * the writer is rolled back to where it was, so it can be reused. The caller sets the envelope's CustomPayload flag
 * (`encodeRequestEnvelope` does all of it).
 */
export const encodeRequest = (w: ByteWriter, req: Request, version: ProtocolVersion): Either.Either<void, EncodeError> =>
  writeOrRollBack(w, () => writeRequest(w, req, version))

/** Header options of `encodeRequestEnvelope`. */
export interface EnvelopeOptions {
  readonly version: ProtocolVersion
  readonly stream: number
  /** Ask the server to trace this request (flag 0x02). */
  readonly tracing?: boolean
  /** Opt in to a beta protocol version (flag 0x10). */
  readonly beta?: boolean
}

/**
 * Writes a whole request envelope (header and body) at the writer's position. Returns the error, if any, with the
 * writer rolled back; nothing is allocated on success (the connection's request path: it only needs the bytes).
 */
// A try/catch of its own rather than `tryWrite`'s closure: this runs for every request.
export const writeRequestEnvelope = (w: ByteWriter, req: Request, options: EnvelopeOptions): EncodeError | undefined => {
  const start = w.offset
  try {
    let flags = 0
    if (req.customPayload !== undefined) flags |= Frame.Flag.CustomPayload
    if (options.tracing === true) flags |= Frame.Flag.Tracing
    if (options.beta === true) flags |= Frame.Flag.UseBeta
    if (!Number.isInteger(options.stream) || options.stream < 0 || options.stream > 0x7fff) {
      encodeFail(`request stream id ${options.stream} is outside 0..32767`, "stream")
    }
    const at = Frame.beginEnvelope(w, options.version, flags, options.stream, opcodeOf(req))
    writeRequest(w, req, options.version)
    Frame.closeEnvelope(w, at)
    return undefined
  } catch (error) {
    w.offset = start
    return toEncodeError(error)
  }
}

/**
 * The same, returning the envelope as a view of the writer's buffer (valid until the writer is written to again).
 */
export const encodeRequestEnvelope = (w: ByteWriter, req: Request, options: EnvelopeOptions): Either.Either<Buffer, EncodeError> => {
  const start = w.offset
  const error = writeRequestEnvelope(w, req, options)
  return error === undefined ? Either.right(w.buf.subarray(start, w.offset)) : Either.left(error)
}

/** Throws EncodeError: the Either-returning entry points above wrap it. */
const writeRequest = (w: ByteWriter, req: Request, version: ProtocolVersion): void => {
  if (req.customPayload !== undefined) writeCheckedBytesMap(w, req.customPayload, "customPayload")
  switch (req._tag) {
    case "Startup":
      w.stringMap(req.options)
      return
    case "AuthResponse":
      w.bytes(req.token)
      return
    case "Options":
      return
    case "Query":
      w.longString(req.query)
      writeQueryParameters(w, req.params, version)
      return
    case "Prepare":
      w.longString(req.query)
      if (version >= 5) {
        w.int(req.keyspace === undefined ? 0 : PrepareFlag.Keyspace)
        if (req.keyspace !== undefined) w.string(req.keyspace)
      } else if (req.keyspace !== undefined) {
        encodeFail("PREPARE with a keyspace needs protocol v5", "keyspace")
      }
      return
    case "Execute":
      writeCheckedShortBytes(w, req.id, "id")
      writeV5ShortBytes(w, req.resultMetadataId, version, "resultMetadataId", "EXECUTE in v5 needs the result metadata id")
      writeQueryParameters(w, req.params, version)
      return
    case "Batch":
      writeBatch(w, req, version)
      return
    case "Register":
      for (const e of req.events) {
        if (!Event.eventTypes.includes(e)) encodeFail(`unknown event type ${JSON.stringify(e)}`, "events")
      }
      w.stringList(req.events)
      return
    default:
      encodeFail(`unknown request ${JSON.stringify((req as { _tag: unknown })._tag)}`, "_tag")
  }
}

/** Writes the flags [byte] (v4) or [int] (v5). */
const writeFlags = (w: ByteWriter, flags: number, version: ProtocolVersion): void => {
  if (version >= 5) w.int(flags)
  else w.byte(flags)
}

/** The options that QUERY/EXECUTE parameters and BATCH share, last in both and in this order. */
interface Tail {
  readonly serialConsistency?: Consistency.Consistency
  readonly timestamp?: bigint
  readonly keyspace?: string
  readonly nowInSeconds?: number
}

const v5Only = (version: ProtocolVersion, field: string): void => {
  if (version < 5) encodeFail(`${field} needs protocol v5`, field)
}

const tailFlags = (t: Tail, version: ProtocolVersion): number => {
  let flags = 0
  if (t.serialConsistency !== undefined) flags |= QueryFlag.SerialConsistency
  if (t.timestamp !== undefined) flags |= QueryFlag.Timestamp
  if (t.keyspace !== undefined) {
    v5Only(version, "keyspace")
    flags |= QueryFlag.Keyspace
  }
  if (t.nowInSeconds !== undefined) {
    v5Only(version, "nowInSeconds")
    flags |= QueryFlag.NowInSeconds
  }
  return flags
}

/** [serial_consistency][timestamp][keyspace][now_in_seconds] */
const writeTail = (w: ByteWriter, t: Tail): void => {
  const serial = t.serialConsistency
  if (serial !== undefined) {
    if (!Consistency.isSerial(serial)) {
      encodeFail(`serial consistency must be SERIAL or LOCAL_SERIAL, not ${String(serial)}`, "serialConsistency")
    }
    Consistency.write(w, serial, "serialConsistency")
  }
  if (t.timestamp !== undefined) writeCheckedLong(w, t.timestamp, "timestamp")
  if (t.keyspace !== undefined) w.string(t.keyspace)
  if (t.nowInSeconds !== undefined) writeCheckedInt(w, t.nowInSeconds, "nowInSeconds")
}

/** <consistency><flags>[values][page_size][paging_state][serial_consistency][timestamp][keyspace][now_in_seconds] */
const writeQueryParameters = (w: ByteWriter, p: QueryParameters, version: ProtocolVersion): void => {
  Consistency.write(w, p.consistency, "consistency")
  const values = p.values
  let flags = 0
  if (values !== undefined) flags |= QueryFlag.Values
  if (p.skipMetadata === true) flags |= QueryFlag.SkipMetadata
  if (p.pageSize !== undefined) flags |= QueryFlag.PageSize
  if (p.pagingState !== undefined) flags |= QueryFlag.PagingState
  if (p.names !== undefined && values !== undefined) flags |= QueryFlag.NamedValues
  writeFlags(w, flags | tailFlags(p, version), version)
  if (values !== undefined) writeValues(w, values, p.types, p.names)
  if (p.pageSize !== undefined) {
    if (!Number.isInteger(p.pageSize) || p.pageSize <= 0) encodeFail(`page size must be a positive integer, not ${p.pageSize}`, "pageSize")
    writeCheckedInt(w, p.pageSize, "pageSize")
  }
  if (p.pagingState !== undefined) w.bytes(p.pagingState)
  writeTail(w, p)
}

/** [short] n then n [value]s, each preceded by its [string] name when `names` is given. */
const writeValues = (
  w: ByteWriter,
  values: ReadonlyArray<unknown>,
  types: ReadonlyArray<DataType> | undefined,
  names: ReadonlyArray<string> | undefined
): void => {
  const n = values.length
  if (types !== undefined && types.length !== n) encodeFail(`${n} values for ${types.length} bound types`, "values")
  if (names !== undefined && names.length !== n) encodeFail(`${n} values for ${names.length} names`, "names")
  writeCount(w, n, "values", "values")
  for (let i = 0; i < n; i++) {
    const path = names === undefined ? positionPath(i) : names[i]!
    if (names !== undefined) w.string(path)
    const v = values[i]
    writeValue(w, types === undefined ? inferType(v) : types[i]!, v, path)
  }
}

/** Error paths of positional values, `$1` for the first; cached so that the hot path does not build strings. */
const positionPaths: Array<string> = []
const positionPath = (i: number): string => {
  for (let k = positionPaths.length; k <= i; k++) positionPaths.push(`$${k + 1}`)
  return positionPaths[i]!
}

/** <type><n><query_1>...<query_n><consistency><flags>[serial_consistency][timestamp][keyspace][now_in_seconds] */
const writeBatch = (w: ByteWriter, b: Batch, version: ProtocolVersion): void => {
  const type = batchTypes.indexOf(b.type)
  if (type < 0) encodeFail(`unknown batch type ${JSON.stringify(b.type)}`, "type")
  w.byte(type)
  writeCount(w, b.statements.length, "batch statements", "statements")
  for (let i = 0; i < b.statements.length; i++) {
    const s = b.statements[i]!
    if (s.id !== undefined) {
      w.byte(1)
      writeCheckedShortBytes(w, s.id, `statements[${i}].id`)
    } else if (typeof s.query === "string") {
      w.byte(0)
      w.longString(s.query)
    } else {
      encodeFail("a batch statement needs a query string or a prepared id", `statements[${i}]`)
    }
    const values = s.values ?? []
    const types = s.types
    if (types !== undefined && types.length !== values.length) {
      encodeFail(`${values.length} values for ${types.length} bound types`, `statements[${i}].values`)
    }
    writeCount(w, values.length, "values", `statements[${i}].values`)
    for (let j = 0; j < values.length; j++) {
      const v = values[j]
      writeValue(w, types === undefined ? inferType(v) : types[j]!, v, `statements[${i}].${positionPath(j)}`)
    }
  }
  Consistency.write(w, b.consistency, "consistency")
  writeFlags(w, tailFlags(b, version), version)
  writeTail(w, b)
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding (server side)

/**
 * Decodes a request body (server side). `flags` are the envelope's: a custom payload comes first when 0x04 is set.
 * Values come back raw. Bytes after the message are ignored, as the spec tells receivers to (section 1).
 * Byte fields are views of `body`.
 */
export const decodeRequest = (
  opcode: number,
  flags: number,
  body: Buffer,
  version: ProtocolVersion
): Either.Either<Request<RawValue>, DecodeError> => catchDecode(() => readRequest(new ByteReader(body), opcode, flags, version))

/** Decodes a whole request envelope from `Frame.EnvelopeDecoder` (its version must be 4 or 5). */
export const decodeRequestEnvelope = (e: Frame.Envelope): Either.Either<Request<RawValue>, DecodeError> =>
  catchDecode(() => {
    if (e.response) decodeFail(`a response envelope (${Frame.opcodeName(e.opcode)}) where a request was expected`)
    const v = e.version
    return v === 4 || v === 5
      ? readRequest(new ByteReader(e.body), e.opcode, e.flags, v)
      : decodeFail(`unsupported protocol version ${v}`)
  })

const readRequest = (r: ByteReader, opcode: number, flags: number, version: ProtocolVersion): Request<RawValue> => {
  const customPayload = (flags & Frame.Flag.CustomPayload) !== 0 ? r.bytesMap() : undefined
  const req = readMessage(r, opcode, version)
  return customPayload === undefined ? req : { ...req, customPayload }
}

const readMessage = (r: ByteReader, opcode: number, version: ProtocolVersion): Request<RawValue> => {
  switch (opcode) {
    case Frame.Opcode.Startup:
      return { _tag: "Startup", options: r.stringMap() }
    case Frame.Opcode.AuthResponse:
      return { _tag: "AuthResponse", token: r.bytes() }
    case Frame.Opcode.Options:
      return { _tag: "Options" }
    case Frame.Opcode.Query: {
      const query = r.longString()
      return { _tag: "Query", query, params: readQueryParameters(r, version) }
    }
    case Frame.Opcode.Prepare: {
      const query = r.longString()
      if (version < 5) return { _tag: "Prepare", query }
      const at = r.offset
      const f = r.int()
      if ((f & ~PrepareFlag.Keyspace) !== 0) decodeFail(`unknown PREPARE flags 0x${f.toString(16)}`, at)
      return (f & PrepareFlag.Keyspace) !== 0 ? { _tag: "Prepare", query, keyspace: r.string() } : { _tag: "Prepare", query }
    }
    case Frame.Opcode.Execute: {
      const id = r.shortBytes()
      if (version < 5) return { _tag: "Execute", id, params: readQueryParameters(r, version) }
      const resultMetadataId = r.shortBytes()
      return { _tag: "Execute", id, resultMetadataId, params: readQueryParameters(r, version) }
    }
    case Frame.Opcode.Batch:
      return readBatch(r, version)
    case Frame.Opcode.Register: {
      const at = r.offset
      const events = r.stringList()
      for (const e of events) {
        if (!(Event.eventTypes as ReadonlyArray<string>).includes(e)) decodeFail(`unknown event type ${JSON.stringify(e)}`, at)
      }
      return { _tag: "Register", events: events as Array<Event.EventType> }
    }
    default:
      return decodeFail(`${Frame.opcodeName(opcode)} is not a request opcode`)
  }
}

const queryFlagsV4 = 0x7f // 0x01..0x40
const queryFlagsV5 = 0x1ff

const readFlags = (r: ByteReader, version: ProtocolVersion, known: number, what: string): number => {
  const at = r.offset
  const flags = version >= 5 ? r.int() : r.byte()
  if ((flags & ~known) !== 0) decodeFail(`unknown ${what} flags 0x${(flags & ~known).toString(16)}`, at)
  return flags
}

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

const readTail = (r: ByteReader, flags: number, out: Mutable<Tail>): void => {
  if ((flags & QueryFlag.SerialConsistency) !== 0) out.serialConsistency = Consistency.read(r)
  if ((flags & QueryFlag.Timestamp) !== 0) out.timestamp = r.long()
  if ((flags & QueryFlag.Keyspace) !== 0) out.keyspace = r.string()
  if ((flags & QueryFlag.NowInSeconds) !== 0) out.nowInSeconds = r.int()
}

/** A [value]: its bytes, null for -1, unset for -2; anything below -2 is invalid (spec 3). */
const readRawValue = (r: ByteReader): RawValue => {
  const n = r.int()
  if (n >= 0) return r.slice(n)
  if (n === -1) return null
  if (n === -2) return unset
  return decodeFail(`invalid [value] length ${n}`, r.offset - 4)
}

const readQueryParameters = (r: ByteReader, version: ProtocolVersion): QueryParameters<RawValue> => {
  const consistency = Consistency.read(r)
  const flags = readFlags(r, version, version >= 5 ? queryFlagsV5 : queryFlagsV4, "query")
  let values: Array<RawValue> | undefined
  let names: Array<string> | undefined
  if ((flags & QueryFlag.Values) !== 0) {
    const named = (flags & QueryFlag.NamedValues) !== 0
    // Each value is at least its 4-byte length (plus a 2-byte name length when named).
    const n = r.count(r.short(), named ? 6 : 4, "values")
    values = new Array<RawValue>(n)
    if (named) names = new Array<string>(n)
    for (let i = 0; i < n; i++) {
      if (names !== undefined) names[i] = r.string()
      values[i] = readRawValue(r)
    }
  }
  const p: Mutable<QueryParameters<RawValue>> = { consistency }
  if (values !== undefined) p.values = values
  if (names !== undefined) p.names = names
  if ((flags & QueryFlag.SkipMetadata) !== 0) p.skipMetadata = true
  if ((flags & QueryFlag.PageSize) !== 0) p.pageSize = r.int()
  if ((flags & QueryFlag.PagingState) !== 0) {
    const at = r.offset
    const s = r.bytes()
    if (s === null) decodeFail("null paging state", at)
    else p.pagingState = s
  }
  readTail(r, flags, p)
  return p
}

/** The batch flags: only serial consistency, timestamp (and in v5 keyspace, now_in_seconds) make sense. */
const batchFlagsV4 = QueryFlag.SerialConsistency | QueryFlag.Timestamp
const batchFlagsV5 = batchFlagsV4 | QueryFlag.Keyspace | QueryFlag.NowInSeconds

const readBatch = (r: ByteReader, version: ProtocolVersion): Batch<RawValue> => {
  const typeAt = r.offset
  const type = batchTypes[r.byte()]
  if (type === undefined) decodeFail(`unknown batch type ${r.buf[typeAt]}`, typeAt)
  // Each statement is at least a kind byte, a 2-byte id/4-byte query length and a 2-byte value count.
  const n = r.count(r.short(), 5, "batch statements")
  const statements = new Array<BatchStatement<RawValue>>(n)
  for (let i = 0; i < n; i++) {
    const kindAt = r.offset
    const kind = r.byte()
    if (kind !== 0 && kind !== 1) decodeFail(`unknown batch statement kind ${kind}`, kindAt)
    const query = kind === 0 ? r.longString() : undefined
    const id = kind === 1 ? r.shortBytes() : undefined
    const count = r.count(r.short(), 4, "values")
    const values = new Array<RawValue>(count)
    for (let j = 0; j < count; j++) values[j] = readRawValue(r)
    statements[i] = id !== undefined ? { id, values } : { query: query!, values }
  }
  const consistency = Consistency.read(r)
  // 0x40 (names) is rejected with the other unknown bits: named values cannot work in a batch (CASSANDRA-10246).
  const flags = readFlags(r, version, version >= 5 ? batchFlagsV5 : batchFlagsV4, "batch")
  const b: Mutable<Batch<RawValue>> = {
    _tag: "Batch",
    type: type!,
    statements,
    consistency
  }
  readTail(r, flags, b)
  return b
}
