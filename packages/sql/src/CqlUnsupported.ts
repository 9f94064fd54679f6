/**
 * What an @effect/sql statement or client call asks for and CQL cannot do: RETURNING, ON CONFLICT, OR, multi-row
 * INSERT, UPDATE from VALUES, transactions. It reaches the caller as the `cause` of the `SqlError` that
 * @effect/sql's types allow (`Effect.catchTag("SqlError", (e) => ...)`, then `e.cause._tag === "CqlUnsupported"`),
 * and nothing is sent to the server.
 *
 * A leaf module: the compiler and the client both raise it.
 */
import * as Data from "effect/Data"

export class CqlUnsupported extends Data.TaggedError("CqlUnsupported")<{
  /** What was asked for, as @effect/sql spells it (`RETURNING`, `sql.or`, `withTransaction`, ...). */
  readonly feature: string
  /** Why CQL has no such thing, and what to do instead. */
  readonly reason: string
}> {
  override get message() {
    return `CQL has no ${this.feature}: ${this.reason}`
  }
}
