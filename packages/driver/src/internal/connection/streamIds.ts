/**
 * Stream ids of one connection (native_protocol_v5.spec 2.3: a non-negative [short], so at most 32,768 at once;
 * negative ids belong to server pushes). A stack of free ids: acquire and release are O(1) and allocate nothing,
 * and the lowest ids are handed out first, so a lightly used connection keeps reusing a few.
 */
export const MAX_STREAM_IDS = 32_768

/** Throws a RangeError unless `capacity` is a usable number of stream ids. */
export const checkCapacity = (capacity: number): void => {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_STREAM_IDS) {
    throw new RangeError(`the number of stream ids (maxInFlight) must be an integer in 1..${MAX_STREAM_IDS}, not ${capacity}`)
  }
}

export class StreamIds {
  private readonly free: Uint16Array
  private top: number

  constructor(readonly capacity: number) {
    checkCapacity(capacity)
    this.free = new Uint16Array(capacity)
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i
    this.top = capacity
  }

  /** Ids currently handed out. */
  get used(): number {
    return this.capacity - this.top
  }

  /** A free id, or -1 when all are in use. */
  acquire(): number {
    return this.top === 0 ? -1 : this.free[--this.top]!
  }

  /** Gives `id` back; the caller guarantees it was acquired and not released since. */
  release(id: number): void {
    this.free[this.top++] = id
  }
}
