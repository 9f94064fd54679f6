/**
 * Response messages (native_protocol_v4.spec and native_protocol_v5.spec section 4.2), both directions: the client
 * decodes them, a (stub) server encodes them. RESULT is split by kind into its own variants (Void, Rows,
 * SetKeyspace, Prepared, SchemaChange), so that a caller matches on one `_tag`.
 *
 * Every response exposes the envelope-body prefix selected by the header flags (spec v5 2.4.1.2 / v4 2.2):
 * [uuid tracing id] (0x02), [string list warnings] (0x08), [bytes map custom payload] (0x04), in that order.
 */
import * as Either from "effect/Either"
import type * as Event from "./Event.js"
import { read as readEvent, readSchemaChange, write as writeEvent, writeSchemaChange } from "./Event.js"
import * as Frame from "./Frame.js"
import { writeCheckedBytesMap, writeCheckedShortBytes, writeOrRollBack, writeV5ShortBytes } from "./internal/checked.js"
import { catchDecode, decodeFail, encodeFail, toDecodeError } from "./internal/fail.js"
import { ByteReader } from "./internal/reader.js"
import type { ProtocolVersion } from "./internal/version.js"
import type { ByteWriter } from "./internal/writer.js"
import type { DecodeError, EncodeError } from "./ProtocolError.js"
import {
  readPreparedMetadata,
  readRows,
  readRowsMetadata,
  writePreparedMetadata,
  writeRows,
  writeRowsMetadata
} from "./Rows.js"
import type { ColumnSpec, PreparedMetadata, Row, RowsMetadata } from "./Rows.js"
import * as ServerError from "./ServerError.js"

export type { ProtocolVersion } from "./internal/version.js"

/** The envelope-body prefix, present when the header flag says so. */
interface Extras {
  /** Flag 0x02: the id of the trace session (query system_traces with it). */
  readonly tracingId?: Buffer
  /** Flag 0x08: server warnings about this request (e.g. a large batch, many tombstones). */
  readonly warnings?: ReadonlyArray<string>
  /** Flag 0x04: a custom QueryHandler's payload. */
  readonly customPayload?: Readonly<Record<string, Buffer | null>>
}

export interface ErrorResponse extends Extras {
  readonly _tag: "Error"
  readonly error: ServerError.ServerError
}

export interface Ready extends Extras {
  readonly _tag: "Ready"
}

export interface Authenticate extends Extras {
  readonly _tag: "Authenticate"
  /** Full class name of the server's IAuthenticator. */
  readonly authenticator: string
}

export interface Supported extends Extras {
  readonly _tag: "Supported"
  /** e.g. CQL_VERSION, COMPRESSION, PROTOCOL_VERSIONS ("3/v3", "4/v4", "5/v5"). */
  readonly options: Readonly<Record<string, ReadonlyArray<string>>>
}

export interface Void extends Extras {
  readonly _tag: "Void"
}

export interface Rows extends Extras {
  readonly _tag: "Rows"
  /** As sent: paging state, v5 new metadata id (Metadata_changed), and the columns unless No_metadata was set. */
  readonly metadata: RowsMetadata
  /** The columns the rows were decoded with: the metadata's, or the caller's cached ones under No_metadata. */
  readonly columns: ReadonlyArray<ColumnSpec>
  readonly rows: ReadonlyArray<Row>
}

export interface SetKeyspace extends Extras {
  readonly _tag: "SetKeyspace"
  readonly keyspace: string
}

export interface Prepared extends Extras {
  readonly _tag: "Prepared"
  readonly id: Buffer
  /** v5: to send with each EXECUTE. Absent in v4. */
  readonly resultMetadataId?: Buffer
  /** The bind markers, with the partition key indexes for token-aware routing. */
  readonly metadata: PreparedMetadata
  /** The columns an EXECUTE will return (may be empty, e.g. for writes). */
  readonly resultMetadata: RowsMetadata
}

