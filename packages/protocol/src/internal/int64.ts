/**
 * Big-endian 64-bit integers as bigints, through one 8-byte scratch array. Buffer's `writeBigInt64BE` and
 * `readBigInt64BE` take 70-180 ns a call here (they split the bigint with bigint arithmetic); storing into a
 * BigInt64Array element is a V8 builtin, and the bytes are then copied in the wire's order: 10-35 ns. Every request
 * writes one (its timestamp), and every bigint, counter, time or far timestamp cell is one.
 *
 * Callers check the range: a BigInt64Array stores its value modulo 2^64, where Buffer's methods would throw.
 */
export const INT64_MIN = -(2n ** 63n)
export const INT64_MAX = 2n ** 63n - 1n

const scratch = new BigInt64Array(1)
const bytes = new Uint8Array(scratch.buffer)
// The element's bytes are in the host's order; every platform Node ships for is little-endian, but stay correct.
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

export const writeInt64BE = (b: Uint8Array, v: bigint, o: number): void => {
  scratch[0] = v
  if (littleEndian) {
    b[o] = bytes[7]!
    b[o + 1] = bytes[6]!
    b[o + 2] = bytes[5]!
    b[o + 3] = bytes[4]!
    b[o + 4] = bytes[3]!
    b[o + 5] = bytes[2]!
    b[o + 6] = bytes[1]!
    b[o + 7] = bytes[0]!
  } else {
    b.set(bytes, o)
  }
}

export const readInt64BE = (b: Uint8Array, o: number): bigint => {
  if (littleEndian) {
    bytes[0] = b[o + 7]!
    bytes[1] = b[o + 6]!
    bytes[2] = b[o + 5]!
    bytes[3] = b[o + 4]!
    bytes[4] = b[o + 3]!
    bytes[5] = b[o + 2]!
    bytes[6] = b[o + 1]!
    bytes[7] = b[o]!
  } else {
    bytes.set(b.subarray(o, o + 8))
  }
  return scratch[0]!
}
