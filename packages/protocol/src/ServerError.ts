/**
 * The body of an ERROR response (native_protocol_v5.spec 4.2.1 and section 8; v4 section 9): an [int] code, a
 * [string] message, then fields that depend on the code. Plain data here; the driver maps it to tagged errors.
 *
 * Version differences: Read_failure and Write_failure carry <numfailures> in v4 and a <reasonmap> in v5; a v5
 * Write_timeout with writeType "CAS" appends [short] <contentions>; CAS_WRITE_UNKNOWN exists only in v5.
 */
import * as Consistency from "./Consistency.js"
import type { ByteReader } from "./internal/reader.js"
import type { ByteWriter } from "./internal/writer.js"
import { writeCheckedInt, writeCheckedShort, writeCheckedShortBytes } from "./internal/checked.js"
import { decodeFail, encodeFail } from "./internal/fail.js"
import type { ProtocolVersion } from "./internal/version.js"

/** Error codes by name (spec v5 section 8). */
export const Code = {
  ServerError: 0x0000,
  ProtocolError: 0x000a,
  AuthenticationError: 0x0100,
  Unavailable: 0x1000,
  Overloaded: 0x1001,
  IsBootstrapping: 0x1002,
  TruncateError: 0x1003,
  WriteTimeout: 0x1100,
  ReadTimeout: 0x1200,
  ReadFailure: 0x1300,
  FunctionFailure: 0x1400,
  WriteFailure: 0x1500,
  CdcWriteFailure: 0x1600,
  CasWriteUnknown: 0x1700,
  SyntaxError: 0x2000,
  Unauthorized: 0x2100,
  Invalid: 0x2200,
  ConfigError: 0x2300,
  AlreadyExists: 0x2400,
  Unprepared: 0x2500
} as const

export type Kind = keyof typeof Code

/** The kinds whose body is only the code and the message. */
export type SimpleKind =
  | "ServerError"
  | "ProtocolError"
  | "AuthenticationError"
  | "Overloaded"
  | "IsBootstrapping"
  | "TruncateError"
  | "CdcWriteFailure"
  | "SyntaxError"
  | "Unauthorized"
  | "Invalid"
  | "ConfigError"

/**
 * The <writeType> values the spec lists. Kept as a plain string in the error so that a value added by a later
 * server does not make the whole response undecodable.
 */
export type WriteType = "SIMPLE" | "BATCH" | "UNLOGGED_BATCH" | "COUNTER" | "BATCH_LOG" | "CAS" | "VIEW" | "CDC"

/** One replica's failure in a v5 <reasonmap>: its address and a Cassandra RequestFailureReason code. */
export interface FailureReason {
  readonly endpoint: string
  readonly code: number
}

interface Base<K> {
  readonly kind: K
  readonly message: string
}

/** What the coordinator reports for timeouts and failures: the level and how many replicas answered of how many. */
export interface Coordinator {
  readonly consistency: Consistency.Consistency
  readonly received: number
  readonly blockFor: number
}

export interface Simple extends Base<SimpleKind> {}

export interface Unavailable extends Base<"Unavailable"> {
  readonly consistency: Consistency.Consistency
  readonly required: number
  readonly alive: number
}

export interface WriteTimeout extends Base<"WriteTimeout">, Coordinator {
  readonly writeType: string
  /** v5 only, and only when writeType is "CAS": the number of contentions during the CAS operation. */
  readonly contentions?: number
}

export interface ReadTimeout extends Base<"ReadTimeout">, Coordinator {
  readonly dataPresent: boolean
}

export interface ReadFailure extends Base<"ReadFailure">, Coordinator {
  /** v4 sends the count; in v5 it is the number of entries in `reasons`. */
  readonly numFailures: number
  /** v5 <reasonmap>; empty in v4, which only sends the count. */
  readonly reasons: ReadonlyArray<FailureReason>
  readonly dataPresent: boolean
}

export interface WriteFailure extends Base<"WriteFailure">, Coordinator {
  readonly numFailures: number
  readonly reasons: ReadonlyArray<FailureReason>
  readonly writeType: string
}

export interface FunctionFailure extends Base<"FunctionFailure"> {
  readonly keyspace: string
  readonly function: string
  readonly argTypes: ReadonlyArray<string>
}

export interface CasWriteUnknown extends Base<"CasWriteUnknown">, Coordinator {}

export interface AlreadyExists extends Base<"AlreadyExists"> {
  readonly keyspace: string
  /** Empty when the keyspace itself already exists. */
  readonly table: string
}

export interface Unprepared extends Base<"Unprepared"> {
  /** The prepared statement id the node does not know (re-prepare on that node and retry). */
  readonly id: Buffer
}

/** A code this codec does not know: kept with its message so that the request fails, not the connection. */
export interface Unknown extends Base<"Unknown"> {
  readonly code: number
}

export type ServerError =
  | Simple
  | Unavailable
  | WriteTimeout
  | ReadTimeout
  | ReadFailure
  | WriteFailure
  | FunctionFailure
  | CasWriteUnknown
  | AlreadyExists
  | Unprepared
  | Unknown

const kindByCode = new Map<number, Kind>(Object.entries(Code).map(([k, c]) => [c, k as Kind]))

/** The wire code of an error. */
export const codeOf = (e: ServerError): number => (e.kind === "Unknown" ? e.code : Code[e.kind])

