/**
 * A queue of received TCP chunks. Bytes are only copied when a caller takes a range that spans several chunks,
 * and then exactly once; a range inside one chunk is returned as a view. Consumed chunks are dropped by moving a
 * head index, so feeding one byte at a time stays linear.
 */
export class ChunkQueue {
  private chunks: Array<Buffer> = []
  private head = 0
  /** Read position inside `chunks[head]`. */
  private offset = 0
  /** Unread bytes in the queue. */
  length = 0

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.length += chunk.length
  }

  /** Byte `i` of the unread bytes (caller checks `i < length`). */
  peekByte(i: number): number {
    let k = this.head
    let at = this.offset + i
    for (;;) {
      const c = this.chunks[k]!
      if (at < c.length) return c[at]!
      at -= c.length
      k++
    }
  }

  /** Where `peek`'s result starts in the array it returned. */
  peekOffset = 0

  /**
   * Makes the next `n` unread bytes (caller checks `n <= length`) readable without consuming them: returns the
   * first chunk itself when they lie in it, else `scratch` (which must hold `n` bytes) with a copy; either way
   * they start at `peekOffset`. No view is created: headers are parsed in place.
   */
  peek(n: number, scratch: Buffer): Buffer {
    const first = this.chunks[this.head]!
    if (first.length - this.offset >= n) {
      this.peekOffset = this.offset
      return first
    }
    for (let i = 0; i < n; i++) scratch[i] = this.peekByte(i)
    this.peekOffset = 0
    return scratch
  }

  /** Consumes `n` bytes (caller checks `n <= length`): a view if they lie in one chunk, else one concatenation. */
  take(n: number): Buffer {
    const first = this.chunks[this.head]
    if (n === 0 || first === undefined) return Buffer.alloc(0)
    const avail = first.length - this.offset
    if (avail >= n) {
      const out = first.subarray(this.offset, this.offset + n)
      this.advance(n)
      return out
    }
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    while (filled < n) {
      const c = this.chunks[this.head]!
      const m = Math.min(c.length - this.offset, n - filled)
      c.copy(out, filled, this.offset, this.offset + m)
      filled += m
      this.advance(m)
    }
    return out
  }

  skip(n: number): void {
    while (n > 0) {
      const c = this.chunks[this.head]!
      const m = Math.min(c.length - this.offset, n)
      this.advance(m)
      n -= m
    }
  }

  /** Removes and returns every unread byte as views of the chunks (for handing the stream to another decoder). */
  drain(): Array<Buffer> {
    const out: Array<Buffer> = []
    for (let k = this.head; k < this.chunks.length; k++) {
      const c = this.chunks[k]!
      out.push(k === this.head ? c.subarray(this.offset) : c)
    }
    this.chunks = []
    this.head = 0
    this.offset = 0
    this.length = 0
    return out.filter((c) => c.length > 0)
  }

  private advance(n: number): void {
    this.offset += n
    this.length -= n
    if (this.offset < this.chunks[this.head]!.length) return
    this.offset = 0
    this.head++
    if (this.head === this.chunks.length) {
      this.chunks.length = 0
      this.head = 0
    } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      // Drop consumed chunks in bulk so the array does not grow without bound.
      this.chunks = this.chunks.slice(this.head)
      this.head = 0
    }
  }
}
