/**
 * UUID values for the CQL `uuid` and `timeuuid` types (RFC 4122; native_protocol_v5.spec 6.19, 6.22).
 *
 * Representation: the 128 bits as four unsigned 32-bit words. Decoding a column is then four integer reads and one
 * small object, with no string or Buffer per value; the text form is built on first use and cached. Two Uuids
 * with the same bits are `Equal.equals` (and hash alike), so they work as keys of Effect's HashMap/HashSet.
 */
import { randomFillSync } from "node:crypto"
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as Option from "effect/Option"

const hexByte: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

const hex32 = (w: number): string =>
  hexByte[w >>> 24]! + hexByte[(w >>> 16) & 0xff]! + hexByte[(w >>> 8) & 0xff]! + hexByte[w & 0xff]!

const hex16 = (w: number): string => hexByte[(w >>> 8) & 0xff]! + hexByte[w & 0xff]!

/** Where the text form is cached: a non-enumerable symbol, so that structural comparisons see only the bits. */
const textKey = Symbol("text")

export class Uuid implements Equal.Equal {
  declare private [textKey]?: string

  /**
   * The four 32-bit words, most significant first, kept as signed 32-bit integers (`| 0` of the unsigned value):
   * small integers live inside the object, where values up to 2^32 would each need a heap number.
   */
  readonly w0: number
  readonly w1: number
  readonly w2: number
  readonly w3: number

  constructor(w0: number, w1: number, w2: number, w3: number) {
    this.w0 = w0 | 0
    this.w1 = w1 | 0
    this.w2 = w2 | 0
    this.w3 = w3 | 0
  }

  /** The RFC 4122 version nibble: 1 for a timeuuid, 4 for a random one. */
  get version(): number {
    return (this.w1 >>> 12) & 0xf
  }

  /** Canonical lower-case form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
  toString(): string {
    const cached = this[textKey]
    if (cached !== undefined) return cached
    const text = `${hex32(this.w0)}-${hex16(this.w1 >>> 16)}-${hex16(this.w1)}-${hex16(this.w2 >>> 16)}-${hex16(this.w2)}${hex32(this.w3)}`
    Object.defineProperty(this, textKey, { value: text })
    return text
  }

  toJSON(): string {
    return this.toString()
  }

  /** A new 16-byte Buffer. */
  toBytes(): Buffer {
    const b = Buffer.allocUnsafe(16)
    writeUuid(b, 0, this)
    return b
  }

  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof Uuid && that.w0 === this.w0 && that.w1 === this.w1 && that.w2 === this.w2 && that.w3 === this.w3
  }

  [Hash.symbol](): number {
    return Hash.cached(this, Hash.string(this.toString()))
  }
}

export const isUuid = (u: unknown): u is Uuid => u instanceof Uuid

/** Reads 16 bytes at `offset` (the caller checks the bounds). */
export const readUuid = (buf: Buffer, offset: number): Uuid =>
  new Uuid(
    buf.readInt32BE(offset),
    buf.readInt32BE(offset + 4),
    buf.readInt32BE(offset + 8),
    buf.readInt32BE(offset + 12)
  )

/** Writes 16 bytes at `offset` (the caller ensures room). */
export const writeUuid = (buf: Buffer, offset: number, u: Uuid): void => {
  buf.writeInt32BE(u.w0, offset)
  buf.writeInt32BE(u.w1, offset + 4)
  buf.writeInt32BE(u.w2, offset + 8)
  buf.writeInt32BE(u.w3, offset + 12)
}

export const fromBytes = (bytes: Uint8Array): Option.Option<Uuid> =>
  bytes.length === 16
    ? Option.some(readUuid(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0))
    : Option.none()

const canonical = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Parses the canonical 36-character form (either case). */
export const fromString = (s: string): Option.Option<Uuid> => {
  if (!canonical.test(s)) return Option.none()
  const u = new Uuid(
    parseInt(s.slice(0, 8), 16),
    parseInt(s.slice(9, 13) + s.slice(14, 18), 16),
    parseInt(s.slice(19, 23) + s.slice(24, 28), 16),
    parseInt(s.slice(28, 36), 16)
  )
  return Option.some(u)
}

/** Like `fromString`, but throws a TypeError on malformed text. */
export const unsafeFromString = (s: string): Uuid =>
  Option.getOrThrowWith(fromString(s), () => new TypeError(`not a UUID: ${JSON.stringify(s)}`))

export const nil: Uuid = new Uuid(0, 0, 0, 0)

// Random bytes are drawn in blocks: one crypto call serves 256 UUIDs.
const pool = Buffer.allocUnsafe(4096)
let poolOffset = pool.length

