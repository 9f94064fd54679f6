/**
 * A growable output buffer for the notations of native_protocol_v5.spec section 3. One writer is reused for a
 * whole envelope; `finish` returns a view of the bytes written, so a message is encoded with no intermediate copies.
 */
import { isIP } from "node:net"
import { encodeFail } from "./fail.js"
import { writeInt64BE } from "./int64.js"

export class ByteWriter {
  buf: Buffer
  offset = 0

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize)
  }

  ensure(n: number): void {
    const need = this.offset + n
    if (need <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < need) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, 0, this.offset)
    this.buf = next
  }

  /** The bytes written so far, as a view of the internal buffer. */
  finish(): Buffer {
    return this.buf.subarray(0, this.offset)
  }

  reset(): void {
    this.offset = 0
  }

  byte(v: number): void {
    this.ensure(1)
    this.buf[this.offset++] = v
  }

  short(v: number): void {
    this.ensure(2)
    this.buf.writeUInt16BE(v, this.offset)
    this.offset += 2
  }

  signedShort(v: number): void {
    this.ensure(2)
    this.buf.writeInt16BE(v, this.offset)
    this.offset += 2
  }

  int(v: number): void {
    this.ensure(4)
    this.buf.writeInt32BE(v, this.offset)
    this.offset += 4
  }

  long(v: bigint): void {
    this.ensure(8)
    writeInt64BE(this.buf, v, this.offset)
    this.offset += 8
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length)
    this.buf.set(b, this.offset)
    this.offset += b.length
  }

  /** Reserves 4 bytes for a length written later with `patchInt`. */
  reserveInt(): number {
    this.ensure(4)
    const at = this.offset
    this.offset += 4
    return at
  }

  patchInt(at: number, v: number): void {
    this.buf.writeInt32BE(v, at)
  }

  /** Writes utf8 after a length prefix of `lengthBytes` (2 or 4) in one pass, without measuring first. */
  private utf8(s: string, lengthBytes: 2 | 4): void {
    this.ensure(lengthBytes + s.length * 3)
    const start = this.offset + lengthBytes
    const n = this.buf.write(s, start, "utf8")
    if (lengthBytes === 2) {
      if (n > 0xffff) encodeFail(`[string] of ${n} bytes exceeds 65535`)
      this.buf.writeUInt16BE(n, this.offset)
    } else {
      this.buf.writeInt32BE(n, this.offset)
    }
    this.offset = start + n
  }

  /** [string] */
  string(s: string): void {
    this.utf8(s, 2)
  }

  /** [long string] */
  longString(s: string): void {
    this.utf8(s, 4)
  }

  /** [bytes]; null writes length -1. */
  bytes(b: Uint8Array | null): void {
    if (b === null) return this.int(-1)
    this.int(b.length)
    this.raw(b)
  }

  /** [short bytes] */
  shortBytes(b: Uint8Array): void {
    this.short(b.length)
    this.raw(b)
  }

  stringList(list: ReadonlyArray<string>): void {
    this.short(list.length)
    for (const s of list) this.string(s)
  }

  stringMap(map: Readonly<Record<string, string>>): void {
    const keys = Object.keys(map)
    this.short(keys.length)
    for (const k of keys) {
      this.string(k)
      this.string(map[k]!)
    }
  }

  stringMultimap(map: Readonly<Record<string, ReadonlyArray<string>>>): void {
    const keys = Object.keys(map)
    this.short(keys.length)
    for (const k of keys) {
      this.string(k)
      this.stringList(map[k]!)
    }
  }

  bytesMap(map: Readonly<Record<string, Uint8Array | null>>): void {
    const keys = Object.keys(map)
    this.short(keys.length)
    for (const k of keys) {
      this.string(k)
      this.bytes(map[k]!)
    }
  }

  /** [inetaddr] from its text form. */
  inetAddr(address: string): void {
    const b = parseInet(address)
    this.byte(b.length)
    this.raw(b)
  }

  inet(address: string, port: number): void {
    this.inetAddr(address)
    this.int(port)
  }

  unsignedVint(v: bigint): void {
    if (v < 0n) encodeFail(`[unsigned vint] cannot be negative: ${v}`)
    if (v < 0x80n) return this.byte(Number(v))
    // The number of extra bytes is the number of leading 1 bits in the first byte (spec 3, "[unsigned vint]").
    let extra = 1
    while (extra < 8 && v >= 1n << BigInt(7 * (extra + 1))) extra++
    this.ensure(extra + 1)
    const start = this.offset
    for (let i = extra; i >= 1; i--) {
      this.buf[start + i] = Number(v & 0xffn)
      v >>= 8n
    }
    const prefix = (0xff00 >> extra) & 0xff
    this.buf[start] = extra === 8 ? 0xff : prefix | Number(v)
    this.offset = start + extra + 1
  }

  vint(v: bigint): void {
    const s = BigInt.asIntN(64, v)
    this.unsignedVint(BigInt.asUintN(64, (s << 1n) ^ (s >> 63n)))
  }
}

/** Parses IPv4 or IPv6 text into 4 or 16 bytes. */
export const parseInet = (address: string): Buffer => {
  const kind = isIP(address)
  if (kind === 4) return Buffer.from(address.split(".").map(Number))
  if (kind !== 6) return encodeFail(`not an IP address: ${JSON.stringify(address)}`)
  let text = address
  const out = Buffer.alloc(16)
  // An embedded IPv4 tail (::ffff:1.2.3.4) fills the last 4 bytes.
  const v4 = text.lastIndexOf(".") >= 0 ? text.slice(text.lastIndexOf(":") + 1) : undefined
  let tailGroups: Array<number> = []
  if (v4 !== undefined) {
    const b = v4.split(".").map(Number)
    tailGroups = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!]
    text = text.slice(0, text.lastIndexOf(":") + 1) + "0"
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined]
  const headGroups = head ? head.split(":").map((h) => parseInt(h, 16)) : []
  let rest = tail === undefined ? [] : tail ? tail.split(":").map((h) => parseInt(h, 16)) : []
  if (v4 !== undefined) {
    if (tail === undefined) headGroups.splice(headGroups.length - 1, 1, ...tailGroups)
    else rest = [...rest.slice(0, -1), ...tailGroups]
  }
  const groups = tail === undefined ? headGroups : [...headGroups, ...new Array(8 - headGroups.length - rest.length).fill(0), ...rest]
  for (let i = 0; i < 8; i++) out.writeUInt16BE(groups[i] ?? 0, 2 * i)
  return out
}
