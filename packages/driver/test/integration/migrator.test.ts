/**
 * The Migrator on the real node: two migrators started together apply each migration once (their DDL would fail
 * if run twice), a changed applied migration is refused, an interrupted run releases its lock and records only
 * what it finished, and a dead migrator's lock expires, on the integration project's single node. Two migrators
 * on the 3-node cluster: cluster.test.ts.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Cluster, cql, Migrator, Session } from "@effect-cql/driver"
import { Effect, Either, Fiber, Layer } from "effect"

const node = Session.layer({ contactPoints: ["127.0.0.1"] })

const table = (ks: string, name: string): Migrator.Migration["statements"][number] =>
  // No IF NOT EXISTS: a second run of it fails with AlreadyExists.
  `CREATE TABLE ${ks}.${name} (k int PRIMARY KEY, v text)`

const fresh = (ks: string) =>
  Effect.flatMap(Session.Session, (s) => s.execute(`DROP KEYSPACE IF EXISTS ${ks}`))

const recorded = (ks: string) =>
  Effect.flatMap(Session.Session, (s) => s.execute(cql`SELECT id, name FROM ${cql.id(ks)}.schema_migrations`)).pipe(
    Effect.map((rs) => rs.rows.map((r) => r["id"] as number).sort((a, b) => a - b))
  )

const lockRows = (ks: string) =>
  Effect.flatMap(Session.Session, (s) => s.execute(cql`SELECT owner FROM ${cql.id(ks)}.schema_migrations_lock`)).pipe(Effect.map((rs) => rs.rows.length))

describe("Migrator", () => {
  // The real clock: migrators wait for each other's lock on it.
  layer(node, { timeout: 240_000, excludeTestServices: true })((it) => {
    it.effect("two migrators started together: each migration applied once, the lock gone after", () =>
      Effect.gen(function* () {
        const ks = "it_migrate_race"
        yield* fresh(ks)
        const migrations: ReadonlyArray<Migrator.Migration> = [
          { id: 1, name: "users", statements: [table(ks, "users")] },
          { id: 2, name: "orders", statements: [table(ks, "orders"), `INSERT INTO ${ks}.orders (k, v) VALUES (1, 'first; order')`] },
          { id: 3, name: "items", statements: [table(ks, "items")] }
        ]
        // Two Sessions over two Clusters: two migrators, as two processes would be.
        const migrator = Migrator.run(migrations, { keyspace: ks }).pipe(Effect.provide(Layer.fresh(node)))
        const [a, b] = yield* Effect.all([migrator, migrator], { concurrency: "unbounded" })
        expect([a.length, b.length].sort()).toEqual([0, 3])
        expect([...a, ...b].map((x) => x.name)).toEqual(["users", "orders", "items"])
        expect(yield* recorded(ks)).toEqual([1, 2, 3])
        expect(yield* lockRows(ks)).toBe(0)
        // Once more: nothing to do.
        expect(yield* Migrator.run(migrations, { keyspace: ks })).toEqual([])
        const s = yield* Session.Session
        expect((yield* s.execute(`SELECT v FROM ${ks}.orders WHERE k = 1`)).rows).toEqual([{ v: "first; order" }])
      }))

    it.effect("an applied migration whose statements changed is MigrationChanged, and nothing runs", () =>
      Effect.gen(function* () {
        const ks = "it_migrate_changed"
        yield* fresh(ks)
        yield* Migrator.run([{ id: 1, name: "users", statements: [table(ks, "users")] }], { keyspace: ks })
        const changed = [
          { id: 1, name: "users", statements: [`CREATE TABLE ${ks}.users (k bigint PRIMARY KEY)`] },
          { id: 2, name: "later", statements: [table(ks, "later")] }
        ]
        const err = yield* Effect.flip(Migrator.run(changed, { keyspace: ks }))
        expect(err).toMatchObject({ _tag: "MigrationChanged", id: 1, name: "users" })
        expect(yield* recorded(ks)).toEqual([1])
        const metadata = (yield* Cluster.Cluster).metadata.current()
        expect(metadata.keyspaces.get(ks)?.tables.has("later")).toBe(false)
        expect(yield* lockRows(ks)).toBe(0)
      }))

    it.effect("interrupted midway: the lock is released, only finished migrations are recorded, a rerun completes", () =>
      Effect.gen(function* () {
        const ks = "it_migrate_interrupt"
        yield* fresh(ks)
        // Idempotent statements, as the module doc asks, so that the unfinished migration can run again whole.
        const migrations = Array.from({ length: 6 }, (_, i) => ({
          id: i + 1,
          name: `t${i + 1}`,
          statements: [`CREATE TABLE IF NOT EXISTS ${ks}.t${i + 1}a (k int PRIMARY KEY)`, `CREATE TABLE IF NOT EXISTS ${ks}.t${i + 1}b (k int PRIMARY KEY)`]
        }))
        const fiber = yield* Effect.fork(Migrator.run(migrations, { keyspace: ks }))
        // Wait until the first migration is recorded, then interrupt.
        yield* recorded(ks).pipe(
          Effect.either,
          Effect.repeat({ until: (r) => Either.isRight(r) && r.right.length >= 1 }),
          Effect.timeout("60 seconds")
        )
        yield* Fiber.interrupt(fiber)
        const done = yield* recorded(ks)
        expect(done.length).toBeGreaterThanOrEqual(1)
        expect(done.length).toBeLessThan(6)
        expect(done).toEqual(Array.from({ length: done.length }, (_, i) => i + 1))
        expect(yield* lockRows(ks)).toBe(0)
        const rest = yield* Migrator.run(migrations, { keyspace: ks })
        expect(rest.map((m) => m.id)).toEqual(Array.from({ length: 6 - done.length }, (_, i) => done.length + i + 1))
        expect(yield* recorded(ks)).toEqual([1, 2, 3, 4, 5, 6])
      }))

    it.effect("a dead migrator's lock: waited for until it expires, or MigrationLocked when the wait is shorter", () =>
      Effect.gen(function* () {
        const ks = "it_migrate_stale"
        yield* fresh(ks)
        const migrations = [{ id: 1, name: "users", statements: [table(ks, "users")] }]
        yield* Migrator.run([], { keyspace: ks })
        const s = yield* Session.Session
        // A lock taken by a process that died: it lives 4 more seconds.
        yield* s.execute(cql`INSERT INTO ${cql.id(ks)}.schema_migrations_lock (lock, owner) VALUES (${"migrations"}, ${"dead"}) USING TTL ${4}`)
        const locked = yield* Effect.flip(Migrator.run(migrations, { keyspace: ks, lockWait: "1 second" }))
        expect(locked._tag).toBe("MigrationLocked")
        expect(yield* recorded(ks)).toEqual([])
        const applied = yield* Migrator.run(migrations, { keyspace: ks, lockWait: "20 seconds" })
        expect(applied.map((m) => m.name)).toEqual(["users"])
      }))
  })
})
