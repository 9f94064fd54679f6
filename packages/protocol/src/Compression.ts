/**
 * Compression (native_protocol_v4.spec section 5; native_protocol_v5.spec section 2 for segments).
 *
 * - v4: each envelope body is compressed on its own once STARTUP negotiated "lz4" or "snappy". LZ4 bodies are a
 *   4-byte big-endian uncompressed length followed by an LZ4 block; Snappy bodies are the Snappy raw format.
 * - v5: only LZ4, applied to whole segment payloads as a raw block (the segment header carries the length).
 *
 * LZ4 uses the native lz4-napi binding where it loads (2-5x faster than JavaScript on 16-128 KiB payloads, see
 * bench/compression.ts) and otherwise this package's TypeScript block codec; Snappy is this package's TypeScript
 * codec (faster than the native `snappy` package here, and v4 only). Every decoder checks the declared length
 * against the caller's cap before allocating, so hostile input fails with a DecodeError and never makes it
 * allocate more than that cap.
 */
import * as Either from "effect/Either"
import { catchDecode, decodeFail } from "./internal/fail.js"
import * as Lz4 from "./internal/lz4.js"
import * as Lz4Native from "./internal/lz4Native.js"
import * as Snappy from "./internal/snappy.js"
import type { DecodeError } from "./ProtocolError.js"

/** The names STARTUP's COMPRESSION option uses (and SUPPORTED lists). */
export type Name = "lz4" | "snappy"

/**
 * A v4 body compressor. `decompress` never allocates more than `maxLength` bytes, whatever the input claims,
 * and fails with a `DecodeError` on malformed input.
 */
export interface Compressor {
  readonly name: Name
  compress(body: Uint8Array): Buffer
  decompress(body: Uint8Array, maxLength: number): Either.Either<Buffer, DecodeError>
}

/** Which LZ4 implementation this process uses. */
export const lz4Implementation: "lz4-napi" | "typescript" = Lz4Native.binding === undefined ? "typescript" : "lz4-napi"

const native = Lz4Native.binding

/** 4 free bytes, then the raw block of `src`. */
const lz4Prefixed = (src: Uint8Array): Buffer =>
  native === undefined ? Lz4.compress(src, 4) : Lz4Native.compressPrefixed(native, src)

const lz4Decompress = (block: Uint8Array, length: number): Buffer =>
  native === undefined ? Lz4.decompress(block, length) : Lz4Native.decompress(native, block, length)

/** v4 LZ4 bodies: `[int] uncompressed length` (big-endian) + LZ4 block. */
export const lz4: Compressor = {
  name: "lz4",
  compress: (body) => {
    const out = lz4Prefixed(body)
    out.writeInt32BE(body.length, 0)
    return out
  },
  decompress: (body, maxLength) =>
    catchDecode(() => {
      if (body.length < 4) return decodeFail(`LZ4 body of ${body.length} bytes has no length prefix`, 0)
      const length = ((body[0]! << 24) | (body[1]! << 16) | (body[2]! << 8) | body[3]!) | 0
      if (length < 0 || length > maxLength) decodeFail(`LZ4 body declares ${length} bytes, outside 0..${maxLength}`, 0)
      // Some encoders send a bare zero length for an empty body.
      if (length === 0 && body.length === 4) return Buffer.alloc(0)
      return lz4Decompress(body.subarray(4), length)
    })
}

/** v4 Snappy bodies: the Snappy raw format (its own varint length first). */
export const snappy: Compressor = {
  name: "snappy",
  compress: (body) => Snappy.compress(body),
  decompress: (body, maxLength) => catchDecode(() => Snappy.decompress(body, maxLength))
}

/** The compressor STARTUP negotiates under `name`, if this package has it. */
export const byName = (name: string): Compressor | undefined =>
  name === "lz4" ? lz4 : name === "snappy" ? snappy : undefined

/** v5 segment payloads: a raw LZ4 block, no length prefix (the segment header holds both lengths). */
export const lz4Block = {
  compress: (payload: Uint8Array): Buffer => lz4Prefixed(payload).subarray(4),
  /** `length` is the exact uncompressed length from the segment header; the caller caps it. */
  decompress: (block: Uint8Array, length: number): Either.Either<Buffer, DecodeError> =>
    catchDecode(() => lz4Decompress(block, length))
} as const
