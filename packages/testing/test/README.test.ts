/** The README's examples, run as they are written there (imports aside), so that they cannot go stale. */
import { CqlError, Session, Statement } from "@effect-cql/driver"
import { DataType } from "@effect-cql/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Schema, TestClock } from "effect"
import { StubServer, TestSession } from "../src/index.js"

class User extends Schema.Class<User>("User")({ id: Schema.Number, name: Schema.String }) {}
const userById = Statement.typed({
  query: "SELECT id, name FROM app.users WHERE id = ?",
  Params: Schema.Tuple(Schema.Number),
  Row: User
})

// The code under test only needs the Session.
const nameOf = (id: number) =>
  Effect.flatMap(Session.Session, (s) => s.execute(userById([id]))).pipe(Effect.map((rs) => rs.rows[0]?.name))

const TestLive = TestSession.layer({
  rules: [
    // Exact text (or a RegExp, or a predicate), optionally the parameters (after Schema encoding).
    { query: "SELECT id, name FROM app.users WHERE id = ?", params: [1], rows: [{ id: 1, name: "Ada" }] },
    { query: /^INSERT INTO app\.users/ }
  ]
})

describe("users", () => {
  it.layer(TestLive)((it) => {
    it.effect("reads a user and records the statement", () =>
      Effect.gen(function* () {
        expect(yield* nameOf(1)).toBe("Ada")
        const test = yield* TestSession.TestSession
        expect(yield* test.recorded).toEqual([
          { _tag: "Execute", query: "SELECT id, name FROM app.users WHERE id = ?", params: [1], options: undefined }
        ])
      }))

    it.effect("a statement no rule matches fails with a typed Invalid naming it", () =>
      Effect.gen(function* () {
        const err = yield* Effect.flip(nameOf(2))
        expect(err._tag).toBe("Invalid") // "TestSession: no rule matches ... with params [ 2 ]; 2 rule(s): ..."
      }))
  })

  it.effect("errors and delays: TestClock moves time", () =>
    Effect.gen(function* () {
      const { session } = yield* TestSession.make({
        rules: [
          { query: "SELECT v FROM kv", delay: "2 seconds", rows: [{ v: 1 }] },
          // Newer rules are checked first; `times: 1` answers once, then gives way.
          { query: "SELECT v FROM kv", error: new CqlError.Overloaded({ host: "n1", message: "busy" }), times: 1 }
        ]
      })
      expect((yield* Effect.flip(session.execute("SELECT v FROM kv")))._tag).toBe("Overloaded")
      const fiber = yield* Effect.fork(session.execute("SELECT v FROM kv"))
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(fiber)).rows).toEqual([{ v: 1 }])
    }))
})


it.scopedLive("README: the driver against three stub nodes", () =>
  Effect.gen(function* () {
    const server = yield* StubServer.make({
      nodes: 3,
      port: 0,
      keyspaces: [{
        name: "app",
        tables: [{ name: "users", columns: { id: DataType.native.int, name: DataType.native.varchar }, partitionKey: ["id"] }]
      }],
      rules: [{ query: "SELECT name FROM app.users WHERE id = ?", params: [1], rows: [{ name: "Ada" }] }]
    })
    const session = yield* Layer.build(Session.layer({ contactPoints: server.contactPoints })).pipe(
      Effect.map(Context.get(Session.Session))
    )
    expect((yield* session.execute("SELECT name FROM app.users WHERE id = ?", [1])).rows).toEqual([{ name: "Ada" }])

    // Script the nodes: an error with its fields, twice. The default retry policy tries an Unavailable once more
    // on the next host, so the caller sees the second one; then look at what the nodes received.
    yield* server.addRules({
      query: /FROM app\.users/,
      error: { kind: "Unavailable", message: "Cannot achieve consistency level QUORUM", consistency: "QUORUM", required: 2, alive: 1 },
      times: 2
    })
    const err = yield* Effect.flip(session.execute("SELECT name FROM app.users WHERE id = ?", [1]))
    expect(err).toMatchObject({ _tag: "Unavailable", required: 2, alive: 1 })
    const requests = yield* server.requests // { node, connection, version, stream, at, request, query }, all nodes
    expect(requests.filter((r) => r.query === "SELECT name FROM app.users WHERE id = ?").map((r) => r.request._tag)).toContain("Execute")
    // One node's own: server.nodes[0]!.requests, .addRules, .stopAccepting, .pushEvent(...), ...
  }))
