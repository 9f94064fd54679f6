/**
 * Test vectors are written byte by byte from the spec notations (section 3), independently of ByteWriter, so that
 * a test compares the codec against the spec and not against itself.
 */
export type Part = number | ReadonlyArray<number> | Uint8Array

/** Concatenates bytes, arrays of bytes and buffers. */
export const bytes = (...parts: ReadonlyArray<Part>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === "number" ? Buffer.from([p]) : Buffer.from(p as ArrayLike<number>))))

export const short = (n: number): Array<number> => [(n >> 8) & 0xff, n & 0xff]
export const int = (n: number): Array<number> => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
export const long = (n: bigint): Array<number> => {
  const u = BigInt.asUintN(64, n)
  return Array.from({ length: 8 }, (_, i) => Number((u >> BigInt(56 - 8 * i)) & 0xffn))
}
/** [string] */
export const str = (s: string): Buffer => bytes(short(Buffer.byteLength(s)), Buffer.from(s, "utf8"))
/** [long string] */
export const longStr = (s: string): Buffer => bytes(int(Buffer.byteLength(s)), Buffer.from(s, "utf8"))
/** [string list] */
export const strList = (...l: ReadonlyArray<string>): Buffer => bytes(short(l.length), ...l.map(str))
/** [bytes] / [value]; null is length -1. */
export const blob = (b: ReadonlyArray<number> | null): Buffer => (b === null ? bytes(int(-1)) : bytes(int(b.length), b))
/** [short bytes] */
export const shortBlob = (b: ReadonlyArray<number>): Buffer => bytes(short(b.length), b)
