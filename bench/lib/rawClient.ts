/**
 * The minimal pipelined CQL client the benchmark uses as the practical ceiling for a JavaScript client: protocol v4
 * without compression (native_protocol_v4.spec), one socket, a free list of stream ids, every request of one event
 * loop turn written in one socket write, rows decoded into plain objects. No policies, no retries, no timeouts,
 * no paging helpers: only the messages the benchmark sends (STARTUP, QUERY, PREPARE, EXECUTE, BATCH) and the
 * primitive column types its tables use. Hand-rolled on purpose, independent of @effect-cql/protocol, so the ceiling
 * does not move when the project's codec does.
 */
import * as net from "node:net"

const VERSION = 4
const HEADER = 9
const Op = { Error: 0x00, Startup: 0x01, Ready: 0x02, Query: 0x07, Result: 0x08, Prepare: 0x09, Execute: 0x0a, Batch: 0x0d } as const
/** Query flags (spec 4.1.4): a [byte] in v4. */
const Flag = { Values: 0x01, SkipMetadata: 0x02, PageSize: 0x04, PagingState: 0x08 } as const
const LOCAL_ONE = 0x000a
/** Streams in use at once; the spec allows 32768 per connection (section 2.3). */
const MAX_STREAMS = 4096

/** A bound value: int and text as JS number and string; bigint columns take a JS bigint, double a number. */
export type Value = number | bigint | string | Buffer | null

type Decoder = (b: Buffer, at: number, len: number) => unknown
/** Encoders write one [bytes] value: its 4-byte length, then the value. */
type Encoder = (w: Writer, v: Value) => void

/** Primitive types by option id (spec 6): the ones the benchmark tables use. */
const decoders: Readonly<Record<number, Decoder>> = {
  0x01: (b, at, len) => b.toString("latin1", at, at + len),
  0x02: (b, at) => b.readBigInt64BE(at),
  0x03: (b, at, len) => b.subarray(at, at + len),
  0x07: (b, at) => b.readDoubleBE(at),
  0x09: (b, at) => b.readInt32BE(at),
  0x0d: (b, at, len) => b.toString("utf8", at, at + len)
}

const encoders: Readonly<Record<number, Encoder>> = {
  0x01: (w, v) => w.longString(v as string, "latin1"),
  0x02: (w, v) => {
    w.ensure(12)
    w.buf.writeInt32BE(8, w.pos)
    w.buf.writeBigInt64BE(BigInt(v as bigint), w.pos + 4)
    w.pos += 12
  },
  0x03: (w, v) => w.bytes(v as Buffer),
  0x07: (w, v) => {
    w.ensure(12)
    w.buf.writeInt32BE(8, w.pos)
    w.buf.writeDoubleBE(v as number, w.pos + 4)
    w.pos += 12
  },
  0x09: (w, v) => {
    w.ensure(8)
    w.buf.writeInt32BE(4, w.pos)
    w.buf.writeInt32BE(v as number, w.pos + 4)
    w.pos += 8
  },
  0x0d: (w, v) => w.longString(v as string, "utf8")
}

