/**
 * What a request returns: one page of rows with its column metadata, and what the server said about it.
 */
import type { Rows } from "@effect-cql/protocol"

export interface ResultSet<A = Rows.Row> {
  readonly rows: ReadonlyArray<A>
  /** Column metadata of the rows; empty for results without rows. */
  readonly columns: ReadonlyArray<Rows.ColumnSpec>
  /** Present when more pages follow: pass it back as `pagingState` for the next page. */
  readonly pagingState: Buffer | undefined
  /** For lightweight transactions (`IF ...`): whether the statement applied (the `[applied]` column). */
  readonly applied: boolean | undefined
  /** Server warnings (also logged at WARN). */
  readonly warnings: ReadonlyArray<string>
  /** The tracing session id when tracing was asked for. */
  readonly tracingId: string | undefined
  readonly customPayload: Readonly<Record<string, Buffer | null>> | undefined
  /**
   * After a schema change (DDL): whether every live node reported the same schema version before the session's
   * schema-agreement timeout; undefined for other statements.
   */
  readonly schemaInAgreement: boolean | undefined
  /** The coordinator that answered, as host:port. */
  readonly coordinator: string
}
