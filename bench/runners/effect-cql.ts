/**
 * Runner: effect-cql's Session (its defaults: one connection, v5 when the server speaks it), in two ways of calling
 * it:
 * - `effect-cql`: the workers are fibers of one Effect program, each running its requests in a loop: how an
 *   Effect service runs them;
 * - `effect-cql-promise`: Promise workers, as for the other drivers: how Promise code calls it. Statements go
 *   through `session.executePromise` (no fiber per request); batches and streams through one `runPromise` each.
 * Streaming uses `session.stream` (one chunk per page) in both. Two more ways, for select, insert and batch:
 * - `effect-cql-foreach`: `Effect.forEach(operations, op, { concurrency })` over blocks of operations, as an
 *   application would write it;
 * - `effect-cql-bulk`: `BulkExecution.run` over a generator of statements: one fiber for all of them.
 */
import { BulkExecution, Session } from "@effect-cql/driver"
import type { Statement } from "@effect-cql/driver"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { main } from "../lib/harness.js"
import type { WorkerHooks } from "../lib/harness.js"
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
  // One statement per operation, for BulkExecution (a batch is not a statement: bulk runs select and insert).
  const statementOf = {
    select: (k: number): Statement.Statement => ({ query: cql.select, params: [k], options: prepared }),
    insert: (k: number): Statement.Statement => ({ query: cql.insert, params: [k, nameOf(k), nOf(k), scoreOf(k)], options: prepared })
  }
  const timed = <A>(op: (arg: number) => Effect.Effect<A, unknown>, hooks: WorkerHooks) => (arg: number) => {
    const t0 = performance.now()
    return Effect.match(op(arg), { onFailure: hooks.failed, onSuccess: () => hooks.done(t0) })
  }
  // Effect.forEach takes a finite input: blocks of operations, each as large as the window lets it be.
  const BLOCK = 4096
  const forEachWorkers = (op: (arg: number) => Effect.Effect<unknown, unknown>, concurrency: number, hooks: WorkerHooks) => {
    const step = timed(op, hooks)
    const block = (): Array<number> => {
      const out: Array<number> = []
      for (let arg = hooks.next(); arg !== undefined && out.length < BLOCK; arg = out.length < BLOCK ? hooks.next() : undefined) out.push(arg)
      return out
    }
    const loop: Effect.Effect<void> = Effect.suspend(() => {
      const args = block()
      return args.length === 0 ? Effect.void : Effect.zipRight(Effect.forEach(args, step, { concurrency, discard: true }), loop)
    })
    return runtime.runPromise(loop)
  }
  const bulkWorkers = (statement: (k: number) => Statement.Statement, concurrency: number, hooks: WorkerHooks) => {
    // Start times by index, in a ring: an index leaves it once `ring` later statements have started, far more
    // than the `concurrency` in flight, so the runner's memory stays flat however long the window.
    const ring = new Float64Array(2 ** Math.max(16, Math.ceil(Math.log2(concurrency * 64))))
    const mask = ring.length - 1
    let index = 0
    function* statements() {
      for (let arg = hooks.next(); arg !== undefined; arg = hooks.next()) {
        ring[index++ & mask] = performance.now()
        yield statement(arg)
      }
    }
    return runtime.runPromise(
      BulkExecution.run(statements(), {
        concurrency,
        onResult: (i, result) => (result._tag === "Right" ? hooks.done(ring[i & mask]!) : hooks.failed(result.left))
      }).pipe(Effect.asVoid)
    )
  }
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
      : spec.driver === "effect-cql-foreach"
      ? { runWorkers: (workload, concurrency, hooks) => forEachWorkers(ops[workload], concurrency, hooks) }
      : spec.driver === "effect-cql-bulk"
      ? {
          runWorkers: (workload, concurrency, hooks) =>
            workload === "batch" ? Promise.reject(new Error("bulk execution runs select and insert")) : bulkWorkers(statementOf[workload], concurrency, hooks)
        }
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