/** The outgoing buffer: requests of one turn are encoded back to back into it, then written at once. */
class Writer {
  buf = Buffer.allocUnsafe(64 * 1024)
  pos = 0

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }
  byte(v: number): void {
    this.ensure(1)
    this.buf[this.pos++] = v
  }
  short(v: number): void {
    this.ensure(2)
    this.buf.writeUInt16BE(v, this.pos)
    this.pos += 2
  }
  int(v: number): void {
    this.ensure(4)
    this.buf.writeInt32BE(v, this.pos)
    this.pos += 4
  }
  /** [long string] when `lengthBytes` is 4, [string] when 2; also a text [bytes] value. */
  longString(s: string, encoding: "utf8" | "latin1", lengthBytes: 2 | 4 = 4): void {
    // At most 3 bytes per UTF-16 unit in UTF-8: no need to measure the string first.
    this.ensure(lengthBytes + s.length * (encoding === "utf8" ? 3 : 1))
    const n = this.buf.write(s, this.pos + lengthBytes, encoding)
    if (lengthBytes === 4) this.buf.writeInt32BE(n, this.pos)
    else this.buf.writeUInt16BE(n, this.pos)
    this.pos += lengthBytes + n
  }
  bytes(b: Buffer | null): void {
    if (b === null) return this.int(-1)
    this.ensure(4 + b.length)
    this.buf.writeInt32BE(b.length, this.pos)
    b.copy(this.buf, this.pos + 4)
    this.pos += 4 + b.length
  }
  shortBytes(b: Buffer): void {
    this.short(b.length)
    this.ensure(b.length)
    b.copy(this.buf, this.pos)
    this.pos += b.length
  }
  header(stream: number, opcode: number): number {
    const at = this.pos
    this.ensure(HEADER)
    this.buf[at] = VERSION
    this.buf[at + 1] = 0
    this.buf.writeInt16BE(stream, at + 2)
    this.buf[at + 4] = opcode
    this.pos += HEADER
    return at
  }
  endFrame(at: number): void {
    this.buf.writeInt32BE(this.pos - at - HEADER, at + 5)
  }
  /** A copy of the written bytes (the socket may hold it past this turn), and the buffer is reused. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos)
    this.buf.copy(out, 0, 0, this.pos)
    this.pos = 0
    return out
  }
}

/** A cursor over a response body. */
class Reader {
  constructor(readonly buf: Buffer, public pos: number) {}
  short(): number {
    const v = this.buf.readUInt16BE(this.pos)
    this.pos += 2
    return v
  }
  int(): number {
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }
  string(): string {
    const n = this.short()
    this.pos += n
    return this.buf.toString("utf8", this.pos - n, this.pos)
  }
  bytes(): Buffer | null {
    const n = this.int()
    if (n < 0) return null
    this.pos += n
    return this.buf.subarray(this.pos - n, this.pos)
  }
  shortBytes(): Buffer {
    const n = this.short()
    this.pos += n
    return Buffer.from(this.buf.subarray(this.pos - n, this.pos))
  }
  /** An [option] (spec 4.2.5.2); only primitives are decodable, anything else fails when first used. */
  typeId(): number {
    const id = this.short()
    if (id === 0x0000) this.string()
    else if (id === 0x20 || id === 0x22) this.typeId()
    else if (id === 0x21) {
      this.typeId()
      this.typeId()
    } else if (id >= 0x30) throw new Error(`raw client: type 0x${id.toString(16)} is not supported`)
    return id
  }
}

export interface Column {
  readonly name: string
  readonly type: number
}

export interface Prepared {
  readonly id: Buffer
  readonly params: ReadonlyArray<Column>
  readonly encoders: ReadonlyArray<Encoder>
  readonly columns: ReadonlyArray<Column>
  readonly decoders: ReadonlyArray<Decoder>
}

export interface Page {
  readonly rows: Array<Record<string, unknown>>
  readonly pagingState: Buffer | null
}

const readColumns = (r: Reader, count: number, global: boolean): Array<Column> => {
  if (global) {
    r.string()
    r.string()
  }
  const out: Array<Column> = []
  for (let i = 0; i < count; i++) {
    if (!global) {
      r.string()
      r.string()
    }
    const name = r.string()
    out.push({ name, type: r.typeId() })
  }
  return out
}

const decoderOf = (c: Column): Decoder => {
  const d = decoders[c.type]
  if (d === undefined) throw new Error(`raw client: column ${c.name} has type 0x${c.type.toString(16)}, not supported`)
  return d
}

const encoderOf = (c: Column): Encoder => {
  const e = encoders[c.type]
  if (e === undefined) throw new Error(`raw client: bind marker ${c.name} has type 0x${c.type.toString(16)}, not supported`)
  return e
}

type Pending = { resolve: (r: Reader) => void; reject: (e: Error) => void; opcode: number }

