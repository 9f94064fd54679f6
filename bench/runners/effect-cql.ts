/**
 * Runner: effect-cql's Session (its defaults: one connection, v5 when the server speaks it). Each request is one
 * `runPromise` of `session.execute`, as an application crossing from Promise code would run it; the harness keeps
 * the same N awaiting workers as for the other drivers. Streaming uses `session.stream` (one chunk per page).
 */
import { Session } from "@effect-cql/driver"
import type { Statement } from "@effect-cql/driver"
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
  return {
    protocol: session.protocolVersion,
    select: (k) => runtime.runPromise(session.execute(cql.select, [k], prepared)),
    insert: (k) => runtime.runPromise(session.execute(cql.insert, [k, nameOf(k), nOf(k), scoreOf(k)], prepared)),
    batch: (p) => {
      // Plain statement objects: Statement.make's Statement<Row> is not accepted where Statement<unknown> is.
      const statements: Array<Statement.Statement<unknown>> = []
      for (let c = 0; c < BATCH_SIZE; c++) {
        const k = p * BATCH_SIZE + c
        statements.push({ query: cql.batchInsert, params: [p, c, nameOf(k), nOf(k), scoreOf(k)] })
      }
      return runtime.runPromise(session.batch(statements, { type: "UNLOGGED" }))
    },
    scan: (lo, hi, pageSize, onPage) =>
      runtime.runPromise(
        session.stream(cql.scan, [lo, hi], { prepare: true, pageSize }).pipe(
          Stream.chunks,
          Stream.takeWhile((page) => onPage(Chunk.size(page))),
          Stream.runDrain
        )
      ),
    close: () => runtime.dispose()
  }
})
