/**
 * Values of every CQL type <-> their [value] bytes (native_protocol_v5.spec 6 "Data Type Serialization Formats").
 *
 * CONTRACT (used by the message codec): `writeValue` / `readValue` for one [value] with its length,
 * `codecFor` for precomputed per-type codecs, `inferType` for values bound without types,
 * and the Either-returning `encode` / `decode` for one value's bytes.
 */
import type * as Either from "effect/Either"
import type { DataType } from "./DataType.js"
import type { ByteReader } from "./internal/reader.js"
import type { ByteWriter } from "./internal/writer.js"
import type { DecodeError, EncodeError } from "./ProtocolError.js"

/** The "not set" bound value ([value] length -2): the column keeps what it had. */
export declare const unset: unique symbol
export type Unset = typeof unset

/** A codec built once per DataType (and cached), so that decoding a row is a loop over precomputed functions. */
export interface Codec {
  readonly type: DataType
  /** Writes a [value]: its [int] length (-1 null, -2 unset) then its bytes. `path` names the value in errors. */
  readonly encode: (w: ByteWriter, value: unknown, path: string) => void
  /** Decodes the `len` bytes of a non-null value starting at `start`. Throws DecodeError. */
  readonly decode: (buf: Buffer, start: number, len: number) => unknown
}

export declare const codecFor: (type: DataType) => Codec
export declare const writeValue: (w: ByteWriter, type: DataType, value: unknown, path: string) => void
export declare const readValue: (r: ByteReader, type: DataType) => unknown
export declare const inferType: (value: unknown) => DataType
export declare const encode: (type: DataType, value: unknown) => Either.Either<Buffer | null, EncodeError>
export declare const decode: (type: DataType, bytes: Buffer | null) => Either.Either<unknown, DecodeError>
