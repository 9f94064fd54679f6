/**
 * The optional native LZ4 binding (lz4-napi: Rust lz4_flex, prebuilt per platform, no install script). It frames
 * blocks with a 4-byte little-endian length, which the wrappers below add and strip. When the binding cannot load
 * (a platform without a prebuilt binary), `binding` is undefined and Compression uses the TypeScript codec.
 */
import { createRequire } from "node:module"
import { decodeFail } from "./fail.js"
import { checkExpansion } from "./lz4.js"

interface Binding {
  compressSync(data: Buffer): Buffer
  uncompressSync(data: Buffer): Buffer
}

const load = (): Binding | undefined => {
  try {
    return createRequire(import.meta.url)("lz4-napi") as Binding
  } catch {
    return undefined
  }
}

export const binding = load()

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length))

/** 4 bytes the caller overwrites (with a length or not at all) followed by the raw block. */
export const compressPrefixed = (native: Binding, src: Uint8Array): Buffer => native.compressSync(asBuffer(src))

/** Decodes a raw block that must expand to exactly `length` bytes (already capped by the caller). */
export const decompress = (native: Binding, block: Uint8Array, length: number): Buffer => {
  checkExpansion(block.length, length)
  const framed = Buffer.allocUnsafe(block.length + 4)
  framed.writeUInt32LE(length, 0)
  framed.set(block, 4)
  const out = native.uncompressSync(framed)
  if (out.length !== length) decodeFail(`LZ4 block expands to ${out.length} bytes, ${length} declared`, 0)
  return out
}
