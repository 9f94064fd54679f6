/**
 * Request deadlines of one connection, keyed by stream id: a binary min-heap over typed arrays, so that the
 * connection needs ONE timer (armed for the earliest deadline) instead of one per request. Insert and remove are
 * O(log n) and allocate nothing; each id is in the heap at most once.
 */
export class Deadlines {
  private readonly heap: Int32Array
  /** Index of each id in `heap`, or -1. */
  private readonly pos: Int32Array
  private readonly at: Float64Array
  private n = 0

  constructor(capacity: number) {
    this.heap = new Int32Array(capacity)
    this.pos = new Int32Array(capacity).fill(-1)
    this.at = new Float64Array(capacity)
  }

  get size(): number {
    return this.n
  }

  /** The earliest deadline, or Infinity when empty. */
  get earliest(): number {
    return this.n === 0 ? Infinity : this.at[this.heap[0]!]!
  }

  /** The id with the earliest deadline (caller checks `size > 0`). */
  get first(): number {
    return this.heap[0]!
  }

  add(id: number, deadline: number): void {
    this.at[id] = deadline
    const i = this.n++
    this.heap[i] = id
    this.pos[id] = i
    this.up(i)
  }

  /** Removes `id` if it has a deadline. */
  remove(id: number): void {
    const i = this.pos[id]!
    if (i < 0) return
    this.pos[id] = -1
    const last = --this.n
    if (i === last) return
    const moved = this.heap[last]!
    this.heap[i] = moved
    this.pos[moved] = i
    // The moved id may belong above or below its new place.
    if (i > 0 && this.at[moved]! < this.at[this.heap[(i - 1) >> 1]!]!) this.up(i)
    else this.down(i)
  }

  private up(i: number): void {
    const h = this.heap
    const id = h[i]!
    const d = this.at[id]!
    while (i > 0) {
      const p = (i - 1) >> 1
      const pid = h[p]!
      if (this.at[pid]! <= d) break
      h[i] = pid
      this.pos[pid] = i
      i = p
    }
    h[i] = id
    this.pos[id] = i
  }

  private down(i: number): void {
    const h = this.heap
    const n = this.n
    const id = h[i]!
    const d = this.at[id]!
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && this.at[h[r]!]! < this.at[h[l]!]! ? r : l
      const cid = h[c]!
      if (this.at[cid]! >= d) break
      h[i] = cid
      this.pos[cid] = i
      i = c
    }
    h[i] = id
    this.pos[id] = i
  }
}