export interface SchemaChange extends Extras {
  readonly _tag: "SchemaChange"
  readonly change: Event.SchemaChange
}

export interface EventResponse extends Extras {
  readonly _tag: "Event"
  readonly event: Event.Event
}

export interface AuthChallenge extends Extras {
  readonly _tag: "AuthChallenge"
  readonly token: Buffer | null
}

export interface AuthSuccess extends Extras {
  readonly _tag: "AuthSuccess"
  readonly token: Buffer | null
}

export type Result = Void | Rows | SetKeyspace | Prepared | SchemaChange

export type Response =
  | ErrorResponse
  | Ready
  | Authenticate
  | Supported
  | Result
  | EventResponse
  | AuthChallenge
  | AuthSuccess

/** RESULT kinds (spec 4.2.5). */
export const ResultKind = { Void: 1, Rows: 2, SetKeyspace: 3, Prepared: 4, SchemaChange: 5 } as const

/** What the client knows that the body does not say. */
export interface DecodeContext {
  /**
   * The result metadata cached from PREPARED, used when a Rows result comes with No_metadata (an EXECUTE sent with
   * skipMetadata). Without it such a Rows result is a DecodeError.
   */
  readonly columns?: ReadonlyArray<ColumnSpec> | undefined
}

const noContext: DecodeContext = {}

const opcodes: Readonly<Record<Response["_tag"], number>> = {
  Error: Frame.Opcode.Error,
  Ready: Frame.Opcode.Ready,
  Authenticate: Frame.Opcode.Authenticate,
  Supported: Frame.Opcode.Supported,
  Void: Frame.Opcode.Result,
  Rows: Frame.Opcode.Result,
  SetKeyspace: Frame.Opcode.Result,
  Prepared: Frame.Opcode.Result,
  SchemaChange: Frame.Opcode.Result,
  Event: Frame.Opcode.Event,
  AuthChallenge: Frame.Opcode.AuthChallenge,
  AuthSuccess: Frame.Opcode.AuthSuccess
}

/** The opcode of a response. */
export const opcodeOf = (res: Response): number => opcodes[res._tag]

// ---------------------------------------------------------------------------------------------------------------
// Decoding (client side)

/**
 * Decodes a response body. `flags` are the envelope's (they select the tracing id / warnings / custom payload
 * prefix). Unknown opcodes and result kinds are DecodeErrors; an unknown error code is not (it becomes a
 * `ServerError.Unknown`). Bytes after the message are ignored, as the spec asks of clients (section 4.2).
 * Rows values are decoded; other byte fields are views of `body` except ids, which are copied.
 */
export const decodeResponse = (
  opcode: number,
  flags: number,
  body: Buffer,
  version: ProtocolVersion,
  ctx: DecodeContext = noContext
): Either.Either<Response, DecodeError> => catchDecode(() => readResponse(new ByteReader(body), opcode, flags, version, ctx))

/**
 * Decodes a whole response envelope from `Frame.EnvelopeDecoder`. Its version must be 4 or 5, except for an ERROR:
 * a server answers a STARTUP of a version it does not speak with a protocol error in its own version, which the
 * client must read to negotiate down (the ERROR layout of the simple codes is the same in every version).
 */
// A try/catch of its own rather than `catchDecode`: this runs for every answer, and a closure per answer adds up.
export const decodeResponseEnvelope = (e: Frame.Envelope, ctx: DecodeContext = noContext): Either.Either<Response, DecodeError> => {
  try {
    if (!e.response) decodeFail(`a request envelope (${Frame.opcodeName(e.opcode)}) where a response was expected`)
    const v = e.version
    const version: ProtocolVersion | undefined =
      v === 4 || v === 5 ? v : e.opcode === Frame.Opcode.Error ? (v > 5 ? 5 : 4) : undefined
    return version === undefined
      ? decodeFail(`unsupported protocol version ${v}`)
      : Either.right(readResponse(new ByteReader(e.body), e.opcode, e.flags, version, ctx))
  } catch (error) {
    return Either.left(toDecodeError(error))
  }
}

