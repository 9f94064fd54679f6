/**
 * `npm run example:tracing`: one request with a retry, exported through the OpenTelemetry SDK, printed as a span
 * tree with its attributes. The target is the stub server (two nodes; the first answers Unavailable once), because
 * a real node cannot be made to refuse a request on demand; the spans are the same against Cassandra.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { type LoadBalancingPolicy, RequestTracker, Session } from "@effect-cql/driver"
import { StubServer } from "@effect-cql/testing"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Console, Effect, Layer } from "effect"

const query = "SELECT name FROM shop.customers WHERE id = 42"

// The stub's nodes in their order, so that the retry is seen to move to the second.
const inOrder = (endpoints: ReadonlyArray<string>): LoadBalancingPolicy.LoadBalancingPolicy => ({
  distance: () => "local",
  newQueryPlan: (view) => endpoints.flatMap((e) => (view.hosts.get(e)?.state === "up" ? [view.hosts.get(e)!] : []))
})

const printTree = (spans: ReadonlyArray<ReadableSpan>) => {
  const ms = (s: ReadableSpan) => (s.duration[0] * 1e3 + s.duration[1] / 1e6).toFixed(2)
  const print = (s: ReadableSpan, depth: number): Array<string> => [
    `${"  ".repeat(depth)}${s.name} (${ms(s)} ms, status ${["UNSET", "OK", "ERROR"][s.status.code]})`,
    ...Object.entries(s.attributes).map(([k, v]) => `${"  ".repeat(depth)}  ${k} = ${JSON.stringify(v)}`),
    ...spans
      .filter((c) => c.parentSpanContext?.spanId === s.spanContext().spanId)
      .sort((a, b) => a.startTime[1] - b.startTime[1] + (a.startTime[0] - b.startTime[0]) * 1e9)
      .flatMap((c) => print(c, depth + 1))
  ]
  return spans.filter((s) => s.parentSpanContext === undefined).flatMap((s) => print(s, 0)).join("\n")
}

const program = Effect.gen(function* () {
  const server = yield* StubServer.make({ firstAddress: "127.0.5.1", nodes: 2, port: 0, rules: [{ query, rows: [{ name: "Ada" }] }] })
  yield* server.nodes[0]!.addRules({
    query,
    error: { kind: "Unavailable", message: "Cannot achieve consistency level QUORUM", consistency: "QUORUM", required: 2, alive: 1 },
    times: 1
  })
  const exporter = new InMemorySpanExporter()
  const spans = yield* Effect.gen(function* () {
    const session = yield* Session.Session
    yield* session.execute(query, undefined, { consistency: "QUORUM", idempotent: true })
    return exporter.getFinishedSpans()
  }).pipe(
    Effect.provide(
      Layer.mergeAll(
        Session.layer({
          contactPoints: [server.contactPoints[0]!],
          loadBalancing: inOrder(server.contactPoints),
          requestTracker: RequestTracker.slowQueryLogger({ threshold: "0 millis" })
        }),
        NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exporter) }))
      )
    )
  )
  yield* Console.log(printTree(spans))
})

Effect.runPromise(Effect.scoped(program)).catch((e) => {
  console.error(e)
  process.exitCode = 1
})
