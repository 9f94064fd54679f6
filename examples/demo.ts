/**
 * `npm run demo`: starts a local Cassandra 5.0 when none answers on 127.0.0.1:9042, then uses effect-cql:
 * a scoped Session layer, a typed statement with Effect Schema, a batch, paging as a Stream, and a typed error.
 */
import { Session, Statement } from "@effect-cql/driver"
import { Console, Effect, Schema, Stream } from "effect"
import { portAnswers, startCluster } from "../scripts/harness.js"

class User extends Schema.Class<User>("User")({
  id: Schema.Number,
  name: Schema.String,
  email: Schema.String
}) {}

const userById = Statement.typed({
  query: "SELECT id, name, email FROM demo.users WHERE id = ?",
  Params: Schema.Tuple(Schema.Number),
  Row: User
})

const program = Effect.gen(function* () {
  const session = yield* Session.Session
  const version = yield* session.execute("SELECT release_version FROM system.local")
  yield* Console.log(`connected with protocol v${session.protocolVersion} to Cassandra ${version.rows[0]!["release_version"]}`)

  yield* session.execute("CREATE KEYSPACE IF NOT EXISTS demo WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
  yield* session.execute("CREATE TABLE IF NOT EXISTS demo.users (id int PRIMARY KEY, name text, email text)")
  yield* session.batch(
    ["Ada", "Grace", "Edsger", "Barbara"].map((name, i) => ({
      query: "INSERT INTO demo.users (id, name, email) VALUES (?, ?, ?)",
      params: [i + 1, name, `${name.toLowerCase()}@example.com`]
    })),
    { type: "UNLOGGED" }
  )

  const grace = yield* session.execute(userById([2]))
  yield* Console.log(`typed row: ${grace.rows[0]!.name} <${grace.rows[0]!.email}> (a ${grace.rows[0]!.constructor.name})`)

  const names = yield* session.stream("SELECT name FROM demo.users", undefined, { pageSize: 2 }).pipe(
    Stream.map((row) => String(row["name"])),
    Stream.runCollect
  )
  yield* Console.log(`streamed ${names.length} users, 2 per page: ${[...names].sort().join(", ")}`)

  const recovered = yield* session
    .execute("SELECT * FROM demo.no_such_table")
    .pipe(Effect.catchTag("Invalid", (e) => Effect.succeed(`caught Invalid from ${e.host}: ${e.message}`)))
  yield* Console.log(recovered)
})

if (!(await portAnswers("127.0.0.1", 9042))) {
  console.log("starting Cassandra 5.0 on 127.0.0.1 (scripts/cassandra.sh start 1) ...")
  await startCluster({ ipBase: 0, nodes: 1 })
  console.log("it keeps running; stop it with: npm run cassandra -- stop")
}
await Effect.runPromise(program.pipe(Effect.provide(Session.layer({ contactPoints: ["127.0.0.1"], localDataCenter: "dc1" }))))