export class RawClient {
  private readonly socket: net.Socket
  private readonly writer = new Writer()
  private flushScheduled = false
  private readonly free: Array<number> = []
  private readonly pending: Array<Pending | undefined> = new Array(MAX_STREAMS)
  /** Requests waiting for a free stream id (more than MAX_STREAMS in flight). */
  private readonly queued: Array<(stream: number) => void> = []
  /** Bytes of an incomplete envelope, kept as chunks and joined once it is whole (no copy per chunk). */
  private parts: Array<Buffer> = []
  private partsLength = 0
  private need = 0
  private closedWith: Error | null = null

  private constructor(socket: net.Socket) {
    this.socket = socket
    for (let i = MAX_STREAMS - 1; i >= 0; i--) this.free.push(i)
    socket.setNoDelay(true)
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("error", (e) => this.fail(e))
    socket.on("close", () => this.fail(new Error("raw client: connection closed")))
  }

  static async connect(host: string, port: number, keyspace?: string): Promise<RawClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port }, () => resolve(s))
      s.once("error", reject)
    })
    const client = new RawClient(socket)
    await client.send(Op.Startup, (w) => {
      // [string map] {CQL_VERSION: 3.0.0} (spec 4.1.1); READY has an empty body.
      w.short(1)
      w.longString("CQL_VERSION", "utf8", 2)
      w.longString("3.0.0", "utf8", 2)
    })
    if (keyspace !== undefined) await client.query(`USE "${keyspace}"`)
    return client
  }

  /** A QUERY without values (DDL, USE): its result is read and dropped. */
  async query(cql: string): Promise<void> {
    await this.send(Op.Query, (w) => {
      w.longString(cql, "utf8")
      w.short(LOCAL_ONE)
      w.byte(0)
    })
  }

  async prepare(cql: string): Promise<Prepared> {
    const r = await this.send(Op.Prepare, (w) => w.longString(cql, "utf8"))
    if (r.int() !== 4) throw new Error("raw client: PREPARE did not return Prepared")
    const id = r.shortBytes()
    // <metadata>: flags, columns_count, pk_count, pk_index... then column specs (spec 4.2.5.4).
    const flags = r.int()
    const paramCount = r.int()
    const pkCount = r.int()
    r.pos += 2 * pkCount
    const params = readColumns(r, paramCount, (flags & 1) !== 0)
    const rflags = r.int()
    const columnCount = r.int()
    const columns = (rflags & 4) !== 0 ? [] : readColumns(r, columnCount, (rflags & 1) !== 0)
    return { id, params, encoders: params.map(encoderOf), columns, decoders: columns.map(decoderOf) }
  }

  /** EXECUTE with skip_metadata: the rows are decoded with the prepared result metadata. */
  async execute(p: Prepared, values: ReadonlyArray<Value>, pageSize = -1, pagingState: Buffer | null = null): Promise<Page> {
    const r = await this.send(Op.Execute, (w) => {
      w.shortBytes(p.id)
      w.short(LOCAL_ONE)
      let flags = Flag.Values | Flag.SkipMetadata
      if (pageSize > 0) flags |= Flag.PageSize
      if (pagingState !== null) flags |= Flag.PagingState
      w.byte(flags)
      writeValues(w, p, values)
      if (pageSize > 0) w.int(pageSize)
      if (pagingState !== null) w.bytes(pagingState)
    })
    return readResult(r, p)
  }

  /** An UNLOGGED batch of one prepared statement bound with each row of `rows` (spec 4.1.7). */
  async batch(p: Prepared, rows: ReadonlyArray<ReadonlyArray<Value>>): Promise<void> {
    await this.send(Op.Batch, (w) => {
      w.byte(1)
      w.short(rows.length)
      for (const values of rows) {
        w.byte(1)
        w.shortBytes(p.id)
        writeValues(w, p, values)
      }
      w.short(LOCAL_ONE)
      w.byte(0)
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve())
      this.socket.end()
    })
  }

  private send(opcode: number, body: (w: Writer) => void): Promise<Reader> {
    return new Promise<Reader>((resolve, reject) => {
      if (this.closedWith !== null) return reject(this.closedWith)
      const start = (stream: number) => {
        this.pending[stream] = { resolve, reject, opcode }
        const w = this.writer
        const at = w.header(stream, opcode)
        body(w)
        w.endFrame(at)
        if (!this.flushScheduled) {
          this.flushScheduled = true
          setImmediate(this.flush)
        }
      }
      const stream = this.free.pop()
      if (stream === undefined) this.queued.push(start)
      else start(stream)
    })
  }

  private readonly flush = (): void => {
    this.flushScheduled = false
    if (this.writer.pos > 0 && this.closedWith === null) this.socket.write(this.writer.take())
  }

  private onData(chunk: Buffer): void {
    let buf = chunk
    if (this.parts.length > 0) {
      this.parts.push(chunk)
      this.partsLength += chunk.length
      if (this.partsLength < this.need) return
      buf = Buffer.concat(this.parts, this.partsLength)
      this.parts = []
    }
    let at = 0
    this.need = HEADER
    while (buf.length - at >= HEADER) {
      const length = buf.readInt32BE(at + 5)
      if (buf.length - at - HEADER < length) {
        this.need = HEADER + length
        break
      }
      const stream = buf.readInt16BE(at + 2)
      const body = buf.subarray(at + HEADER, at + HEADER + length)
      if (stream >= 0) this.complete(stream, buf[at + 4]!, buf[at + 1]!, body)
      at += HEADER + length
    }
    if (at < buf.length) {
      this.parts.push(buf.subarray(at))
      this.partsLength = buf.length - at
    }
  }

  private complete(stream: number, opcode: number, flags: number, body: Buffer): void {
    const p = this.pending[stream]
    if (p === undefined) return
    this.pending[stream] = undefined
    const next = this.queued.shift()
    if (next === undefined) this.free.push(stream)
    else next(stream)
    const r = new Reader(body, 0)
    // Warnings (flag 0x08) precede the message: a [string list] to skip (spec 2.2).
    if ((flags & 0x08) !== 0) {
      const n = r.short()
      for (let i = 0; i < n; i++) r.string()
    }
    if (opcode === Op.Error) {
      const code = r.int()
      p.reject(new Error(`server error 0x${code.toString(16).padStart(4, "0")}: ${r.string()}`))
    } else if (opcode === Op.Result || opcode === Op.Ready) p.resolve(r)
    else p.reject(new Error(`raw client: unexpected opcode 0x${opcode.toString(16)}`))
  }

  private fail(e: Error): void {
    if (this.closedWith !== null) return
    this.closedWith = e
    for (let i = 0; i < MAX_STREAMS; i++) {
      const p = this.pending[i]
      this.pending[i] = undefined
      p?.reject(e)
    }
  }
}

const writeValues = (w: Writer, p: Prepared, values: ReadonlyArray<Value>): void => {
  w.short(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (v === null) w.int(-1)
    else p.encoders[i]!(w, v)
  }
}

const noRows: Page = { rows: [], pagingState: null }

/** A RESULT: Rows are decoded with the prepared columns (No_metadata); other kinds carry nothing we need. */
const readResult = (r: Reader, p: Prepared): Page => {
  if (r.int() !== 2) return noRows
  const flags = r.int()
  const count = r.int()
  const pagingState = (flags & 2) !== 0 ? r.bytes() : null
  if ((flags & 4) === 0) readColumns(r, count, (flags & 1) !== 0)
  const { columns, decoders: decode } = p
  const n = r.int()
  const rows = new Array<Record<string, unknown>>(n)
  const b = r.buf
  let at = r.pos
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {}
    for (let j = 0; j < columns.length; j++) {
      const len = b.readInt32BE(at)
      at += 4
      row[columns[j]!.name] = len < 0 ? null : decode[j]!(b, at, len)
      if (len > 0) at += len
    }
    rows[i] = row
  }
  return { rows, pagingState: pagingState === null ? null : Buffer.from(pagingState) }
}
