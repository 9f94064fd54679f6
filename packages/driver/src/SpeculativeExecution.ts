/**
 * Speculative executions: when a host is slow to answer, send the same request to the next host of the plan
 * without cancelling the first; the first answer wins and the other executions are interrupted. Only idempotent
 * statements run speculatively (a second execution may apply the statement again).
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

export interface SpeculativeExecution {
  /**
   * How long to wait before starting one more execution, given how many were started so far (1 when only the
   * first runs); None to start no more.
   */
  readonly nextExecution: (started: number) => Option.Option<Duration.Duration>
}

/** No speculative executions. */
export const none: SpeculativeExecution = { nextExecution: () => Option.none() }

/**
 * A new execution every `delay` while none has answered, up to `maxExecutions` in all (the first included: 2
 * means at most one speculative execution). A `maxExecutions` below 2 is `none`.
 */
export const constant = (options: { readonly delay: Duration.DurationInput; readonly maxExecutions: number }): SpeculativeExecution => {
  const delay = Option.some(Duration.decode(options.delay))
  const max = options.maxExecutions
  return { nextExecution: (started) => (started < max ? delay : Option.none()) }
}
