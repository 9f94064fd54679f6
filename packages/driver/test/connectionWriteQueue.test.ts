import { Frame, Segment } from "@effect-cql/protocol"
import * as Either from "effect/Either"
import { EventEmitter } from "node:events"
import type { Socket } from "node:net"
import { describe, expect, it } from "vitest"
import { WriteQueue } from "../src/internal/connection/writeQueue.js"

/** Records writes (the very buffers, not copies); `write` returns what `accept` says; callbacks run on `settle`. */
class FakeSocket extends EventEmitter {
  readonly writes: Array<Buffer> = []
  private readonly callbacks: Array<() => void> = []
  accept = true
  write(b: Buffer, cb?: () => void): boolean {
    this.writes.push(b)
    if (cb !== undefined) this.callbacks.push(cb)
    return this.accept
  }
  settle(): void {
    for (const cb of this.callbacks.splice(0)) cb()
  }
}

const tick = () => new Promise((r) => setImmediate(r))

/**
 * Two buffers start at the same byte. The ArrayBuffer alone does not tell: Node 24's `Buffer.allocUnsafe` carves
 * buffers under 32 KiB out of one shared 64 KiB pool (Node 20: under 4 KiB, so a 16 KiB one had its own).
 */
const sameMemory = (a: Buffer, b: Buffer): boolean => a.buffer === b.buffer && a.byteOffset === b.byteOffset

/** Commits an envelope of `size` body bytes, each byte = stream & 0xff. */
const commit = (q: WriteQueue, stream: number, size: number, version = 5): void => {
  const w = q.writer
  const start = Frame.beginEnvelope(w, version, 0, stream, Frame.Opcode.Query)
  w.raw(Buffer.alloc(size, stream & 0xff))
  Frame.endEnvelope(w, start)
  q.commit(start)
}

const decode = (bytes: Buffer, segments: boolean): Array<Frame.Envelope> => {
  const inbound = new Segment.Inbound()
  if (segments) inbound.useSegments("uncompressed")
  inbound.push(bytes)
  const out: Array<Frame.Envelope> = []
  for (;;) {
    const next = inbound.next()
    if (next === undefined) return out
    if (Either.isLeft(next)) throw next.left
    out.push(next.right)
  }
}

describe("WriteQueue", () => {
  it("v5: while the socket is full, envelopes accumulate; on drain they leave in one write of valid segments", async () => {
    const socket = new FakeSocket()
    const q = new WriteQueue(socket as unknown as Socket)
    q.useSegments("uncompressed")
    socket.accept = false
    commit(q, 0, 10)
    await tick()
    expect(socket.writes.length).toBe(1)
    // 40 x 10 KB, one envelope of 200 KB (more than a segment holds) in the middle, all past the flush threshold.
    const sizes = Array.from({ length: 40 }, (_, i) => (i === 20 ? 200_000 : 10_000))
    sizes.forEach((size, i) => commit(q, i + 1, size))
    await tick()
    expect(socket.writes.length).toBe(1)
    socket.accept = true
    socket.emit("drain")
    expect(socket.writes.length).toBe(2)
    const envelopes = decode(Buffer.concat(socket.writes), true)
    expect(envelopes.map((e) => e.stream)).toEqual([0, ...sizes.map((_, i) => i + 1)])
    expect(envelopes.map((e) => e.body.length)).toEqual([10, ...sizes])
    expect(envelopes.every((e) => e.body.every((b) => b === (e.stream & 0xff)))).toBe(true)
  })

  it("plain envelopes: a buffer handed to the socket is not written over before the socket is done with it", async () => {
    const socket = new FakeSocket()
    const q = new WriteQueue(socket as unknown as Socket)
    commit(q, 1, 100, 4)
    await tick()
    const first = socket.writes[0]!
    const firstCopy = Buffer.from(first)
    commit(q, 2, 100, 4)
    await tick()
    commit(q, 3, 100, 4)
    await tick()
    expect(first).toEqual(firstCopy)
    expect(decode(Buffer.concat(socket.writes), false).map((e) => e.stream)).toEqual([1, 2, 3])
    // Once the socket is done with a buffer, it is written into again instead of allocating a new one.
    socket.settle()
    commit(q, 4, 100, 4)
    await tick()
    commit(q, 5, 100, 4)
    await tick()
    expect(sameMemory(socket.writes[4]!, socket.writes[2]!)).toBe(true)
    expect(socket.writes.slice(0, 4).every((w, i, all) => all.findIndex((o) => sameMemory(o, w)) === i)).toBe(true)
  })

  it("one write per turn of the event loop, at once past the threshold", async () => {
    const socket = new FakeSocket()
    const q = new WriteQueue(socket as unknown as Socket, 1000)
    for (let i = 0; i < 5; i++) commit(q, i, 100, 4)
    expect(socket.writes.length).toBe(0)
    await tick()
    expect(socket.writes.length).toBe(1)
    for (let i = 0; i < 5; i++) commit(q, i, 300, 4)
    // 3 x 309 bytes pass 1000 at the 4th envelope.
    expect(socket.writes.length).toBe(2)
    await tick()
    expect(socket.writes.length).toBe(3)
    expect(decode(Buffer.concat(socket.writes), false).length).toBe(10)
  })
})
