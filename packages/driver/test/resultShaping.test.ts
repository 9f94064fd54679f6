import { describe, expect, it } from "@effect/vitest"
import { Response } from "@effect-cql/protocol"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type { Connection } from "../src/internal/connection/connection.js"
import * as RegistryStore from "../src/internal/request/registryStore.js"
import { ResultShaping } from "../src/internal/request/resultShaping.js"
import type { ResultSet } from "../src/ResultSet.js"
import * as Statement from "../src/Statement.js"

const shaping = () =>
  new ResultShaping({
    registry: RegistryStore.make(),
    control: { awaitSchemaAgreement: () => Effect.succeed({ agreed: true, versions: new Map() }), refreshKeyspace: () => Effect.void },
    requestTimeoutMs: 1000,
    schemaAgreementTimeoutMs: 1000
  })

// Shaping reads only the coordinator's id from its connection.
const conn = (hostId: string) => ({ hostId }) as Connection
const insert: Statement.Statement = { query: "INSERT INTO ks.t (k) VALUES (?)" }

const resultOf = <A>(outcome: Effect.Effect<ResultSet<A>, unknown>): ResultSet<A> => {
  const exit = Effect.runSyncExit(outcome)
  if (Exit.isFailure(exit)) throw new Error(`shaping failed: ${exit.cause}`)
  return exit.value
}

describe("ResultShaping of VOID answers", () => {
  it("gives every plain VOID answer of one coordinator the same frozen empty ResultSet, naming that coordinator", () => {
    const s = shaping()
    const a1 = s.finish(insert, Response.VOID, conn("10.0.0.1:9042"))
    const a2 = s.finish(insert, Response.VOID, conn("10.0.0.1:9042"))
    const b = s.finish(insert, Response.VOID, conn("10.0.0.2:9042"))
    expect(a2).toBe(a1)
    expect(b).not.toBe(a1)
    const ra = resultOf(a1)
    expect(Object.isFrozen(ra)).toBe(true)
    expect(ra).toMatchObject({ rows: [], columns: [], warnings: [], applied: undefined, pagingState: undefined, coordinator: "10.0.0.1:9042" })
    expect(resultOf(b).coordinator).toBe("10.0.0.2:9042")
  })

  it("keeps a VOID answer's warnings and tracing id: such an answer gets a ResultSet of its own", () => {
    const s = shaping()
    const traced: Response.Response = { _tag: "Void", tracingId: Buffer.alloc(16, 0xab), warnings: ["batch too large"] }
    const rs = resultOf(s.finish(insert, traced, conn("10.0.0.1:9042")))
    expect(rs.warnings).toEqual(["batch too large"])
    expect(rs.tracingId).toBe("abababab-abab-abab-abab-abababababab")
    expect(resultOf(s.finish(insert, Response.VOID, conn("10.0.0.1:9042"))).warnings).toEqual([])
  })

  it("shapes a typed statement's VOID answer through its row Schema, as before", () => {
    const s = shaping()
    const typed = Statement.typed({ query: insert.query, Params: Schema.Tuple(Schema.Number), Row: Schema.Struct({ k: Schema.Number }) })([1])
    const rs = resultOf(s.finish(typed, Response.VOID, conn("10.0.0.1:9042")))
    expect(rs.rows).toEqual([])
    expect(rs.coordinator).toBe("10.0.0.1:9042")
  })
})
