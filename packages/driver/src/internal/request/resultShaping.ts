/**
 * A response as the caller's result: the ResultSet (rows, columns, paging state, `[applied]`, warnings, tracing
 * id, coordinator), rows through the registered UDT Schemas and the statement's row Schema, warnings logged.
 * Plain TypeScript, and an Exit as the outcome, unless there is more to do:
 *
 * - a schema change made by the request itself waits for schema agreement (the coordinator's own new version on
 *   every live node), then re-reads the changed keyspace into the Metadata, so that a `CREATE TABLE` is in
 *   `metadata.current()`, and a new UDT is known, when `execute` returns (not after the event's debounce);
 * - a `USE` is the Session's (see Session.ts): it never reaches here.
 */
import { type Event, Response as Res, type Rows } from "@effect-cql/protocol"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as CqlError from "../../CqlError.js"
import type * as Registry from "../../Registry.js"
import type { ResultSet } from "../../ResultSet.js"
import * as Statement from "../../Statement.js"
import { type Connection, request } from "../connection/connection.js"
import type { ControlConnection } from "../control/controlConnection.js"
import * as UdtMapping from "./udtMapping.js"

const formatUuid = (b: Buffer) => {
  const h = b.toString("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** The rows, columns and warnings of a result that has none: one frozen array, rather than three per write. */
const none: ReadonlyArray<never> = Object.freeze([])

export const toResultSet = (res: Res.Response, conn: Connection): ResultSet<Rows.Row> => {
  const rows = res._tag === "Rows" ? res.rows : none
  const first = rows[0]
  const applied = first === undefined ? undefined : first["[applied]"]
  return {
    rows,
    columns: res._tag === "Rows" ? res.columns : none,
    pagingState: res._tag === "Rows" ? res.metadata.pagingState : undefined,
    applied: typeof applied === "boolean" ? applied : undefined,
    warnings: res.warnings ?? none,
    tracingId: res.tracingId === undefined ? undefined : formatUuid(res.tracingId),
    customPayload: res.customPayload,
    schemaInAgreement: undefined,
    coordinator: conn.hostId
  }
}

/** The result of a request whose error the retry policy chose to ignore: no rows. */
export const emptyResultSet = (coordinator: string): ResultSet<never> => ({
  rows: none,
  columns: none,
  pagingState: undefined,
  applied: undefined,
  warnings: none,
  tracingId: undefined,
  customPayload: undefined,
  schemaInAgreement: undefined,
  coordinator
})

export interface ShapingContext {
  readonly registry: Registry.RegistryService
  readonly control: Pick<ControlConnection, "awaitSchemaAgreement" | "refreshKeyspace">
  readonly requestTimeoutMs: number
  readonly schemaAgreementTimeoutMs: number
}

export class ResultShaping {
  constructor(private readonly ctx: ShapingContext) {}

  /**
   * The outcome of a plain VOID answer (every write without warnings), one frozen ResultSet and Exit per
   * coordinator: a bulk load of writes makes neither per request.
   */
  private readonly voidOutcomes = new Map<string, Effect.Effect<ResultSet<never>>>()

  /** The answer to `statement`, shaped. */
  finish<A>(statement: Statement.Statement<A>, res: Res.Response, conn: Connection): Effect.Effect<ResultSet<A>, CqlError.RequestError> {
    if (res === Res.VOID && statement.rowSchema === undefined) {
      let outcome = this.voidOutcomes.get(conn.hostId)
      if (outcome === undefined) this.voidOutcomes.set(conn.hostId, (outcome = Effect.succeed(Object.freeze(toResultSet(res, conn)) as ResultSet<never>)))
      return outcome
    }
    const raw = toResultSet(res, conn)
    let rs = raw
    const registry = this.ctx.registry
    // The UDT walk and the row Schema only when there is something to do: no Either is made per request otherwise.
    if (raw.rows.length > 0 && registry.udtCount() > 0) {
      const mapped = UdtMapping.decodeRows(registry, raw.columns, raw.rows)
      if (Either.isLeft(mapped)) {
        return Effect.fail(new CqlError.SchemaMismatch({ message: `a UDT value of "${statement.query}" does not match its registered Schema`, cause: mapped.left }))
      }
      if (mapped.right !== raw.rows) rs = { ...raw, rows: mapped.right }
    }
    let out = rs as ResultSet<any> as ResultSet<A>
    if (statement.rowSchema !== undefined) {
      const decoded = Statement.decodeRows(statement, rs.rows)
      if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
      out = { ...rs, rows: decoded.right }
    }
    if (res._tag === "SchemaChange") {
      return Effect.map(this.schemaChanged(conn, res.change), (agreed) => ({ ...out, schemaInAgreement: agreed }))
    }
    return out.warnings.length === 0
      ? Effect.succeed(out)
      : Effect.as(Effect.logWarning(`Cassandra warned about "${statement.query}": ${out.warnings.join("; ")}`), out)
  }

  /**
   * After DDL on `coordinator`: schema agreement, then the changed keyspace re-read into the Metadata. Agreement
   * means the coordinator's own schema version (read on the same connection, so it is the version after the change)
   * is what every live node reports: checking only that the nodes agree could pass before the change has even
   * reached the control node's view. True when they agreed in time.
   */
  private schemaChanged(coordinator: Connection, change: Event.SchemaChange): Effect.Effect<boolean> {
    const ctx = this.ctx
    const localVersion = request(
      coordinator,
      { _tag: "Query", query: "SELECT schema_version FROM system.local", params: { consistency: "ONE" } },
      { timeoutMs: ctx.requestTimeoutMs }
    ).pipe(Effect.map((res) => (res._tag === "Rows" ? String(res.rows[0]?.["schema_version"] ?? "") : "")))
    const deadline = Date.now() + ctx.schemaAgreementTimeoutMs
    const check = (target: string): Effect.Effect<boolean> =>
      Effect.flatMap(ctx.control.awaitSchemaAgreement(Duration.millis(Math.max(0, deadline - Date.now()))), (a) => {
        const settled = a.agreed && [...a.versions.values()].every((v) => v === target)
        if (settled) return Effect.succeed(true)
        if (Date.now() >= deadline) return Effect.succeed(false)
        return Effect.zipRight(Effect.sleep("200 millis"), check(target))
      })
    const agreed = localVersion.pipe(
      Effect.flatMap((target) => (target === "" ? Effect.succeed(false) : check(target))),
      Effect.orElseSucceed(() => false)
    )
    // A failed re-read is not the request's failure: the event's own refresh comes after the debounce anyway.
    const refresh = ctx.control.refreshKeyspace(change.keyspace).pipe(
      Effect.catchAll((e) => Effect.logDebug(`effect-cql: metadata refresh after a schema change failed: ${e.message}`))
    )
    return Effect.tap(agreed, () => refresh)
  }
}
