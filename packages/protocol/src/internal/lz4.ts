/**
 * The LZ4 block format (lz4 project's "LZ4 Block Format Description"), written for this codec: a greedy
 * single-probe compressor like the reference "fast" mode and a decoder that checks every length against both
 * buffers. Sequences are `token [literal length bytes] literals offset(2, LE) [match length bytes]`; the last
 * sequence holds literals only.
 */
import { decodeFail } from "./fail.js"
import { copyIn, findMatch, hash4, literal, match, matchEnd, read32, startTable, table } from "./lz77.js"

const MIN_MATCH = 4
/** A match may not start within the last 12 bytes and the last 5 bytes are always literals (format rules). */
const MF_LIMIT = 12
const LAST_LITERALS = 5
/** After this many misses in a row the search step grows, so incompressible data is skipped quickly. */
const SKIP_STRENGTH = 6

/** The largest output `compress` can produce for `n` input bytes. */
export const compressBound = (n: number): number => n + Math.floor(n / 255) + 16

/** Compresses `src` into a new raw block (no length prefix), `reserve` free bytes before it for a caller's header. */
export const compress = (src: Uint8Array, reserve = 0): Buffer => {
  const n = src.length
  const dst = Buffer.allocUnsafe(reserve + compressBound(n))
  let out = reserve
  let anchor = 0
  if (n >= MF_LIMIT + 1) {
    const base = startTable(n)
    const limit = n - MF_LIMIT
    const matchLimit = n - LAST_LITERALS
    let i = 0
    let misses = 1 << SKIP_STRENGTH
    while (i < limit) {
      const ref = findMatch(src, i, base)
      if (ref < 0) {
        i += misses++ >> SKIP_STRENGTH
        continue
      }
      misses = 1 << SKIP_STRENGTH
      let start = i
      let from = ref
      // Extend backwards over literals that also match.
      while (start > anchor && from > 0 && src[start - 1] === src[from - 1]) {
        start--
        from--
      }
      const end = matchEnd(src, i, ref, matchLimit)
      out = writeSequence(dst, out, src, anchor, start, start - from, end - start)
      anchor = end
      i = end
      // Index the position just before the next search start, which often begins the next match.
      if (i - 2 >= 0 && i < limit) table[hash4(read32(src, i - 2))] = base + i - 2
    }
  }
  out = writeLiterals(dst, out, src, anchor, n)
  return dst.subarray(0, out)
}

const writeLength = (dst: Buffer, out: number, extra: number): number => {
  while (extra >= 255) {
    dst[out++] = 255
    extra -= 255
  }
  dst[out++] = extra
  return out
}

const writeSequence = (
  dst: Buffer,
  out: number,
  src: Uint8Array,
  litStart: number,
  litEnd: number,
  offset: number,
  matchLength: number
): number => {
  const lit = litEnd - litStart
  const ml = matchLength - MIN_MATCH
  const tokenAt = out++
  dst[tokenAt] = ((lit >= 15 ? 15 : lit) << 4) | (ml >= 15 ? 15 : ml)
  if (lit >= 15) out = writeLength(dst, out, lit - 15)
  copyIn(dst, out, src, litStart, lit)
  out += lit
  dst[out++] = offset & 0xff
  dst[out++] = offset >>> 8
  if (ml >= 15) out = writeLength(dst, out, ml - 15)
  return out
}

const writeLiterals = (dst: Buffer, out: number, src: Uint8Array, from: number, to: number): number => {
  const lit = to - from
  dst[out++] = (lit >= 15 ? 15 : lit) << 4
  if (lit >= 15) out = writeLength(dst, out, lit - 15)
  copyIn(dst, out, src, from, lit)
  return out + lit
}

/**
 * Each input byte yields at most 255 output bytes (a length byte of 255), so a larger claim is a lie: refusing it
 * before allocating keeps a few hostile bytes from reserving up to the cap.
 */
export const checkExpansion = (blockLength: number, length: number): void => {
  if (length > blockLength * 255 + 24) decodeFail(`LZ4 block of ${blockLength} bytes cannot expand to ${length}`, 0)
}

/**
 * Decodes a raw block that must expand to exactly `length` bytes (the caller has already capped `length`).
 * Allocates `length` bytes once, and only if the block is long enough to expand that far; throws a DecodeError on any malformed or mis-sized input, never reads or
 * writes out of bounds.
 */
export const decompress = (src: Uint8Array, length: number): Buffer => {
  checkExpansion(src.length, length)
  const dst = Buffer.allocUnsafe(length)
  const end = src.length
  let i = 0
  let out = 0
  for (;;) {
    // A block always ends with a literals-only sequence, so input ending right after a match is truncated.
    if (i >= end) decodeFail("LZ4 block ends without its final literals", i)
    const token = src[i++]!
    let lit = token >>> 4
    if (lit === 15) {
      let b = 255
      while (b === 255) {
        if (i >= end) decodeFail("LZ4 literal length runs past the input", i)
        b = src[i++]!
        lit += b
      }
    }
    literal("LZ4", src, i, end, dst, out, lit)
    i += lit
    out += lit
    if (i === end) break
    if (end - i < 2) decodeFail("LZ4 match offset truncated", i)
    const offset = src[i]! | (src[i + 1]! << 8)
    i += 2
    let ml = (token & 15) + MIN_MATCH
    if ((token & 15) === 15) {
      let b = 255
      while (b === 255) {
        if (i >= end) decodeFail("LZ4 match length runs past the input", i)
        b = src[i++]!
        ml += b
      }
    }
    match("LZ4", dst, out, offset, ml, i)
    out += ml
  }
  if (out !== length) decodeFail(`LZ4 block expands to ${out} bytes, ${length} declared`, i)
  return dst
}
