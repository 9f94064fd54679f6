/**
 * The two checksums of v5 segments (native_protocol_v5.spec section 2): CRC24 over the segment header and
 * CRC32 over the payload.
 */
import * as zlib from "node:zlib"

const CRC24_INIT = 0x875060
const CRC24_POLY = 0x1974f0b

/** Byte-at-a-time table for the MSB-first CRC24: entry i is the register change caused by top byte i. */
const crc24Table = (() => {
  const t = new Int32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i << 16
    for (let k = 0; k < 8; k++) {
      c <<= 1
      if ((c & 0x1000000) !== 0) c ^= CRC24_POLY
    }
    t[i] = c & 0xffffff
  }
  return t
})()

/** CRC24 of `b[start..end)`: header bytes are fed in wire order (little-endian), as the server does. */
export const crc24 = (b: Uint8Array, start: number, end: number): number => {
  let crc = CRC24_INIT
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffffff) ^ crc24Table[((crc >>> 16) ^ b[i]!) & 0xff]!
  return crc
}

/** Slicing-by-8 tables for the reflected IEEE CRC32 (polynomial 0xEDB88320). */
const crc32Tables = (() => {
  const t = new Int32Array(8 * 256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[i] = c
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) {
      const prev = t[(s - 1) * 256 + i]!
      t[s * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!
    }
  }
  return t
})()

/**
 * IEEE CRC32 in JavaScript, continuing from `crc` (a finished CRC32 value, 0 to start) like zlib's crc32.
 * Used where Node's `zlib.crc32` is missing (before Node 20.15 / 22.2).
 */
export const crc32Js = (b: Uint8Array, crc = 0): number => {
  const t = crc32Tables
  let c = ~crc
  let i = 0
  const n = b.length
  for (const stop = n - 8; i <= stop; i += 8) {
    const a = c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + b[i + 4]!]! ^
      t[512 + b[i + 5]!]! ^
      t[256 + b[i + 6]!]! ^
      t[b[i + 7]!]!
  }
  for (; i < n; i++) c = t[(c ^ b[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

/** Node's native crc32 where this Node has it. */
export const nativeCrc32: ((b: Uint8Array, crc?: number) => number) | undefined =
  typeof zlib.crc32 === "function" ? zlib.crc32 : undefined

/** IEEE CRC32 continuing from `crc`: Node's native one when present, else `crc32Js`. */
export const crc32: (b: Uint8Array, crc?: number) => number = nativeCrc32 ?? crc32Js

/**
 * The segment payload CRC32 starts from the CRC of the bytes FA 2D 55 CA. The spec text does not say so; the
 * server (and the Java and Python drivers) seed it this way.
 */
export const SEGMENT_CRC32_SEED = crc32(Uint8Array.of(0xfa, 0x2d, 0x55, 0xca))
