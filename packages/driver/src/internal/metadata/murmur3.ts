/**
 * The Murmur3Partitioner token: MurmurHash3 x64 128-bit with seed 0, first 64 bits (Cassandra's
 * `MurmurHash.hash3_x64_128` and `Murmur3Partitioner.getToken`).
 *
 * Written over 32-bit halves so that hashing a routing key allocates nothing: a BigInt version costs an
 * allocation per 64-bit operation. The halves are kept as signed 32-bit integers, which V8 stores unboxed (small
 * integers): an unsigned half above 2^31 written to a module-level register is a new heap number each time. The result lands in `token.hi` (signed) and `token.lo` (unsigned), which
 * order like the signed 64-bit token when compared hi first.
 */

/** The last computed token: `hi` as a signed 32-bit integer, `lo` as an unsigned one. */
export const token = { hi: 0, lo: 0 }

// Registers of the last 64-bit operation, both halves signed.
let rh = 0
let rl = 0

/** (ah:al) * (bh:bl) mod 2^64. The low halves' full product is built from 16-bit pieces (exact in doubles). */
const mul = (ah: number, al: number, bh: number, bl: number): void => {
  const a0 = al & 0xffff
  const a1 = al >>> 16
  const b0 = bl & 0xffff
  const b1 = bl >>> 16
  const p00 = a0 * b0
  const p01 = a0 * b1
  const p10 = a1 * b0
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  rl = (mid << 16) | (p00 & 0xffff)
  rh = (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16) + Math.imul(al, bh) + Math.imul(ah, bl)) | 0
}

const add = (ah: number, al: number, bh: number, bl: number): void => {
  const lo = (al >>> 0) + (bl >>> 0)
  rl = lo | 0
  rh = (ah + bh + (lo > 0xffffffff ? 1 : 0)) | 0
}

/** Rotate left by n, 0 < n < 32. */
const rotl = (h: number, l: number, n: number): void => {
  rh = (h << n) | (l >>> (32 - n))
  rl = (l << n) | (h >>> (32 - n))
}

// The constants, split into halves.
const C1H = 0x87c37b91
const C1L = 0x114253d5
const C2H = 0x4cf5ad43
const C2L = 0x2745937f
const F1H = 0xff51afd7
const F1L = 0xed558ccd
const F2H = 0xc4ceb9fe
const F2L = 0x1a85ec53

/** fmix64: k ^= k >>> 33; k *= F1; k ^= k >>> 33; k *= F2; k ^= k >>> 33. */
const fmix = (h: number, l: number): void => {
  mul(h, l ^ (h >>> 1), F1H, F1L)
  mul(rh, rl ^ (rh >>> 1), F2H, F2L)
  rl = rl ^ (rh >>> 1)
}

/** k1 *= c1; k1 = rotl(k1, 31); k1 *= c2 */
const mixK1 = (h: number, l: number): void => {
  mul(h, l, C1H, C1L)
  rotl(rh, rl, 31)
  mul(rh, rl, C2H, C2L)
}

/** k2 *= c2; k2 = rotl(k2, 33); k2 *= c1 (a rotation by 33 is a swap of the halves and a rotation by 1). */
const mixK2 = (h: number, l: number): void => {
  mul(h, l, C2H, C2L)
  rotl(rl, rh, 1)
  mul(rh, rl, C1H, C1L)
}

/** With a mixed block k in the registers: h = rotl(h ^ k, r) + other; h = h * 5 + c. */
const round = (hh: number, hl: number, r: number, oh: number, ol: number, c: number): void => {
  rotl(hh ^ rh, hl ^ rl, r)
  add(rh, rl, oh, ol)
  mul(rh, rl, 0, 5)
  add(rh, rl, 0, c)
}

const le32 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)

/**
 * Hashes `key` into `token`. Cassandra quirks kept on purpose: tail bytes are sign-extended (Java's
 * `(long) byte`), the token Long.MIN_VALUE becomes Long.MAX_VALUE (MIN is reserved as the ring's minimum), and an
 * empty key has the minimum token.
 */
export const murmur3 = (key: Uint8Array): void => {
  const length = key.length
  if (length === 0) {
    token.hi = -0x80000000
    token.lo = 0
    return
  }
  let h1h = 0
  let h1l = 0
  let h2h = 0
  let h2l = 0
  const blocks = length >>> 4
  for (let i = 0; i < blocks; i++) {
    const o = i << 4
    mixK1(le32(key, o + 4), le32(key, o))
    round(h1h, h1l, 27, h2h, h2l, 0x52dce729)
    h1h = rh
    h1l = rl
    mixK2(le32(key, o + 12), le32(key, o + 8))
    round(h2h, h2l, 31, h1h, h1l, 0x38495ab5)
    h2h = rh
    h2l = rl
  }
  const tail = length & 15
  if (tail > 0) {
    const base = blocks << 4
    let k1h = 0
    let k1l = 0
    let k2h = 0
    let k2l = 0
    for (let j = 0; j < tail; j++) {
      const b = key[base + j]!
      // (long) b, sign-extended, shifted left by 8 * (j mod 8)
      const sh = b < 0x80 ? 0 : -1
      const sl = b < 0x80 ? b : 0xffffff00 | b
      const s = (j & 7) << 3
      let vh: number
      let vl: number
      if (s === 0) {
        vh = sh
        vl = sl
      } else if (s < 32) {
        vh = (sh << s) | (sl >>> (32 - s))
        vl = sl << s
      } else {
        vh = sl << (s - 32)
        vl = 0
      }
      if (j < 8) {
        k1h ^= vh
        k1l ^= vl
      } else {
        k2h ^= vh
        k2l ^= vl
      }
    }
    if (tail > 8) {
      mixK2(k2h, k2l)
      h2h ^= rh
      h2l ^= rl
    }
    mixK1(k1h, k1l)
    h1h ^= rh
    h1l ^= rl
  }
  // Finalization: h1 ^= len; h2 ^= len; h1 += h2; h2 += h1; fmix both; h1 += h2.
  h1l ^= length
  h2l ^= length
  add(h1h, h1l, h2h, h2l)
  h1h = rh
  h1l = rl
  add(h2h, h2l, h1h, h1l)
  h2h = rh
  h2l = rl
  fmix(h1h, h1l)
  h1h = rh
  h1l = rl
  fmix(h2h, h2l)
  add(h1h, h1l, rh, rl)
  if (rh === -0x80000000 && rl === 0) {
    token.hi = 0x7fffffff
    token.lo = 0xffffffff
  } else {
    token.hi = rh
    token.lo = rl >>> 0
  }
}