const readResponse = (
  r: ByteReader,
  opcode: number,
  flags: number,
  version: ProtocolVersion,
  ctx: DecodeContext
): Response => {
  if ((flags & (Frame.Flag.Tracing | Frame.Flag.Warning | Frame.Flag.CustomPayload)) === 0) {
    return readMessage(r, opcode, version, ctx)
  }
  // Copied: the tracing id is kept after the body's buffer is gone.
  const tracingId = (flags & Frame.Flag.Tracing) !== 0 ? Buffer.from(r.uuid()) : undefined
  const warnings = (flags & Frame.Flag.Warning) !== 0 ? r.stringList() : undefined
  const customPayload = (flags & Frame.Flag.CustomPayload) !== 0 ? r.bytesMap() : undefined
  const out: { -readonly [K in keyof Extras]: Extras[K] } = { ...readMessage(r, opcode, version, ctx) }
  if (tracingId !== undefined) out.tracingId = tracingId
  if (warnings !== undefined) out.warnings = warnings
  if (customPayload !== undefined) out.customPayload = customPayload
  return out as Response
}

const readMessage = (r: ByteReader, opcode: number, version: ProtocolVersion, ctx: DecodeContext): Response => {
  switch (opcode) {
    case Frame.Opcode.Error:
      return { _tag: "Error", error: ServerError.read(r, version) }
    case Frame.Opcode.Ready:
      return { _tag: "Ready" }
    case Frame.Opcode.Authenticate:
      return { _tag: "Authenticate", authenticator: r.string() }
    case Frame.Opcode.Supported:
      return { _tag: "Supported", options: r.stringMultimap() }
    case Frame.Opcode.Result:
      return readResult(r, version, ctx)
    case Frame.Opcode.Event:
      return { _tag: "Event", event: readEvent(r) }
    case Frame.Opcode.AuthChallenge:
      return { _tag: "AuthChallenge", token: r.bytes() }
    case Frame.Opcode.AuthSuccess:
      return { _tag: "AuthSuccess", token: r.bytes() }
    default:
      return decodeFail(`${Frame.opcodeName(opcode)} is not a response opcode`)
  }
}

/** Every VOID result without extras (warnings, tracing id, payload) is this one object. */
export const VOID: Void = Object.freeze({ _tag: "Void" })

