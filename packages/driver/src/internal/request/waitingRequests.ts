/**
 * The request each fiber waits for, so that a request its fiber gave up on is cancelled without a canceler on
 * the request's `Effect.async`.
 *
 * A canceler makes `Effect.async` wrap the step in an interruption handler (`onInterrupt`: an uninterruptible
 * mask and an exit handler), which costs about 1.6 µs a request: more than the rest of the driver's request path.
 * A fiber waits for one async step at a time, so a request is abandoned exactly when its fiber, before the answer
 * came, either ends (it was interrupted) or starts another request (it was interrupted inside an uninterruptible
 * region that went on). Both are seen here, once per fiber and once per request, and the abandoned request is
 * cancelled then (`Cancelable.cancel`: its attempts' callbacks dropped, their stream ids orphaned until the late
 * answers).
 */
import type * as Fiber from "effect/Fiber"

/** A request in flight that can be given up on. */
export interface Cancelable {
  cancel(): void
}

/** A fiber's slot: the request it waits for, if any. */
export class Waiting {
  private request: Cancelable | undefined = undefined

  set(request: Cancelable): void {
    this.abandon()
    this.request = request
  }

  /** `request` ended (answered or failed): nothing to cancel. */
  settled(request: Cancelable): void {
    if (this.request === request) this.request = undefined
  }

  /** The fiber stopped waiting: cancel the request. */
  readonly abandon = (): void => {
    const request = this.request
    if (request === undefined) return
    this.request = undefined
    request.cancel()
  }
}

const byFiber = new WeakMap<Fiber.RuntimeFiber<unknown, unknown>, Waiting>()

/** The slot of `fiber`, made (and its observer added) on the fiber's first request. */
export const of = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Waiting => {
  let w = byFiber.get(fiber)
  if (w === undefined) {
    w = new Waiting()
    byFiber.set(fiber, w)
    fiber.addObserver(w.abandon)
  }
  return w
}
