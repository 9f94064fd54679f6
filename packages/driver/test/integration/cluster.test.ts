/**
 * The Session on real multi-node clusters started by the project's harness: token-aware routing, two Migrators
 * started together, a node killed (SIGKILL) while idempotent writes run, its restart, and DC-aware load balancing
 * over two data centres.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cluster as Clusters, ConnectionPools, LoadBalancingPolicy, Migrator, Session, TokenMap } from "@effect-cql/driver"
import { Codec, DataType } from "@effect-cql/protocol"
import { Context, Effect, Either, Exit, Fiber, Layer, Option, Queue, Scope, Stream } from "effect"
import { type Cluster, startCluster } from "../../../../scripts/harness.js"

const build = (config: Session.SessionConfig) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const ctx = yield* Layer.buildWithScope(Session.layer(config), scope)
    return { cluster: Context.get(ctx, Clusters.Cluster), session: Context.get(ctx, Session.Session), close: Scope.close(scope, Exit.void) }
  })

const routingKeyOfInt = (k: number) => {
  const bytes = Either.getOrThrow(Codec.encode(DataType.native.int, k))!
  return Option.getOrThrow(TokenMap.routingKey([bytes]))
}

describe("three nodes", () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster({ ipBase: 80, nodes: 3 })
  }, 300_000)
  afterAll(() => cluster?.stop(), 120_000)

  it.live(
    "token-aware: the coordinator of every single-partition prepared statement is one of its replicas",
    () =>
      Effect.gen(function* () {
        const { cluster: live, session, close } = yield* build({ contactPoints: [cluster.addresses[0]!], localDataCenter: "dc1" })
        yield* session.execute("CREATE KEYSPACE IF NOT EXISTS routed WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        yield* session.execute("CREATE TABLE IF NOT EXISTS routed.kv (k int PRIMARY KEY, v text)")
        // The keyspace must be in the token map before routing can use it.
        const metadata = live.metadata
        yield* Effect.iterate(0, { while: (n) => n < 100 && !metadata.current().keyspaces.has("routed"), body: (n) => Effect.as(Effect.sleep("100 millis"), n + 1) })
        let onReplica = 0
        const total = 1000
        for (let k = 0; k < total; k++) {
          const rs = yield* session.execute("INSERT INTO routed.kv (k, v) VALUES (?, ?)", [k, `v${k}`])
          const replicas = metadata.current().tokenMap!.replicasOfKey("routed", routingKeyOfInt(k)).map((h) => h.endpoint)
          if (replicas.includes(rs.coordinator)) onReplica++
        }
        expect(onReplica).toBe(total)
        yield* close
      }),
    180_000
  )

  it.live(
    "a statement prepared once is prepared on every node in the background (the Executor's work)",
    () =>
      Effect.gen(function* () {
        const { cluster: live, session, close } = yield* build({ contactPoints: [cluster.addresses[0]!], localDataCenter: "dc1" })
        const query = `SELECT release_version AS v${Date.now()} FROM system.local WHERE key = ?`
        yield* session.prepare(query)
        yield* live.executor.awaitIdle
        for (const address of cluster.addresses) {
          const pinned = yield* build({
            contactPoints: [address],
            loadBalancing: LoadBalancingPolicy.allowList(LoadBalancingPolicy.roundRobin(), [`${address}:9042`])
          })
          const rs = yield* pinned.session.execute("SELECT query_string FROM system.prepared_statements")
          expect({ address, has: rs.rows.some((r) => r["query_string"] === query) }).toEqual({ address, has: true })
          yield* pinned.close
        }
        yield* close
      }),
    120_000
  )

  it.live(
    "two migrators started together (each its own Cluster): both succeed, each migration applied once, the schema agreed on all 3 nodes, one row per migration",
    () =>
      Effect.gen(function* () {
        const ks = "it_migrate_cluster"
        const setup = yield* build({ contactPoints: [cluster.addresses[0]!], localDataCenter: "dc1" })
        yield* setup.session.execute(`DROP KEYSPACE IF EXISTS ${ks}`)
        yield* setup.close
        // No IF NOT EXISTS: a migration applied twice fails with AlreadyExists (or InvalidRequest for the ALTER).
        const migrations: ReadonlyArray<Migrator.Migration> = [
          { id: 1, name: "users", statements: [`CREATE TABLE ${ks}.users (id int PRIMARY KEY, name text)`] },
          { id: 2, name: "orders", statements: [`CREATE TABLE ${ks}.orders (id int PRIMARY KEY, user int)`, `ALTER TABLE ${ks}.users ADD email text`] },
          { id: 3, name: "seed", statements: [`INSERT INTO ${ks}.users (id, name, email) VALUES (1, 'Ada', 'ada@example.org')`] }
        ]
        const options = { keyspace: ks, replication: "{'class': 'SimpleStrategy', 'replication_factor': 3}" }
        // Two migrators as two processes would run them: each with a Cluster and Session of its own, through different nodes.
        // (Not built in acquireUseRelease: fibers forked in its uninterruptible acquire could not be interrupted at close.)
        const migrator = (contactPoint: string) =>
          Effect.flatMap(build({ contactPoints: [contactPoint], localDataCenter: "dc1" }), ({ cluster: live, session, close }) =>
            Migrator.run(migrations, options).pipe(
              Effect.provideService(Session.Session, session),
              Effect.provideService(Clusters.Cluster, live),
              Effect.ensuring(close)
            )
          )
        const [a, b] = yield* Effect.all([migrator(cluster.addresses[0]!), migrator(cluster.addresses[2]!)], { concurrency: "unbounded" })
        expect([a.length, b.length].sort()).toEqual([0, 3])
        const applied = [...a, ...b]
        expect(applied.map((m) => m.name)).toEqual(["users", "orders", "seed"])

        // Every node, asked directly: one schema version, the migrated tables and columns, the recorded migrations.
        const versions = new Set<string>()
        for (const address of cluster.addresses) {
          const pinned = yield* build({
            contactPoints: [address],
            loadBalancing: LoadBalancingPolicy.allowList(LoadBalancingPolicy.roundRobin(), [`${address}:9042`])
          })
          const local = yield* pinned.session.execute("SELECT schema_version FROM system.local")
          versions.add(String(local.rows[0]?.["schema_version"]))
          const tables = yield* pinned.session.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", [ks])
          expect({ address, tables: tables.rows.map((r) => r["table_name"]).sort() }).toEqual({
            address,
            tables: ["orders", "schema_migrations", "schema_migrations_lock", "users"]
          })
          const email = yield* pinned.session.execute("SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ? AND column_name = ?", [ks, "users", "email"])
          expect({ address, email: email.rows.length }).toEqual({ address, email: 1 })
          const rows = yield* pinned.session.execute(`SELECT id, name, checksum, applied_at FROM ${ks}.schema_migrations`, undefined, { consistency: "ALL" })
          expect(
            [...rows.rows].sort((x, y) => (x["id"] as number) - (y["id"] as number)).map((r) => ({ id: r["id"], name: r["name"], checksum: r["checksum"], at: r["applied_at"] }))
          ).toEqual(applied.map((m) => ({ id: m.id, name: m.name, checksum: Migrator.checksum(migrations[m.id - 1]!), at: m.appliedAt })))
          const lock = yield* pinned.session.execute(`SELECT owner FROM ${ks}.schema_migrations_lock`, undefined, { consistency: "ALL" })
          expect(lock.rows).toEqual([])
          yield* pinned.close
        }
        expect(versions.size).toBe(1)
        // The seed ran once: its row, read at ALL.
        const check = yield* build({ contactPoints: [cluster.addresses[1]!], localDataCenter: "dc1" })
        const users = yield* check.session.execute(`SELECT id, name, email FROM ${ks}.users`, undefined, { consistency: "ALL" })
        expect(users.rows).toEqual([{ id: 1, name: "Ada", email: "ada@example.org" }])
        yield* check.close
      }),
    180_000
  )

  it.live(
    "kill -9 a node during idempotent writes: Down is seen, >= 99.9% succeed, every acknowledged row reads back; restart: Up, pool refilled",
    () =>
      Effect.gen(function* () {
        const { cluster: live, session, close } = yield* build({
          contactPoints: cluster.addresses.slice(),
          localDataCenter: "dc1",
          requestTimeout: "2 seconds",
          heartbeatInterval: "1 second",
          reconnectionSchedule: ConnectionPools.reconnectionSchedule({ base: "500 millis", max: "2 seconds" })
        })
        const events = live.events
        const pools = live.pools
        const seen = yield* Queue.unbounded<string>()
        yield* events.onHostEvent((e) => Queue.unsafeOffer(seen, `${e._tag} ${e.host.endpoint}`))
        yield* session.execute("CREATE KEYSPACE IF NOT EXISTS survive WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
        yield* session.execute("CREATE TABLE IF NOT EXISTS survive.kv (k int PRIMARY KEY, v text)")
        const victim = `${cluster.addresses[1]}:9042`

        const acked: Array<number> = []
        let failed = 0
        const failures: Array<string> = []
        const writes = 3000
        const writer = Effect.forEach(
          Array.from({ length: writes }, (_, k) => k),
          (k) =>
            // QUORUM: an acknowledged write is on two replicas, so losing any one node cannot lose it (at ONE, a write the
            // dying node coordinated and alone acknowledged would be Cassandra's loss, not the driver's).
            session.execute("INSERT INTO survive.kv (k, v) VALUES (?, ?)", [k, `v${k}`], { consistency: "QUORUM", idempotent: true }).pipe(
              Effect.match({ onFailure: (e) => void (failed++, failures.push(String(e).slice(0, 300))), onSuccess: () => void acked.push(k) })
            ),
          { concurrency: 16, discard: true }
        )
        const running = yield* Effect.fork(writer)
        yield* Effect.sleep("300 millis")
        yield* Effect.promise(() => cluster.cassandra("kill", "2"))
        yield* Fiber.join(running)
        expect(failed / writes, `failures: ${failures.slice(0, 3).join("; ")}`).toBeLessThanOrEqual(0.001)
        // Down, from the pool's own sockets or from gossip.
        const down = yield* Queue.take(seen).pipe(Effect.repeat({ until: (e) => e === `Down ${victim}` }), Effect.timeout("30 seconds"))
        expect(down).toBe(`Down ${victim}`)
        // Nothing acknowledged is lost: read back at QUORUM (2 of RF 3, the dead node aside).
        const present = new Set<number>()
        for (let k = 0; k < writes; k += 100) {
          const batch = Array.from({ length: 100 }, (_, i) => k + i)
          const rs = yield* session.execute(`SELECT k FROM survive.kv WHERE k IN (${batch.join(",")})`, undefined, {
            consistency: "QUORUM",
            idempotent: true,
            timeout: "10 seconds"
          })
          for (const r of rs.rows) present.add(r["k"] as number)
        }
        expect(acked.filter((k) => !present.has(k))).toEqual([])

        yield* Effect.promise(() => cluster.cassandra("start-node", "2"))
        const up = yield* Queue.take(seen).pipe(Effect.repeat({ until: (e) => e === `Up ${victim}` }), Effect.timeout("60 seconds"))
        expect(up).toBe(`Up ${victim}`)
        // The pool's open connections (one entry per connection in the snapshot), until there is one.
        const refilled = yield* pools.snapshot.pipe(
          Effect.map((all) => all.find((p) => p.endpoint === victim)?.inFlight.length ?? 0),
          Effect.zipLeft(Effect.sleep("200 millis")),
          Effect.repeat({ until: (open) => open > 0 }),
          Effect.timeout("20 seconds")
        )
        expect(refilled).toBeGreaterThan(0)
        yield* close
      }),
    300_000
  )

  it.live(
    "chaos, short: a node paused (SIGSTOP) 6 s under 32 workers with the defaults: no failure, successes every second after the stall check's 2 s, stalled connections closed, the node used again once resumed",
    () =>
      Effect.gen(function* () {
        const { cluster: live, session, close } = yield* build({ contactPoints: [cluster.addresses[0]!], localDataCenter: "dc1" })
        yield* session.execute("CREATE KEYSPACE IF NOT EXISTS paused WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
        yield* session.execute("CREATE TABLE IF NOT EXISTS paused.kv (k int PRIMARY KEY, v text)")
        const victim = `${cluster.addresses[2]}:9042`
        const okBySecond = new Map<number, number>()
        const coordinators = new Map<number, Set<string>>()
        const failures: Array<string> = []
        const acked: Array<number> = []
        let next = 0
        let stop = false
        const options = { consistency: "QUORUM", idempotent: true, prepare: true } as const
        const succeeded = (coordinator: string) => {
          const second = Math.floor(Date.now() / 1000)
          okBySecond.set(second, (okBySecond.get(second) ?? 0) + 1)
          let seen = coordinators.get(second)
          if (seen === undefined) coordinators.set(second, (seen = new Set()))
          seen.add(coordinator)
        }
        const worker = Effect.gen(function* () {
          while (!stop) {
            const k = next++
            const wrote = yield* Effect.either(session.execute("INSERT INTO paused.kv (k, v) VALUES (?, ?)", [k, `v${k}`], options))
            if (Either.isLeft(wrote)) failures.push(String(wrote.left).slice(0, 200))
            else {
              acked.push(k)
              succeeded(wrote.right.coordinator)
            }
            const read = acked[Math.floor(Math.random() * acked.length)]
            if (read === undefined) continue
            const row = yield* Effect.either(session.execute("SELECT v FROM paused.kv WHERE k = ?", [read], options))
            if (Either.isLeft(row)) failures.push(String(row.left).slice(0, 200))
            else if (row.right.rows[0]?.["v"] !== `v${read}`) failures.push(`k ${read}: read ${String(row.right.rows[0]?.["v"])}`)
            else succeeded(row.right.coordinator)
          }
        })
        // The pool's own view: it goes down only when its connections close (a paused process keeps its sockets open).
        const poolChanges: Array<string> = []
        const watcher = yield* Effect.fork(
          Stream.runForEach(live.pools.stateChanges, (c) => Effect.sync(() => c.endpoint === victim && poolChanges.push(c.state)))
        )
        const workers = yield* Effect.fork(Effect.all(Array.from({ length: 32 }, () => worker), { concurrency: "unbounded", discard: true }))
        yield* Effect.sleep("3 seconds")
        const pausedAt = Math.floor(Date.now() / 1000)
        yield* Effect.promise(() => cluster.cassandra("pause", "3"))
        yield* Effect.sleep("6 seconds")
        yield* Effect.promise(() => cluster.cassandra("resume", "3"))
        const resumedAt = Math.floor(Date.now() / 1000)
        // The node is a coordinator again.
        const backAt = yield* Effect.sync(() => [...coordinators].find(([s, hosts]) => s > resumedAt && hosts.has(victim))?.[0]).pipe(
          Effect.zipLeft(Effect.sleep("500 millis")),
          Effect.repeat({ until: (s) => s !== undefined }),
          Effect.timeout("30 seconds")
        )
        stop = true
        yield* Fiber.join(workers)
        expect(failures).toEqual([])
        // The workers that sent to the paused node wait for the stall check and its probe (1 s + 1 s); with fast
        // workers that can be all of them, so the first two seconds may see nothing. From then on every whole second
        // has successes (without the check they would wait out the 12 s request timeout).
        for (let s = pausedAt + 3; s < resumedAt; s++) expect(okBySecond.get(s) ?? 0, `second ${s - pausedAt} of the pause`).toBeGreaterThan(0)
        // Its connection was closed as stalled (the pool went down), and it came back.
        expect(poolChanges).toEqual(["down", "up"])
        expect(backAt).toBeDefined()
        yield* Fiber.interrupt(watcher)
        yield* close
      }),
    180_000
  )
})

describe("two data centres", () => {
  let cluster: Cluster
  beforeAll(async () => {
    cluster = await startCluster({ ipBase: 90, nodes: 3, dcs: "2,1" })
  }, 300_000)
  afterAll(() => cluster?.stop(), 120_000)

  it.live(
    "DC-aware: every request goes to the local data centre while it is up",
    () =>
      Effect.gen(function* () {
        const { session, close } = yield* build({
          contactPoints: [cluster.addresses[2]!],
          loadBalancing: LoadBalancingPolicy.dcAware({ localDc: "dc1" })
        })
        const local = new Set(cluster.addresses.slice(0, 2).map((a) => `${a}:9042`))
        const coordinators = new Map<string, number>()
        for (let i = 0; i < 500; i++) {
          const rs = yield* session.execute("SELECT release_version FROM system.local")
          coordinators.set(rs.coordinator, (coordinators.get(rs.coordinator) ?? 0) + 1)
        }
        expect([...coordinators.keys()].filter((c) => !local.has(c))).toEqual([])
        expect(coordinators.size).toBe(2) // both local nodes share the load
        yield* close
      }),
    120_000
  )
})