const readResult = (r: ByteReader, version: ProtocolVersion, ctx: DecodeContext): Result => {
  const at = r.offset
  const kind = r.int()
  switch (kind) {
    case ResultKind.Void:
      return VOID
    case ResultKind.Rows: {
      const metadata = readRowsMetadata(r, version)
      const columns = metadata.columns ?? ctx.columns
      if (columns === undefined) {
        return decodeFail("Rows came with No_metadata but no cached result metadata was given to decode them", at)
      }
      if (columns.length !== metadata.columnCount) {
        decodeFail(`Rows has ${metadata.columnCount} columns but the metadata used to decode them has ${columns.length}`, at)
      }
      // readRows reads <rows_count><rows_content>.
      return { _tag: "Rows", metadata, columns, rows: readRows(r, columns) }
    }
    case ResultKind.SetKeyspace:
      return { _tag: "SetKeyspace", keyspace: r.string() }
    case ResultKind.Prepared: {
      // Ids are copied: they live in the prepared statement cache long after this buffer.
      const id = Buffer.from(r.shortBytes())
      const resultMetadataId = version >= 5 ? Buffer.from(r.shortBytes()) : undefined
      const metadata = readPreparedMetadata(r, version)
      const resultMetadata = readRowsMetadata(r, version)
      return resultMetadataId === undefined
        ? { _tag: "Prepared", id, metadata, resultMetadata }
        : { _tag: "Prepared", id, resultMetadataId, metadata, resultMetadata }
    }
    case ResultKind.SchemaChange:
      return { _tag: "SchemaChange", change: readSchemaChange(r) }
    default:
      return decodeFail(`unknown RESULT kind 0x${(kind >>> 0).toString(16).padStart(4, "0")}`, at)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding (server side)

/** The header flags a response needs for its prefix fields. */
export const flagsOf = (res: Response): number =>
  (res.tracingId !== undefined ? Frame.Flag.Tracing : 0) |
  (res.warnings !== undefined ? Frame.Flag.Warning : 0) |
  (res.customPayload !== undefined ? Frame.Flag.CustomPayload : 0)

/**
 * Writes the body of `res` (prefix fields included) at the writer's position; the caller puts `flagsOf(res)` in
 * the header. On failure the writer is rolled back to where it was.
 */
export const encodeResponse = (w: ByteWriter, res: Response, version: ProtocolVersion): Either.Either<void, EncodeError> =>
  writeOrRollBack(w, () => writeResponse(w, res, version))

/**
 * Writes a whole response envelope (header with the direction bit, and body) at the writer's position and returns
 * it as a view of the writer's buffer. `stream` is the request's, or -1 for an EVENT.
 */
export const encodeResponseEnvelope = (
  w: ByteWriter,
  res: Response,
  options: { readonly version: ProtocolVersion; readonly stream: number }
): Either.Either<Buffer, EncodeError> =>
  writeOrRollBack(w, () => {
    if (!Number.isInteger(options.stream) || options.stream < -0x8000 || options.stream > 0x7fff) {
      encodeFail(`stream id ${options.stream} is not a signed [short]`, "stream")
    }
    const at = Frame.beginEnvelope(w, options.version | Frame.RESPONSE_BIT, flagsOf(res), options.stream, opcodeOf(res))
    writeResponse(w, res, options.version)
    return Frame.endEnvelope(w, at)
  })

const writeResponse = (w: ByteWriter, res: Response, version: ProtocolVersion): void => {
  if (res.tracingId !== undefined) {
    if (res.tracingId.length !== 16) encodeFail(`a tracing id is 16 bytes, not ${res.tracingId.length}`, "tracingId")
    w.raw(res.tracingId)
  }
  if (res.warnings !== undefined) w.stringList(res.warnings)
  if (res.customPayload !== undefined) writeCheckedBytesMap(w, res.customPayload, "customPayload")
  switch (res._tag) {
    case "Error":
      ServerError.write(w, res.error, version)
      return
    case "Ready":
      return
    case "Authenticate":
      w.string(res.authenticator)
      return
    case "Supported":
      w.stringMultimap(res.options)
      return
    case "Void":
      w.int(ResultKind.Void)
      return
    case "Rows":
      if (res.columns.length !== res.metadata.columnCount) {
        encodeFail(`metadata says ${res.metadata.columnCount} columns, ${res.columns.length} given`, "columns")
      }
      w.int(ResultKind.Rows)
      writeRowsMetadata(w, res.metadata, version)
      writeRows(w, res.columns, res.rows)
      return
    case "SetKeyspace":
      w.int(ResultKind.SetKeyspace)
      w.string(res.keyspace)
      return
    case "Prepared":
      w.int(ResultKind.Prepared)
      writeCheckedShortBytes(w, res.id, "id")
      writeV5ShortBytes(w, res.resultMetadataId, version, "resultMetadataId", "PREPARED in v5 needs a result metadata id")
      writePreparedMetadata(w, res.metadata, version)
      writeRowsMetadata(w, res.resultMetadata, version)
      return
    case "SchemaChange":
      w.int(ResultKind.SchemaChange)
      writeSchemaChange(w, res.change)
      return
    case "Event":
      writeEvent(w, res.event)
      return
    case "AuthChallenge":
    case "AuthSuccess":
      w.bytes(res.token)
      return
    default:
      encodeFail(`unknown response ${JSON.stringify((res as { _tag: unknown })._tag)}`, "_tag")
  }
}
