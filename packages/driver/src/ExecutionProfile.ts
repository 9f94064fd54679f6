/**
 * Execution profiles: named bundles of per-request settings (consistency, timeouts, page size and the policies).
 * A session has a default profile and any number of named ones, each built on top of the default; a statement
 * picks one by name, or a fiber picks one for everything it runs with `withProfile`.
 */
import type { Consistency } from "@effect-cql/protocol"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { UnknownProfile } from "./CqlError.js"
import * as Defaults from "./internal/defaults.js"
import * as LoadBalancingPolicy from "./LoadBalancingPolicy.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as SpeculativeExecution from "./SpeculativeExecution.js"

export interface ExecutionProfile {
  readonly consistency: Consistency.Consistency
  /** For lightweight transactions: SERIAL or LOCAL_SERIAL. */
  readonly serialConsistency: Consistency.Consistency
  /** Client-side timeout of one attempt. */
  readonly requestTimeout: Duration.Duration
  /** Rows per page. */
  readonly pageSize: number
  /** Whether a statement that does not say is idempotent. */
  readonly idempotent: boolean
  readonly loadBalancing: LoadBalancingPolicy.LoadBalancingPolicy
  readonly retry: RetryPolicy.RetryPolicy
  readonly speculativeExecution: SpeculativeExecution.SpeculativeExecution
}

/** What a profile changes from the one it is built on. */
export type Options = Partial<Omit<ExecutionProfile, "requestTimeout">> & {
  readonly requestTimeout?: Duration.DurationInput
}

/** A profile: `options` over `base`. */
export const make = (base: ExecutionProfile, options: Options): ExecutionProfile => ({
  consistency: options.consistency ?? base.consistency,
  serialConsistency: options.serialConsistency ?? base.serialConsistency,
  requestTimeout: options.requestTimeout === undefined ? base.requestTimeout : Duration.decode(options.requestTimeout),
  pageSize: options.pageSize ?? base.pageSize,
  idempotent: options.idempotent ?? base.idempotent,
  loadBalancing: options.loadBalancing ?? base.loadBalancing,
  retry: options.retry ?? base.retry,
  speculativeExecution: options.speculativeExecution ?? base.speculativeExecution
})

/**
 * The driver's defaults: LOCAL_ONE, SERIAL, 12 s per attempt, 5000 rows per page, not idempotent, the default load
 * balancing policy (token aware over DC aware when `localDc` is given, over round robin otherwise), the default
 * retry policy, no speculative execution. A new load balancing policy each call: give each session its own.
 */
export const defaults = (options?: { readonly localDc?: string | undefined }): ExecutionProfile => ({
  consistency: Defaults.CONSISTENCY,
  serialConsistency: Defaults.SERIAL_CONSISTENCY,
  requestTimeout: Duration.millis(Defaults.REQUEST_TIMEOUT_MS),
  pageSize: Defaults.PAGE_SIZE,
  idempotent: false,
  loadBalancing: LoadBalancingPolicy.defaultPolicy(options),
  retry: RetryPolicy.defaultRetryPolicy,
  speculativeExecution: SpeculativeExecution.none
})

/** A session's profiles. */
export interface Profiles {
  readonly default: ExecutionProfile
  readonly named: ReadonlyMap<string, ExecutionProfile>
}

/**
 * The default profile (`defaults({ localDc })` with `default` over it) and the named ones, each over the default.
 * The name "default" names the default profile.
 */
export const profiles = (config?: {
  readonly localDc?: string | undefined
  readonly default?: Options
  readonly named?: Readonly<Record<string, Options>>
}): Profiles =>
  over(make(defaults({ localDc: config?.localDc }), config?.default ?? {}), config?.named)

/** `base` as the default profile, and the named ones, each over it. The name "default" names `base`. */
export const over = (base: ExecutionProfile, named?: Readonly<Record<string, Options>>): Profiles => {
  const profiles = new Map<string, ExecutionProfile>([["default", base]])
  for (const [name, options] of Object.entries(named ?? {})) if (name !== "default") profiles.set(name, make(base, options))
  return { default: base, named: profiles }
}

/** How a request picks its profile: a name, a profile value, or nothing for the default. */
export type Selector = string | ExecutionProfile | undefined

/** The profile `selector` picks. */
export const select = (profiles: Profiles, selector: Selector): Either.Either<ExecutionProfile, UnknownProfile> => {
  if (selector === undefined) return Either.right(profiles.default)
  if (typeof selector !== "string") return Either.right(selector)
  const p = profiles.named.get(selector)
  return p === undefined ? Either.left(new UnknownProfile({ name: selector, known: [...profiles.named.keys()] })) : Either.right(p)
}

/** The profile the current fiber's requests use when their statement names none (default: the session's default). */
export class CurrentProfile extends Context.Reference<CurrentProfile>()("@effect-cql/driver/ExecutionProfile/CurrentProfile", {
  defaultValue: (): Selector => undefined
}) {}

/** Runs `self` with its requests on profile `selector` (unless a statement names its own). */
export const withProfile =
  (selector: Selector) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(self, CurrentProfile, selector)
