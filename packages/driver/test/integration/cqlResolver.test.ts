/** CqlResolver on a real Cassandra 5.0: batched, deduplicated lookups by partition key and by IN per partition. */
import { describe, expect, it } from "@effect/vitest"
import { BulkExecution, cql, CqlResolver, Session } from "@effect-cql/driver"
import { Effect, Option, Schema } from "effect"

const setup = Effect.gen(function* () {
  const s = yield* Session.Session
  yield* s.execute(`CREATE KEYSPACE IF NOT EXISTS it_resolver WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
  yield* s.execute(`CREATE TABLE IF NOT EXISTS it_resolver.events (org int, seq int, what text, PRIMARY KEY (org, seq))`)
  function* rows() {
    for (let org = 0; org < 5; org++) for (let seq = 0; seq < 20; seq++) yield cql`INSERT INTO it_resolver.events (org, seq, what) VALUES (${org}, ${seq}, ${`${org}/${seq}`})`
  }
  yield* BulkExecution.run(rows(), { concurrency: 64 })
})

class EventId extends Schema.Class<EventId>("EventId")({ org: Schema.Number, seq: Schema.Number }) {}
const Event = Schema.Struct({ org: Schema.Number, seq: Schema.Number, what: Schema.String })

describe("CqlResolver", () => {
  it.layer(Session.layer({ contactPoints: ["127.0.0.1"] }), { timeout: 60_000 })((it) => {
    it.effect("findByIdIn reads each partition's keys with one IN statement and matches rows back", () =>
      Effect.gen(function* () {
        yield* setup
        const events = yield* CqlResolver.findByIdIn({
          Id: EventId,
          Result: Event,
          ResultId: (e) => new EventId({ org: e.org, seq: e.seq }),
          partitionOf: (id) => id.org,
          execute: (ids) => cql`SELECT org, seq, what FROM it_resolver.events WHERE org = ${ids[0].org} AND seq IN ${cql.in(ids.map((i) => i.seq))}`
        })
        const keys = [[0, 1], [3, 19], [0, 5], [3, 25], [4, 0], [0, 1]].map(([org, seq]) => new EventId({ org: org!, seq: seq! }))
        const viaRequests = yield* Effect.forEach(keys, events.execute, { batching: true })
        const inHand = yield* events.executeAll(keys)
        const whats = ["0/1", "3/19", "0/5", null, "4/0", "0/1"]
        expect(viaRequests.map((o) => Option.getOrNull(Option.map(o, (e) => e.what)))).toEqual(whats)
        expect(inHand.map((o) => Option.getOrNull(Option.map(o, (e) => e.what)))).toEqual(whats)
      }))

    it.effect("findById: one statement per distinct key; an unknown table fails every lookup of the batch", () =>
      Effect.gen(function* () {
        yield* setup
        const orgs = yield* CqlResolver.findById({
          Id: Schema.Number,
          Result: Schema.Struct({ n: Schema.BigIntFromSelf }),
          execute: (org) => cql`SELECT count(*) AS n FROM it_resolver.events WHERE org = ${org}`
        })
        expect(yield* orgs.executeAll([0, 4, 9])).toEqual([Option.some({ n: 20n }), Option.some({ n: 20n }), Option.some({ n: 0n })])
        const broken = yield* CqlResolver.findById({ Id: Schema.Number, Result: Event, execute: (org) => cql`SELECT * FROM it_resolver.nope WHERE org = ${org}` })
        const errors = yield* Effect.forEach([1, 2], (k) => Effect.flip(broken.execute(k)), { batching: true })
        expect(errors.map((e) => e._tag)).toEqual(["Invalid", "Invalid"])
      }))
  })
})