/** Reads an ERROR body. Unknown codes give an `Unknown` error; a malformed body is a DecodeError. */
export const read = (r: ByteReader, version: ProtocolVersion): ServerError => {
  const code = r.int()
  const message = r.string()
  const kind = kindByCode.get(code)
  switch (kind) {
    case undefined:
      return { kind: "Unknown", code, message }
    case "Unavailable":
      return { kind, message, consistency: Consistency.read(r), required: r.int(), alive: r.int() }
    case "WriteTimeout": {
      const coordinator = readCoordinator(r)
      const writeType = r.string()
      // Cassandra writes <contentions> only for a CasWriteTimeoutException, so a CAS timeout may come without it.
      if (version >= 5 && writeType === "CAS" && r.remaining >= 2) {
        return { kind, message, ...coordinator, writeType, contentions: r.short() }
      }
      return { kind, message, ...coordinator, writeType }
    }
    case "ReadTimeout":
      return { kind, message, ...readCoordinator(r), dataPresent: r.byte() !== 0 }
    case "ReadFailure":
      return { kind, message, ...readCoordinator(r), ...readFailures(r, version), dataPresent: r.byte() !== 0 }
    case "WriteFailure":
      return { kind, message, ...readCoordinator(r), ...readFailures(r, version), writeType: r.string() }
    case "FunctionFailure":
      return { kind, message, keyspace: r.string(), function: r.string(), argTypes: r.stringList() }
    case "CasWriteUnknown":
      return { kind, message, ...readCoordinator(r) }
    case "AlreadyExists":
      return { kind, message, keyspace: r.string(), table: r.string() }
    case "Unprepared":
      // Copied: the id outlives the response buffer (it keys the re-prepare).
      return { kind, message, id: Buffer.from(r.shortBytes()) }
    default:
      return { kind, message }
  }
}

/** <cl><received><blockfor> */
const readCoordinator = (r: ByteReader): Coordinator => ({
  consistency: Consistency.read(r),
  received: r.int(),
  blockFor: r.int()
})

const writeCoordinator = (w: ByteWriter, e: Coordinator): void => {
  Consistency.write(w, e.consistency, "consistency")
  writeCheckedInt(w, e.received, "received")
  writeCheckedInt(w, e.blockFor, "blockFor")
}

/** v4: [int] <numfailures>. v5: <reasonmap>, an [int] n then n pairs of [inetaddr] and [short] failure code. */
const readFailures = (
  r: ByteReader,
  version: ProtocolVersion
): { numFailures: number; reasons: ReadonlyArray<FailureReason> } => {
  const n = r.int()
  if (version < 5) {
    if (n < 0) decodeFail(`negative <numfailures> ${n}`, r.offset - 4)
    return { numFailures: n, reasons: [] }
  }
  // Each entry is at least 1 + 4 + 2 bytes (an IPv4 [inetaddr] and a [short]).
  r.count(n, 7, "<reasonmap>")
  const reasons = new Array<FailureReason>(n)
  for (let i = 0; i < n; i++) reasons[i] = { endpoint: r.inetAddr(), code: r.short() }
  return { numFailures: n, reasons }
}

/** Writes an ERROR body (server side). Throws EncodeError; call it inside an Either-returning entry point. */
export const write = (w: ByteWriter, e: ServerError, version: ProtocolVersion): void => {
  const code = codeOf(e)
  if (e.kind === "Unknown" && kindByCode.has(code)) {
    encodeFail(`code 0x${code.toString(16)} is a known error: use its kind, not "Unknown"`, "code")
  }
  writeCheckedInt(w, code, "code")
  w.string(e.message)
  switch (e.kind) {
    case "Unavailable":
      Consistency.write(w, e.consistency, "consistency")
      writeCheckedInt(w, e.required, "required")
      writeCheckedInt(w, e.alive, "alive")
      return
    case "WriteTimeout":
      writeCoordinator(w, e)
      w.string(e.writeType)
      // v4 has no <contentions>: it is dropped there, as Cassandra does.
      if (version >= 5 && e.writeType === "CAS" && e.contentions !== undefined) writeCheckedShort(w, e.contentions, "contentions")
      return
    case "ReadTimeout":
      writeCoordinator(w, e)
      w.byte(e.dataPresent ? 1 : 0)
      return
    case "ReadFailure":
      writeCoordinator(w, e)
      writeFailures(w, e, version)
      w.byte(e.dataPresent ? 1 : 0)
      return
    case "WriteFailure":
      writeCoordinator(w, e)
      writeFailures(w, e, version)
      w.string(e.writeType)
      return
    case "FunctionFailure":
      w.string(e.keyspace)
      w.string(e.function)
      w.stringList(e.argTypes)
      return
    case "CasWriteUnknown":
      if (version < 5) encodeFail("CAS_WRITE_UNKNOWN (0x1700) exists only in protocol v5", "kind")
      writeCoordinator(w, e)
      return
    case "AlreadyExists":
      w.string(e.keyspace)
      w.string(e.table)
      return
    case "Unprepared":
      writeCheckedShortBytes(w, e.id, "id")
      return
    default:
      return
  }
}

const writeFailures = (w: ByteWriter, e: ReadFailure | WriteFailure, version: ProtocolVersion): void => {
  if (version < 5) return writeCheckedInt(w, e.numFailures, "numFailures")
  w.int(e.reasons.length)
  for (let i = 0; i < e.reasons.length; i++) {
    const reason = e.reasons[i]!
    w.inetAddr(reason.endpoint)
    writeCheckedShort(w, reason.code, `reasons[${i}].code`)
  }
}
