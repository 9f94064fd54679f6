/**
 * Schema migrations for CQL: ordered migrations (from records or from a directory of `NNNN_name.cql` files),
 * applied once each, by one process at a time.
 *
 * - Order: by `id` (the file name's number); two migrations with one id are refused.
 * - Record: `<keyspace>.schema_migrations` holds the id, name, checksum (SHA-256 of the statements) and time of
 *   each applied migration; a migration is recorded once all its statements succeeded. An applied migration whose
 *   checksum has changed since is refused (`MigrationChanged`) before anything runs.
 * - Lock: a lightweight transaction (`INSERT ... IF NOT EXISTS USING TTL`) on `<keyspace>.schema_migrations_lock`
 *   lets one migrator in; the others wait (up to `lockWait`) and then find the work done. The holder renews the
 *   lock while it works and deletes it when done, failed or interrupted; a process that dies leaves it to expire
 *   (`lockTtl`).
 * - Schema agreement: after each statement that changed the schema, every live node must report the same schema
 *   version before the next statement runs (`SchemaNotAgreed` otherwise).
 *
 * CQL has no transactional DDL: a migration interrupted midway is not recorded and runs again whole next time,
 * so its statements should be idempotent (`IF NOT EXISTS`, `IF EXISTS`).
 */
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { createHash, randomUUID } from "node:crypto"
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import * as Cluster from "./Cluster.js"
import { cql } from "./CqlTemplate.js"
import type * as CqlError from "./CqlError.js"
import { splitStatements } from "./internal/migrate/cqlScript.js"
import { Session } from "./Session.js"

export interface Migration {
  /** The order: migrations run by ascending id. */
  readonly id: number
  readonly name: string
  readonly statements: ReadonlyArray<string>
}

export interface Applied {
  readonly id: number
  readonly name: string
  readonly checksum: string
  readonly appliedAt: Date
}

/** Two migrations share an id, or a file name does not start with one. */
export class InvalidMigrations extends Data.TaggedError("InvalidMigrations")<{ readonly message: string }> {}

