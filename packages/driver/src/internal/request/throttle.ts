/**
 * The Session's throttler (Throttler.ts) in plain TypeScript: a count of requests in flight, a FIFO queue behind
 * it, and a token bucket for the rate limit. A request that finds a free slot (and a token) starts at once, with no
 * allocation; one that has to wait gets a queue entry, which its fiber's slot (WaitingRequests) removes if the
 * fiber stops waiting.
 */
import * as Duration from "effect/Duration"
import * as CqlError from "../../CqlError.js"
import type { ThrottleMetrics } from "../../Metrics.js"
import type * as Throttler from "../../Throttler.js"
import type { Cancelable, Waiting } from "./waitingRequests.js"

/** A request waiting for its turn. */
class Queued implements Cancelable {
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** Started, refused or removed: no longer the queue's. */
  done = false
  constructor(
    readonly throttle: Throttle,
    readonly start: () => void,
    readonly reject: (error: CqlError.Throttled) => void,
    readonly waiting: Waiting | undefined,
    readonly at: number
  ) {}
  /** Its fiber stopped waiting. */
  cancel(): void {
    this.throttle.remove(this)
  }
}

const positiveInteger = (n: number, what: string) => {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`throttler.${what} must be a positive integer, not ${n}`)
  return n
}

export class Throttle {
  private inFlight = 0
  /** FIFO: entries from `head` on; removed ones stay in place (marked done) until drained past. */
  private queue: Array<Queued | undefined> = []
  private head = 0
  /** Entries still waiting (not done). */
  private waitingCount = 0
  private readonly maxConcurrent: number
  private readonly maxQueueSize: number
  private readonly maxWaitMs: number | undefined
  private readonly perSecond: number | undefined
  private tokens: number
  private refilledAt = performance.now()
  private drainTimer: ReturnType<typeof setTimeout> | undefined = undefined
  private draining = false

  /** Bad limits are programming errors: a RangeError now rather than a Session that never sends. */
  constructor(
    options: Throttler.Options,
    private readonly metrics: ThrottleMetrics
  ) {
    this.maxConcurrent = positiveInteger(options.maxConcurrent, "maxConcurrent")
    this.maxQueueSize = options.maxQueueSize ?? Infinity
    if (this.maxQueueSize !== Infinity && (!Number.isInteger(this.maxQueueSize) || this.maxQueueSize < 0)) throw new RangeError(`throttler.maxQueueSize must be a non-negative integer, not ${this.maxQueueSize}`)
    this.maxWaitMs = options.maxQueueWait === undefined ? undefined : Duration.toMillis(options.maxQueueWait)
    this.perSecond = options.maxPerSecond === undefined ? undefined : positiveInteger(options.maxPerSecond, "maxPerSecond")
    this.tokens = this.perSecond ?? 0
  }

  /** Takes a slot (and a token) if one is free and nobody waits: the caller starts now, and `release`s once done. */
  tryStart(): boolean {
    if (this.waitingCount === 0 && this.inFlight < this.maxConcurrent && this.take()) {
      this.inFlight++
      return true
    }
    return false
  }

  /** After `tryStart` said no: queues `start`, or refuses it through `reject` when the queue is full. */
  enqueue(start: () => void, reject: (error: CqlError.Throttled) => void, waiting: Waiting | undefined): void {
    if (this.waitingCount >= this.maxQueueSize) {
      this.metrics.rejected("queue full")
      return reject(new CqlError.Throttled({ reason: "queue full", inFlight: this.inFlight, queued: this.waitingCount, waitedMs: 0 }))
    }
    const entry = new Queued(this, start, reject, waiting, performance.now())
    this.queue.push(entry)
    this.waitingCount++
    this.metrics.queued(this.waitingCount)
    waiting?.set(entry)
    if (this.maxWaitMs !== undefined) entry.timer = setTimeout(() => this.expire(entry), this.maxWaitMs)
    this.scheduleDrain()
  }

  /** A request that started (through `tryStart` or the queue) has ended. */
  release(): void {
    this.inFlight--
    if (this.waitingCount > 0) this.drain()
  }

  /** Takes a queued request out (its fiber stopped waiting): marked done, skipped when the queue gets to it. */
  remove(entry: Queued): void {
    if (entry.done) return
    entry.done = true
    if (entry.timer !== undefined) clearTimeout(entry.timer)
    this.waitingCount--
    this.metrics.queued(this.waitingCount)
  }

  private expire(entry: Queued): void {
    if (entry.done) return
    this.remove(entry)
    entry.waiting?.settled(entry)
    this.metrics.rejected("wait exceeded")
    entry.reject(new CqlError.Throttled({ reason: "wait exceeded", inFlight: this.inFlight, queued: this.waitingCount, waitedMs: performance.now() - entry.at }))
  }

  /** The oldest entry still waiting, taken off the queue; compacts the array once most of it is behind `head`. */
  private shift(): Queued | undefined {
    for (;;) {
      if (this.head >= this.queue.length) {
        this.queue = []
        this.head = 0
        return undefined
      }
      const entry = this.queue[this.head]!
      this.queue[this.head++] = undefined
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head)
        this.head = 0
      }
      if (!entry.done) return entry
    }
  }

  /**
   * Starts queued requests, oldest first, while slots and tokens allow. A request that fails at once (no host to
   * send to) releases its slot inside `entry.start()`: that nested call leaves the work to this loop, so a long
   * queue of such requests cannot grow the stack.
   */
  private drain(): void {
    if (this.draining) return
    this.draining = true
    try {
      this.drainLoop()
    } finally {
      this.draining = false
    }
  }

  private drainLoop(): void {
    while (this.waitingCount > 0 && this.inFlight < this.maxConcurrent) {
      if (!this.take()) return this.scheduleDrain()
      const entry = this.shift()!
      entry.done = true
      this.waitingCount--
      if (entry.timer !== undefined) clearTimeout(entry.timer)
      entry.waiting?.settled(entry)
      this.metrics.queued(this.waitingCount)
      this.metrics.waited(performance.now() - entry.at)
      this.inFlight++
      entry.start()
    }
  }

  /** A token of the rate limit, if one is there (always, without a rate limit). */
  private take(): boolean {
    const perSecond = this.perSecond
    if (perSecond === undefined) return true
    const now = performance.now()
    this.tokens = Math.min(perSecond, this.tokens + ((now - this.refilledAt) / 1000) * perSecond)
    this.refilledAt = now
    if (this.tokens < 1) return false
    this.tokens--
    return true
  }

  /** With a rate limit, a drain when the next token is due (no slot frees a request that waits for a token). */
  private scheduleDrain(): void {
    if (this.perSecond === undefined || this.drainTimer !== undefined || this.waitingCount === 0) return
    const ms = Math.max(1, Math.ceil(((1 - this.tokens) / this.perSecond) * 1000))
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined
      this.drain()
    }, ms)
  }
}
