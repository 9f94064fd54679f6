/**
 * The Snappy raw format (google/snappy format_description.txt), written for this codec: a varint uncompressed
 * length, then elements whose tag's low 2 bits say literal (00), copy with 1-byte offset (01), 2-byte (10) or
 * 4-byte (11) offset. The compressor emits literals and 1- or 2-byte-offset copies; the decoder accepts all four
 * and checks every length and offset.
 */
import { decodeFail } from "./fail.js"
import { copyIn, findMatch, literal, match, matchEnd, read32, startTable } from "./lz77.js"

const SKIP_STRENGTH = 5

/** Compresses `src` into a new Buffer in the Snappy raw format. */
export const compress = (src: Uint8Array): Buffer => {
  const n = src.length
  // Worst case per the format: every byte a literal, plus tags and the length varint.
  const dst = Buffer.allocUnsafe(32 + n + Math.floor(n / 6))
  let out = 0
  let v = n
  while (v >= 0x80) {
    dst[out++] = (v & 0x7f) | 0x80
    v >>>= 7
  }
  dst[out++] = v
  let anchor = 0
  if (n >= 8) {
    const base = startTable(n)
    const limit = n - 4
    let i = 0
    let misses = 1 << SKIP_STRENGTH
    while (i <= limit) {
      const ref = findMatch(src, i, base)
      if (ref < 0) {
        i += misses++ >> SKIP_STRENGTH
        continue
      }
      misses = 1 << SKIP_STRENGTH
      const end = matchEnd(src, i, ref, n)
      if (i > anchor) out = writeLiteral(dst, out, src, anchor, i)
      out = writeCopy(dst, out, i - ref, end - i)
      anchor = end
      i = end
    }
  }
  if (anchor < n) out = writeLiteral(dst, out, src, anchor, n)
  return dst.subarray(0, out)
}

const writeLiteral = (dst: Buffer, out: number, src: Uint8Array, from: number, to: number): number => {
  const len = to - from
  const m = len - 1
  if (m < 60) {
    dst[out++] = m << 2
  } else {
    const bytes = m < 0x100 ? 1 : m < 0x10000 ? 2 : m < 0x1000000 ? 3 : 4
    dst[out++] = (59 + bytes) << 2
    for (let k = 0; k < bytes; k++) dst[out++] = (m >>> (8 * k)) & 0xff
  }
  copyIn(dst, out, src, from, len)
  return out + len
}

/** A match of `len` >= 4 bytes at distance `offset` <= 65535, as copies of at most 64 bytes each. */
const writeCopy = (dst: Buffer, out: number, offset: number, len: number): number => {
  while (len >= 68) {
    out = writeCopy2(dst, out, offset, 64)
    len -= 64
  }
  // Leaves at least 4 bytes so the rest can still use the short form.
  if (len > 64) {
    out = writeCopy2(dst, out, offset, 60)
    len -= 60
  }
  if (len < 12 && offset < 2048) {
    dst[out++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5)
    dst[out++] = offset & 0xff
    return out
  }
  return writeCopy2(dst, out, offset, len)
}

const writeCopy2 = (dst: Buffer, out: number, offset: number, len: number): number => {
  dst[out] = 2 | ((len - 1) << 2)
  dst[out + 1] = offset & 0xff
  dst[out + 2] = offset >>> 8
  return out + 3
}

/**
 * Decodes a Snappy raw buffer. The declared length is checked against `maxLength` before anything is allocated,
 * and the output must fill exactly that length. Throws a DecodeError on malformed input.
 */
export const decompress = (src: Uint8Array, maxLength: number): Buffer => {
  const end = src.length
  let i = 0
  let length = 0
  for (let shift = 0; ; shift += 7) {
    if (i >= end) decodeFail("Snappy length truncated", i)
    if (shift > 28) decodeFail("Snappy length varint is too long", i)
    const b = src[i++]!
    length += (b & 0x7f) * 2 ** shift
    if (b < 0x80) break
  }
  if (length > maxLength) decodeFail(`Snappy data declares ${length} bytes, more than the ${maxLength} allowed`, 0)
  // The densest element is a 3-byte copy of 64 bytes: a larger claim cannot be true, so refuse it unallocated.
  if (length > (end - i) * 22) decodeFail(`Snappy data of ${end} bytes cannot expand to ${length}`, 0)
  const dst = Buffer.allocUnsafe(length)
  let out = 0
  while (i < end) {
    const tag = src[i++]!
    const kind = tag & 3
    if (kind === 0) {
      let len = (tag >>> 2) + 1
      if (len > 60) {
        const bytes = len - 60
        if (bytes > end - i) decodeFail("Snappy literal length truncated", i)
        len = 0
        for (let k = 0; k < bytes; k++) len += src[i + k]! * 2 ** (8 * k)
        len += 1
        i += bytes
      }
      literal("Snappy", src, i, end, dst, out, len)
      i += len
      out += len
      continue
    }
    let len: number
    let offset: number
    if (kind === 1) {
      if (i >= end) decodeFail("Snappy copy truncated", i)
      len = ((tag >>> 2) & 7) + 4
      offset = ((tag >>> 5) << 8) | src[i++]!
    } else if (kind === 2) {
      if (end - i < 2) decodeFail("Snappy copy truncated", i)
      len = (tag >>> 2) + 1
      offset = src[i]! | (src[i + 1]! << 8)
      i += 2
    } else {
      if (end - i < 4) decodeFail("Snappy copy truncated", i)
      len = (tag >>> 2) + 1
      offset = read32(src, i) >>> 0
      i += 4
    }
    match("Snappy", dst, out, offset, len, i)
    out += len
  }
  if (out !== length) decodeFail(`Snappy data expands to ${out} bytes, ${length} declared`, i)
  return dst
}