/** A directory of migrations could not be read. */
export class MigrationsUnreadable extends Data.TaggedError("MigrationsUnreadable")<{ readonly path: string; readonly cause: unknown }> {
  override get message() {
    return `cannot read migrations from ${this.path}: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/** A migration that was applied has changed since (its statements no longer have the recorded checksum). */
export class MigrationChanged extends Data.TaggedError("MigrationChanged")<{
  readonly id: number
  readonly name: string
  readonly recorded: string
  readonly current: string
}> {
  override get message() {
    return `migration ${this.id} (${this.name}) was applied with checksum ${this.recorded} but is now ${this.current}: add a new migration instead`
  }
}

/** Another migrator held the lock for longer than `lockWait`. */
export class MigrationLocked extends Data.TaggedError("MigrationLocked")<{ readonly waited: Duration.Duration }> {
  override get message() {
    return `another migrator held the migration lock for all of ${Duration.format(this.waited)}`
  }
}

/** After a schema change, the live nodes did not report one schema version in time. */
export class SchemaNotAgreed extends Data.TaggedError("SchemaNotAgreed")<{ readonly migration: number; readonly statement: string }> {
  override get message() {
    return `the nodes did not agree on the schema after a statement of migration ${this.migration}: ${this.statement}`
  }
}

export type MigratorError = InvalidMigrations | MigrationChanged | MigrationLocked | SchemaNotAgreed | CqlError.RequestError

export interface Options {
  /** Where the migrations and lock tables live; created when missing. */
  readonly keyspace: string
  /** The replication of that keyspace, when it is created (CQL map text). Default SimpleStrategy, factor 1. */
  readonly replication?: string
  /** How long a lock lives unless renewed (a dead migrator's lock expires after it). Default 60 s. */
  readonly lockTtl?: Duration.DurationInput
  /** How long to wait for another migrator's lock. Default 5 minutes. */
  readonly lockWait?: Duration.DurationInput
  /** How long the nodes may take to agree on the schema after each change. Default 30 s. */
  readonly schemaAgreementTimeout?: Duration.DurationInput
}

export const checksum = (m: Migration): string => createHash("sha256").update(m.statements.join(";\n")).digest("hex")

/** Migrations sorted by id; refused when two share one. */
export const fromRecords = (migrations: Iterable<Migration>): Effect.Effect<ReadonlyArray<Migration>, InvalidMigrations> =>
  Effect.suspend(() => {
    const sorted = [...migrations].sort((a, b) => a.id - b.id)
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.id === sorted[i - 1]!.id) {
        return Effect.fail(new InvalidMigrations({ message: `migrations ${sorted[i - 1]!.name} and ${sorted[i]!.name} share id ${sorted[i]!.id}` }))
      }
    }
    return Effect.succeed(sorted)
  })

/** `NNNN_name.cql` files of a directory (other files are ignored), each split into statements at its semicolons. */
export const fromDirectory = (path: string): Effect.Effect<ReadonlyArray<Migration>, InvalidMigrations | MigrationsUnreadable> =>
  Effect.tryPromise({
    try: async () => {
      const files = (await readdir(path)).filter((f) => f.endsWith(".cql"))
      return Promise.all(files.map(async (file) => ({ file, text: await readFile(join(path, file), "utf8") })))
    },
    catch: (cause) => new MigrationsUnreadable({ path, cause })
  }).pipe(
    Effect.flatMap((files) => {
      const migrations: Array<Migration> = []
      for (const { file, text } of files) {
        const m = /^(\d+)_(.+)\.cql$/.exec(file)
        if (m === null) return Effect.fail(new InvalidMigrations({ message: `${file}: a migration file is named NNNN_name.cql` }))
        migrations.push({ id: Number(m[1]), name: m[2]!, statements: splitStatements(text) })
      }
      return fromRecords(migrations)
    })
  )

const LOCK = "migrations"

/**
 * Applies the migrations not applied yet, in order, holding the lock; returns those it applied (none when another
 * migrator did the work). See the module doc.
 */
export const run = (
  migrations: ReadonlyArray<Migration>,
  options: Options
): Effect.Effect<ReadonlyArray<Applied>, MigratorError, Session | Cluster.Cluster> =>
  Effect.gen(function* () {
    const sorted = yield* fromRecords(migrations)
    const session = yield* Session
    const cluster = yield* Cluster.Cluster
    const ks = cql.id(options.keyspace)
    const ttl = Duration.decode(options.lockTtl ?? "60 seconds")
    const ttlSeconds = Math.max(1, Math.ceil(Duration.toSeconds(ttl)))
    const agreementTimeout = options.schemaAgreementTimeout ?? "30 seconds"
    const quorum = { consistency: "QUORUM", serialConsistency: "SERIAL" } as const

    /** Runs a statement that may change the schema; waits until the nodes agree on it. */
    const ddl = (text: string, migration: number) =>
      Effect.flatMap(session.execute({ query: text, options: { consistency: "QUORUM" } }), (rs) =>
        rs.schemaInAgreement !== false
          ? Effect.void
          : Effect.flatMap(cluster.control.awaitSchemaAgreement(agreementTimeout), (a) =>
              a.agreed ? Effect.void : Effect.fail(new SchemaNotAgreed({ migration, statement: text }))
            )
      )

    yield* ddl(`CREATE KEYSPACE IF NOT EXISTS ${ks.query} WITH replication = ${options.replication ?? "{'class': 'SimpleStrategy', 'replication_factor': 1}"}`, 0)
    yield* ddl(`CREATE TABLE IF NOT EXISTS ${ks.query}.schema_migrations (id int PRIMARY KEY, name text, checksum text, applied_at timestamp)`, 0)
    yield* ddl(`CREATE TABLE IF NOT EXISTS ${ks.query}.schema_migrations_lock (lock text PRIMARY KEY, owner text, acquired_at timestamp)`, 0)

    const owner = randomUUID()
    const table = cql`${ks}.schema_migrations_lock`
    const tryLock = Effect.suspend(() =>
      session.execute(cql`INSERT INTO ${table} (lock, owner, acquired_at) VALUES (${LOCK}, ${owner}, ${new Date()}) IF NOT EXISTS USING TTL ${ttlSeconds}`.withOptions(quorum))
    ).pipe(Effect.map((rs) => rs.applied === true))
    const renew = session.execute(cql`UPDATE ${table} USING TTL ${ttlSeconds} SET owner = ${owner} WHERE lock = ${LOCK} IF owner = ${owner}`.withOptions(quorum))
    const unlock = session.execute(cql`DELETE FROM ${table} WHERE lock = ${LOCK} IF owner = ${owner}`.withOptions(quorum))

    const lockWait = Duration.decode(options.lockWait ?? "5 minutes")
    const started = yield* Clock.currentTimeMillis
    const acquire = tryLock.pipe(
      Effect.flatMap((got) => (got ? Effect.void : Effect.fail("busy" as const))),
      Effect.retry({
        schedule: Schedule.spaced("250 millis"),
        while: (e) => e === "busy"
      }),
      Effect.timeoutFail({ duration: lockWait, onTimeout: () => "timeout" as const }),
      Effect.catchIf(
        (e): e is "busy" | "timeout" => e === "busy" || e === "timeout",
        () => Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(new MigrationLocked({ waited: Duration.millis(now - started) })))
      )
    )

    const applyAll = Effect.gen(function* () {
      const recorded = new Map<number, string>()
      for (const row of (yield* session.execute(cql`SELECT id, checksum FROM ${ks}.schema_migrations`.withOptions({ consistency: "QUORUM" }))).rows) {
        recorded.set(row["id"] as number, row["checksum"] as string)
      }
      // Every applied migration must be as it was, before anything runs.
      for (const m of sorted) {
        const was = recorded.get(m.id)
        const now = checksum(m)
        if (was !== undefined && was !== now) return yield* Effect.fail(new MigrationChanged({ id: m.id, name: m.name, recorded: was, current: now }))
      }
      const applied: Array<Applied> = []
      for (const m of sorted) {
        if (recorded.has(m.id)) continue
        for (const statement of m.statements) yield* ddl(statement, m.id)
        const done: Applied = { id: m.id, name: m.name, checksum: checksum(m), appliedAt: new Date(yield* Clock.currentTimeMillis) }
        yield* session.execute(
          cql`INSERT INTO ${ks}.schema_migrations (id, name, checksum, applied_at) VALUES (${done.id}, ${done.name}, ${done.checksum}, ${done.appliedAt})`.withOptions({ consistency: "QUORUM" })
        )
        applied.push(done)
      }
      return applied
    })

    // Held from acquire to release: renewed at a third of its life meanwhile (a failed renewal is tried again at
    // the next one), deleted at the end whatever the end. The wait stays interruptible (so `lockWait` can end it);
    // a wait that ends without the lock still deletes it, in case an attempt cut short was applied by the server.
    // A renewal is never cut short: interrupting it would not stop it on the server, where it would race the
    // delete (two lightweight transactions on one partition can time out on each other and leave the lock held
    // until it expires). Closing the renewals waits for the one in flight. A delete that fails is tried again.
    const renewing = Effect.uninterruptible(renew).pipe(Effect.ignore, Effect.repeat(Schedule.spaced(Duration.millis(Duration.toMillis(ttl) / 3))))
    const release = unlock.pipe(Effect.retry(Schedule.addDelay(Schedule.recurs(3), () => Duration.millis(200))), Effect.ignore)
    return yield* Effect.uninterruptibleMask((restore) =>
      restore(acquire).pipe(
        Effect.onError(() => release),
        Effect.zipRight(restore(Effect.scoped(Effect.zipRight(Effect.forkScoped(renewing), applyAll))).pipe(Effect.ensuring(release)))
      )
    )
  })
