/** A load balancing policy for stub tests: the hosts that are up, in the order of `endpoints`, for every request. */
import type { LoadBalancingPolicy } from "@effect-cql/driver"

export const fixedOrder = (endpoints: ReadonlyArray<string>): LoadBalancingPolicy.LoadBalancingPolicy => ({
  distance: () => "local",
  newQueryPlan: (view) =>
    endpoints.flatMap((e) => {
      const h = view.hosts.get(e)
      return h !== undefined && h.state === "up" ? [h] : []
    })
})
