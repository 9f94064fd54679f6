/**
 * The request each fiber waits for, so that a request its fiber gave up on is cancelled without a canceler on
 * the request's `Effect.async`.
 *
 * A canceler makes `Effect.async` wrap the step in an interruption handler (`onInterrupt`: an uninterruptible
 * mask and an exit handler), which costs about 1.6 µs a request: more than the rest of the driver's request path.
 * A fiber waits for one async step at a time, so a request is abandoned exactly when its fiber, before the answer
 * came, either ends (it was interrupted) or starts another request (it was interrupted inside an uninterruptible
 * region that went on). Both are seen here, once per fiber and once per request, and the abandoned request is
 * cancelled then: its callback dropped, its stream id orphaned until the late answer (`Connection.cancel`).
 */
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type { HostMetrics } from "../../Metrics.js"
import type { Connection } from "../connection/connection.js"

/** A fiber's slot: the request it waits for, if any. */
export class Waiting {
  private conn: Connection | undefined = undefined
  private id = -1
  private metrics: HostMetrics | undefined = undefined
  private started = 0

  set(conn: Connection, id: number, metrics: HostMetrics, started: number): void {
    this.abandon()
    this.conn = conn
    this.id = id
    this.metrics = metrics
    this.started = started
  }

  /** The answer (or a failure) came: nothing to cancel. */
  settled(): void {
    this.conn = undefined
    this.metrics = undefined
  }

  /** The fiber stopped waiting: cancel the request, and count it as ended in the metrics. */
  readonly abandon = (): void => {
    const conn = this.conn
    if (conn === undefined) return
    conn.cancel(this.id)
    this.metrics!.requestEnded(performance.now() - this.started, "Interrupted")
    this.settled()
  }
}

const byFiber = new WeakMap<Fiber.RuntimeFiber<unknown, unknown>, Waiting>()

/**
 * The slot of the fiber running now (call from an `Effect.async` register, which runs on its fiber); undefined
 * outside a fiber.
 */
export const current = (): Waiting | undefined => {
  const fiber = Fiber.getCurrentFiber()
  if (Option.isNone(fiber)) return undefined
  let w = byFiber.get(fiber.value)
  if (w === undefined) {
    w = new Waiting()
    byFiber.set(fiber.value, w)
    fiber.value.addObserver(w.abandon)
  }
  return w
}
