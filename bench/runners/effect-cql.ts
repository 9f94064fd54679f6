/**
 * Runner: effect-cql's Session (its defaults: one connection, v5 when the server speaks it), in two ways of calling
 * it:
 * - `effect-cql`: the workers are fibers of one Effect program, each running its requests in a loop: how an
 *   Effect service runs them;
 * - `effect-cql-promise`: Promise workers, as for the other drivers: how Promise code calls it. Statements go
 *   through `session.executePromise` (no fiber per request); batches and streams through one `runPromise` each.
 * Streaming uses `session.stream` (one chunk per page) in both.
 */
import { Session } from "@effect-cql/driver"
import type { Statement } from "@effect-cql/driver"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { main } from "../lib/harness.js"
import { BATCH_SIZE, cql, nameOf, nOf, scoreOf } from "../lib/spec.js"

await main(async (spec) => {
  const runtime = ManagedRuntime.make(
    Session.layer({
      contactPoints: [spec.target.host],
      port: spec.target.port,
      localDataCenter: "dc1",
      defaultConsistency: "LOCAL_ONE"
    })
  )
  const session = await runtime.runPromise(Session.Session)
  const prepared = { prepare: true } as const
  // Prepare up front, as the other runners do, so the first measured requests don't include it.
  await runtime.runPromise(Effect.forEach([cql.select, cql.insert, cql.batchInsert, cql.scan], (q) => session.prepare(q)))
  const select = (k: number) => session.execute(cql.select, [k], prepared)
  const insert = (k: number) => session.execute(cql.insert, [k, nameOf(k), nOf(k), scoreOf(k)], prepared)
  const batch = (p: number) => {
    // Plain statement objects: Statement.make's Statement<Row> is not accepted where Statement<unknown> is.
    const statements: Array<Statement.Statement<unknown>> = []
    for (let c = 0; c < BATCH_SIZE; c++) {
      const k = p * BATCH_SIZE + c
      statements.push({ query: cql.batchInsert, params: [p, c, nameOf(k), nOf(k), scoreOf(k)] })
    }
    return session.batch(statements, { type: "UNLOGGED" })
  }
  const ops = { select, insert, batch }
  const failed = Symbol("failed")
  return {
    protocol: session.protocolVersion,
    select: (k) => session.executePromise(cql.select, [k], prepared),
    insert: (k) => session.executePromise(cql.insert, [k, nameOf(k), nOf(k), scoreOf(k)], prepared),
    batch: (p) => runtime.runPromise(batch(p)),
    scan: (lo, hi, pageSize, onPage) =>
      runtime.runPromise(
        session.stream(cql.scan, [lo, hi], { prepare: true, pageSize }).pipe(
          Stream.chunks,
          Stream.takeWhile((page) => onPage(Chunk.size(page))),
          Stream.runDrain
        )
      ),
    close: () => runtime.dispose(),
    ...(spec.driver === "effect-cql-promise"
      ? {}
      : {
          runWorkers: (workload, concurrency, hooks) => {
            const op = ops[workload]
            const worker = () => {
              let arg: number | undefined
              let t0 = 0
              return Effect.whileLoop({
                while: () => (arg = hooks.next()) !== undefined,
                body: () => {
                  t0 = performance.now()
                  // catchAllCause: one failure frame; a success passes through untouched.
                  return Effect.catchAllCause(op(arg!), (cause) => {
                    hooks.failed(Cause.squash(cause))
                    return Effect.succeed(failed)
                  })
                },
                step: (r: unknown) => {
                  if (r !== failed) hooks.done(t0)
                }
              })
            }
            return runtime.runPromise(Effect.all(Array.from({ length: concurrency }, worker), { concurrency: "unbounded", discard: true }))
          }
        })
  }
})
