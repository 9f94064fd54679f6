/**
 * `npm run codegen -- <keyspace> <out.ts> [contact point, default 127.0.0.1] [driver import]`: connects, reads the
 * keyspace's schema and writes a TypeScript module with a `Schema.Class` per UDT and per table (CqlCodegen.ts).
 * Exits 1, saying why, when it cannot connect or the keyspace does not exist.
 */
import { Cluster, CqlCodegen } from "@effect-cql/driver"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { writeFileSync } from "node:fs"

const [keyspace, out, contactPoint = "127.0.0.1", driverImport] = process.argv.slice(2)
if (keyspace === undefined || out === undefined) {
  console.error("usage: npm run codegen -- <keyspace> <out.ts> [contact point] [driver import]")
  process.exit(1)
}

const program = Effect.gen(function* () {
  const cluster = yield* Cluster.Cluster
  const metadata = yield* cluster.metadata.get
  const source = CqlCodegen.renderKeyspace(metadata, keyspace, driverImport === undefined ? {} : { driverImport })
  if (Either.isLeft(source)) return yield* Effect.fail(source.left)
  writeFileSync(out, source.right)
  console.log(`wrote ${out}: ${metadata.keyspaces.get(keyspace)!.userTypes.size} UDTs, ${metadata.keyspaces.get(keyspace)!.tables.size} tables`)
})

Effect.runPromiseExit(program.pipe(Effect.provide(Cluster.layer({ contactPoints: [contactPoint] })))).then((exit) => {
  if (exit._tag === "Failure") {
    console.error(`codegen failed: ${exit.cause.toString()}`)
    process.exit(1)
  }
})
