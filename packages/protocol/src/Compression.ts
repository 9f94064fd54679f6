/**
 * Compression (native_protocol_v4.spec section 5; native_protocol_v5.spec section 2 for segments).
 */
import type * as Either from "effect/Either"
import type { DecodeError } from "./ProtocolError.js"

/**
 * A v4 body compressor, as negotiated with STARTUP's COMPRESSION option. `decompress` never allocates more than
 * `maxLength` bytes, whatever the input claims, and fails with a `DecodeError` on malformed input.
 */
export interface Compressor {
  readonly name: "lz4" | "snappy"
  compress(body: Uint8Array): Buffer
  decompress(body: Uint8Array, maxLength: number): Either.Either<Buffer, DecodeError>
}
