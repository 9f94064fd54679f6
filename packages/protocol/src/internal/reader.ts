/**
 * A cursor over one Buffer for the notations of native_protocol_v5.spec section 3 ([int], [string], [bytes], ...).
 * Every read checks the remaining length first, so a hostile length fails with a DecodeError instead of
 * reading past the end or allocating what the length asks for.
 */
import { decodeFail } from "./fail.js"
import { readInt64BE } from "./int64.js"

export class ByteReader {
  offset: number
  readonly end: number

  constructor(
    readonly buf: Buffer,
    offset = 0,
    end = buf.length
  ) {
    this.offset = offset
    this.end = end
  }

  get remaining(): number {
    return this.end - this.offset
  }

  need(n: number): void {
    if (n < 0 || this.offset + n > this.end) {
      decodeFail(`need ${n} bytes at offset ${this.offset}, only ${this.end - this.offset} left`, this.offset)
    }
  }

  /** Fails unless the whole input was consumed: trailing bytes mean the message was misread. */
  expectEnd(what: string): void {
    if (this.offset !== this.end) decodeFail(`${this.end - this.offset} unexpected trailing bytes after ${what}`, this.offset)
  }

  byte(): number {
    this.need(1)
    return this.buf[this.offset++]!
  }

  /** [short]: unsigned 16 bits. */
  short(): number {
    this.need(2)
    const v = this.buf.readUInt16BE(this.offset)
    this.offset += 2
    return v
  }

  /** A signed 16-bit value (stream ids, smallint). */
  signedShort(): number {
    this.need(2)
    const v = this.buf.readInt16BE(this.offset)
    this.offset += 2
    return v
  }

  int(): number {
    this.need(4)
    const v = this.buf.readInt32BE(this.offset)
    this.offset += 4
    return v
  }

  long(): bigint {
    this.need(8)
    const v = readInt64BE(this.buf, this.offset)
    this.offset += 8
    return v
  }

  /** Takes n raw bytes as a view (no copy). */
  slice(n: number): Buffer {
    this.need(n)
    const start = this.offset
    this.offset += n
    return this.buf.subarray(start, this.offset)
  }

  /** A count that is followed by at least `minBytesEach` bytes per item: rejects absurd counts before allocating. */
  count(n: number, minBytesEach: number, what: string): number {
    if (n < 0) decodeFail(`negative ${what} count ${n}`, this.offset)
    if (n * minBytesEach > this.end - this.offset) {
      decodeFail(`${what} count ${n} exceeds the ${this.end - this.offset} bytes left`, this.offset)
    }
    return n
  }

  utf8(n: number): string {
    this.need(n)
    const start = this.offset
    this.offset += n
    return this.buf.toString("utf8", start, this.offset)
  }

  /** [string] */
  string(): string {
    return this.utf8(this.short())
  }

  /** [long string] */
  longString(): string {
    const n = this.int()
    if (n < 0) decodeFail(`negative [long string] length ${n}`, this.offset - 4)
    return this.utf8(n)
  }

  /** [bytes]: null for a negative length. */
  bytes(): Buffer | null {
    const n = this.int()
    return n < 0 ? null : this.slice(n)
  }

  /** [short bytes] */
  shortBytes(): Buffer {
    return this.slice(this.short())
  }

  /** [string list] */
  stringList(): Array<string> {
    const n = this.count(this.short(), 2, "[string list]")
    const out = new Array<string>(n)
    for (let i = 0; i < n; i++) out[i] = this.string()
    return out
  }

  // Maps are prototype-less objects: a peer's "__proto__" key is then a plain key, not a prototype swap.

  /** [string map] */
  stringMap(): Record<string, string> {
    const n = this.count(this.short(), 4, "[string map]")
    const out: Record<string, string> = Object.create(null)
    for (let i = 0; i < n; i++) {
      const k = this.string()
      out[k] = this.string()
    }
    return out
  }

  /** [string multimap] */
  stringMultimap(): Record<string, Array<string>> {
    const n = this.count(this.short(), 4, "[string multimap]")
    const out: Record<string, Array<string>> = Object.create(null)
    for (let i = 0; i < n; i++) {
      const k = this.string()
      out[k] = this.stringList()
    }
    return out
  }

  /** [bytes map] */
  bytesMap(): Record<string, Buffer | null> {
    const n = this.count(this.short(), 6, "[bytes map]")
    const out: Record<string, Buffer | null> = Object.create(null)
    for (let i = 0; i < n; i++) {
      const k = this.string()
      out[k] = this.bytes()
    }
    return out
  }

  /** [uuid] as a 16-byte view. */
  uuid(): Buffer {
    return this.slice(16)
  }

  /** [inetaddr]: the address as text. */
  inetAddr(): string {
    const n = this.byte()
    if (n !== 4 && n !== 16) decodeFail(`[inetaddr] of ${n} bytes`, this.offset - 1)
    return formatInet(this.slice(n))
  }

  /** [inet]: address and port. */
  inet(): { readonly address: string; readonly port: number } {
    const address = this.inetAddr()
    return { address, port: this.int() }
  }

  /** [unsigned vint] (spec 3, "[unsigned vint]"): the count of leading 1 bits in the first byte gives the extra bytes. */
  unsignedVint(): bigint {
    const first = this.byte()
    if (first < 0x80) return BigInt(first)
    let extra = 0
    while (extra < 8 && (first & (0x80 >> extra)) !== 0) extra++
    this.need(extra)
    let v = BigInt(extra === 8 ? 0 : first & (0xff >> (extra + 1)))
    for (let i = 0; i < extra; i++) v = (v << 8n) | BigInt(this.buf[this.offset++]!)
    return v
  }

  /** [vint]: zig-zag encoded signed 64-bit. */
  vint(): bigint {
    const u = this.unsignedVint()
    return BigInt.asIntN(64, (u >> 1n) ^ -(u & 1n))
  }
}

export const formatInet = (b: Uint8Array): string => {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
  const parts = new Array<string>(8)
  for (let i = 0; i < 8; i++) parts[i] = ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)
  return compressIpv6(parts)
}

/** RFC 5952 text form: the longest run of two or more zero groups becomes "::". */
const compressIpv6 = (parts: Array<string>): string => {
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (parts[i] !== "0") {
      i++
      continue
    }
    let j = i
    while (j < 8 && parts[j] === "0") j++
    if (j - i > bestLen && j - i >= 2) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  if (best < 0) return parts.join(":")
  return `${parts.slice(0, best).join(":")}::${parts.slice(best + bestLen).join(":")}`
}
