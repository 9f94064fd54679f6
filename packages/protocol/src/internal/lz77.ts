/**
 * What the LZ4 and Snappy codecs share: byte copies for their decoders, and for their compressors the hash table to find earlier occurrences of 4-byte sequences. Entries
 * are `base + position`; each call starts a new `base` above every entry written before, so old entries read as
 * negative positions (stale) and the 64 KiB table never has to be cleared per call. Compressors run to completion
 * synchronously, so one table serves both.
 */
import { decodeFail } from "./fail.js"

const HASH_LOG = 14
const HASH_SHIFT = 32 - HASH_LOG

export const table = new Int32Array(1 << HASH_LOG)
let generation = 0

/** Farthest back a match may point (both formats encode it in 16 bits here). */
export const MAX_OFFSET = 65535

/** Starts a compression of `n` bytes; returns the base to add to positions stored in `table`. */
export const startTable = (n: number): number => {
  if (generation > 0x3fffffff - 2 * n - MAX_OFFSET) {
    table.fill(0)
    generation = 0
  }
  const base = generation + MAX_OFFSET + 1
  generation = base + n
  return base
}

/** The 4 bytes at `i` as a little-endian int (caller checks `i + 4 <= length`). */
export const read32 = (b: Uint8Array, i: number): number =>
  b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)

/** Multiplicative hash (Knuth's constant) of a 4-byte sequence to a table index. */
export const hash4 = (v: number): number => Math.imul(v, 2654435761) >>> HASH_SHIFT

/**
 * Looks up an earlier position holding the same 4 bytes as `i` (within `MAX_OFFSET`) and records `i` in its
 * place. Returns that position, or -1 when there is none. `base` comes from `startTable`.
 */
export const findMatch = (src: Uint8Array, i: number, base: number): number => {
  const seq = read32(src, i)
  const h = hash4(seq)
  const ref = table[h]! - base
  table[h] = base + i
  return ref < 0 || i - ref > MAX_OFFSET || read32(src, ref) !== seq ? -1 : ref
}

/** Where the match of `i` against `ref` (first 4 bytes already equal) stops, not going past `limit`. */
export const matchEnd = (src: Uint8Array, i: number, ref: number, limit: number): number => {
  let end = i + 4
  let r = ref + 4
  while (end < limit && src[end] === src[r]) {
    end++
    r++
  }
  return end
}

/**
 * Decoders: copies `len` literal bytes of `src` at `i` (which ends at `end`) into `dst` at `out`, after checking
 * that both have room (`dst` is exactly the declared output length). `format` names the codec in errors.
 */
export const literal = (format: string, src: Uint8Array, i: number, end: number, dst: Uint8Array, out: number, len: number): void => {
  if (len > end - i) decodeFail(`${format} literal of ${len} bytes runs past the input`, i)
  if (len > dst.length - out) decodeFail(`${format} output exceeds the declared ${dst.length} bytes`, i)
  copyIn(dst, out, src, i, len)
}

/** Decoders: appends a match after checking its offset points into the output and its length fits. */
export const match = (format: string, dst: Uint8Array, out: number, offset: number, len: number, at: number): void => {
  if (offset === 0 || offset > out) decodeFail(`${format} match offset ${offset} outside the ${out} bytes decoded`, at)
  if (len > dst.length - out) decodeFail(`${format} output exceeds the declared ${dst.length} bytes`, at)
  copyBack(dst, out, offset, len)
}

/** Copies `len` bytes of `src` from `from` to `dst` at `out` (short runs byte by byte: cheaper than a view). */
export const copyIn = (dst: Uint8Array, out: number, src: Uint8Array, from: number, len: number): void => {
  if (len > 16) dst.set(src.subarray(from, from + len), out)
  else for (let k = 0; k < len; k++) dst[out + k] = src[from + k]!
}

/** Appends at `out` the `len` bytes that start `offset` back (caller checked both are in bounds). */
export const copyBack = (dst: Uint8Array, out: number, offset: number, len: number): void => {
  let from = out - offset
  if (offset >= len) {
    if (len > 32) dst.copyWithin(out, from, from + len)
    else for (let k = 0; k < len; k++) dst[out + k] = dst[from + k]!
    return
  }
  // Overlapping: the copy repeats the last `offset` bytes, so it must run forward one byte at a time.
  const stop = out + len
  while (out < stop) dst[out++] = dst[from++]!
}
