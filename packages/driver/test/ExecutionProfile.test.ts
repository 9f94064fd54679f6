import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as CqlError from "../src/CqlError.js"
import * as ExecutionProfile from "../src/ExecutionProfile.js"
import type { Host } from "../src/Metadata.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as SpeculativeExecution from "../src/SpeculativeExecution.js"

const host = (n: number, datacenter: string): Host => ({
  endpoint: `10.0.0.${n}:9042`, address: `10.0.0.${n}`, port: 9042, broadcastAddress: undefined, hostId: undefined, datacenter,
  rack: "r1", tokens: [], releaseVersion: undefined, schemaVersion: undefined, state: "up"
})
const view = { hosts: new Map([host(1, "dc1"), host(2, "dc2")].map((h) => [h.endpoint, h])), tokenMap: undefined }
const planOf = (p: ExecutionProfile.ExecutionProfile) => Array.from(p.loadBalancing.newQueryPlan(view), (h) => h.datacenter)

describe("ExecutionProfile", () => {
  it("has the driver's defaults", () => {
    const d = ExecutionProfile.defaults()
    expect(d.consistency).toBe("LOCAL_ONE")
    expect(d.serialConsistency).toBe("SERIAL")
    expect(Duration.toMillis(d.requestTimeout)).toBe(12_000)
    expect(d.pageSize).toBe(5000)
    expect(d.idempotent).toBe(false)
    expect(d.retry).toBe(RetryPolicy.defaultRetryPolicy)
    expect(d.speculativeExecution).toBe(SpeculativeExecution.none)
    expect(planOf(d).sort()).toEqual(["dc1", "dc2"])
    expect(planOf(ExecutionProfile.defaults({ localDc: "dc2" }))).toEqual(["dc2"])
    expect(ExecutionProfile.defaults().loadBalancing).not.toBe(d.loadBalancing)
  })

  it("builds named profiles over the default, and the default over the driver's defaults", () => {
    const speculative = SpeculativeExecution.constant({ delay: "50 millis", maxExecutions: 2 })
    const profiles = ExecutionProfile.profiles({
      localDc: "dc1",
      default: { consistency: "QUORUM", requestTimeout: "2 seconds" },
      named: {
        olap: { consistency: "ONE", requestTimeout: "1 minute", pageSize: 100, retry: RetryPolicy.fallthroughRetryPolicy },
        fast: { idempotent: true, speculativeExecution: speculative },
        default: { consistency: "ALL" }
      }
    })
    expect(profiles.default.consistency).toBe("QUORUM")
    expect(Duration.toMillis(profiles.default.requestTimeout)).toBe(2000)
    expect(planOf(profiles.default)).toEqual(["dc1"])
    const olap = profiles.named.get("olap")!
    expect([olap.consistency, Duration.toMillis(olap.requestTimeout), olap.pageSize, olap.retry]).toEqual(["ONE", 60_000, 100, RetryPolicy.fallthroughRetryPolicy])
    expect(olap.loadBalancing).toBe(profiles.default.loadBalancing)
    const fast = profiles.named.get("fast")!
    expect([fast.consistency, Duration.toMillis(fast.requestTimeout), fast.idempotent, fast.speculativeExecution]).toEqual(["QUORUM", 2000, true, speculative])
    // "default" names the default profile; it cannot be redefined as a named one.
    expect(profiles.named.get("default")).toBe(profiles.default)
    expect([...profiles.named.keys()]).toEqual(["default", "olap", "fast"])
  })

  it("selects by name, by value, or the default", () => {
    const profiles = ExecutionProfile.profiles({ named: { olap: { pageSize: 10 } } })
    const own = ExecutionProfile.make(profiles.default, { consistency: "TWO" })
    expect(ExecutionProfile.select(profiles, undefined)).toEqual(Either.right(profiles.default))
    expect(ExecutionProfile.select(profiles, "olap")).toEqual(Either.right(profiles.named.get("olap")))
    expect(ExecutionProfile.select(profiles, own)).toEqual(Either.right(own))
    const unknown = ExecutionProfile.select(profiles, "oltp")
    expect(unknown).toEqual(Either.left(new CqlError.UnknownProfile({ name: "oltp", known: ["default", "olap"] })))
    expect(Either.isLeft(unknown) && unknown.left.message).toBe('no execution profile named "oltp" (known: default, olap)')
  })

  it.effect("withProfile sets the fiber's current profile for the effect it wraps", () =>
    Effect.gen(function* () {
      expect(yield* ExecutionProfile.CurrentProfile).toBeUndefined()
      const inside = yield* ExecutionProfile.CurrentProfile.pipe(ExecutionProfile.withProfile("olap"))
      expect(inside).toBe("olap")
      const nested = yield* Effect.gen(function* () {
        const outer = yield* ExecutionProfile.CurrentProfile
        const inner = yield* ExecutionProfile.CurrentProfile.pipe(ExecutionProfile.withProfile("fast"))
        return [outer, inner]
      }).pipe(ExecutionProfile.withProfile("olap"))
      expect(nested).toEqual(["olap", "fast"])
      expect(yield* ExecutionProfile.CurrentProfile).toBeUndefined()
    })
  )
})