const randomWords = (): number => {
  if (poolOffset === pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const at = poolOffset
  poolOffset += 16
  return at
}

/** A random (version 4) UUID from the crypto generator. */
export const random = (): Uuid => {
  const at = randomWords()
  return new Uuid(
    pool.readInt32BE(at),
    (pool.readInt32BE(at + 4) & 0xffff0fff) | 0x4000,
    (pool.readInt32BE(at + 8) & 0x3fffffff) | 0x80000000,
    pool.readInt32BE(at + 12)
  )
}

/** 100-ns intervals between the Gregorian reform (1582-10-15, the UUID epoch) and the Unix epoch. */
const gregorianOffset = 0x01b21dd213814000n
const maxTicks = (1n << 60n) - 1n

/**
 * This process's clock sequence and node: random (RFC 4122 4.5: the node gets its multicast bit set so that it
 * cannot collide with a real MAC address), drawn once.
 */
const processClockSeqAndNode = (() => {
  const b = Buffer.allocUnsafe(8)
  randomFillSync(b)
  return {
    hi: (b.readInt32BE(0) & 0x3fff0000) | 0x80000000 | 0x0100,
    lo: b.readInt32BE(4)
  }
})()

/** Builds a version 1 UUID from 60-bit ticks (100 ns since the UUID epoch) and the low 64 bits. */
const fromTicks = (ticks: bigint, hi: number, lo: number): Uuid => {
  const t = Number(ticks & 0xffffffffn)
  const mid = Number((ticks >> 32n) & 0xffffn)
  const high = Number((ticks >> 48n) & 0x0fffn)
  return new Uuid(t, (mid << 16) | 0x1000 | high, hi, lo)
}

const ticksAt = (millis: number): bigint => {
  if (!Number.isInteger(millis)) throw new RangeError(`not a time in whole milliseconds: ${millis}`)
  const ticks = BigInt(millis) * 10000n + gregorianOffset
  if (ticks < 0n || ticks > maxTicks) throw new RangeError(`time ${millis} ms cannot be held in a timeuuid`)
  return ticks
}

const millisOf = (at: Date | number): number => (typeof at === "number" ? at : at.getTime())

let lastTicks = 0n

/**
 * A new version 1 (time-based) UUID for now. Ticks are monotonic in this process: calls within one millisecond
 * (or after the wall clock stepped back) take the next 100-ns tick, so UUIDs made here are unique and ordered.
 */
export const now = (): Uuid => {
  let ticks = ticksAt(Date.now())
  if (ticks <= lastTicks) ticks = lastTicks + 1n
  lastTicks = ticks
  return fromTicks(ticks, processClockSeqAndNode.hi, processClockSeqAndNode.lo)
}

/**
 * A version 1 UUID for a given time, with this process's clock sequence and node; `subMillisTicks` (0..9999)
 * picks the 100-ns tick within the millisecond. Throws a RangeError for a time a timeuuid cannot hold.
 */
export const fromTime = (at: Date | number, subMillisTicks = 0): Uuid => {
  if (!Number.isInteger(subMillisTicks) || subMillisTicks < 0 || subMillisTicks > 9999) {
    throw new RangeError(`sub-millisecond ticks must be 0..9999, got ${subMillisTicks}`)
  }
  return fromTicks(ticksAt(millisOf(at)) + BigInt(subMillisTicks), processClockSeqAndNode.hi, processClockSeqAndNode.lo)
}

/**
 * The smallest timeuuid of a millisecond as Cassandra orders them (CQL `minTimeuuid`): Cassandra compares the low
 * 64 bits as signed bytes, so the smallest is eight bytes of 0x80 and the largest eight bytes of 0x7f.
 */
export const minTimeUuid = (at: Date | number): Uuid => fromTicks(ticksAt(millisOf(at)), 0x80808080, 0x80808080)

/** The largest timeuuid of a millisecond (CQL `maxTimeuuid`). */
export const maxTimeUuid = (at: Date | number): Uuid =>
  fromTicks(ticksAt(millisOf(at)) + 9999n, 0x7f7f7f7f, 0x7f7f7f7f)

/** The 60-bit timestamp of a version 1 UUID: 100-ns intervals since 1582-10-15. None for other versions. */
export const ticksOf = (u: Uuid): Option.Option<bigint> =>
  u.version !== 1
    ? Option.none()
    : Option.some((BigInt(u.w1 & 0x0fff) << 48n) | (BigInt(u.w1 >>> 16) << 32n) | BigInt(u.w0 >>> 0))

/** The time of a version 1 UUID, to the millisecond (`unixTimestampOf` in CQL). None for other versions. */
export const timeOf = (u: Uuid): Option.Option<Date> =>
  Option.map(ticksOf(u), (ticks) => {
    const ms = (ticks - gregorianOffset) / 10000n
    // Truncating division rounds toward zero; times before 1970 need the floor.
    const floor = ticks < gregorianOffset && (ticks - gregorianOffset) % 10000n !== 0n ? ms - 1n : ms
    return new Date(Number(floor))
  })
