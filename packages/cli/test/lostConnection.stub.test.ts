/**
 * A node lost under the shell (the stub server: a real Cassandra node is not ours to stop): the statement sent
 * meanwhile prints why it failed, the shell goes on, and once the node takes connections again the driver's pool
 * reconnects and the same statement answers.
 */
import { describe, expect, it } from "@effect/vitest"
import { StubServer } from "@effect-cql/testing"
import { Effect } from "effect"
import { pipedShell } from "./integration/shellProcess.js"

describe("a lost connection", () => {
  it.scopedLive("says why a statement failed, goes on, and answers again after the reconnection", () =>
    Effect.gen(function* () {
      const server = yield* StubServer.make({ firstAddress: "127.0.3.90", port: 0, rules: [{ query: "SELECT v FROM ks.kv", rows: [{ v: "x" }] }] })
      const node = server.nodes[0]!
      const s = yield* Effect.promise(() => pipedShell(["--host", node.contactPoint]))
      yield* Effect.addFinalizer(() => Effect.sync(() => s.child.kill()))
      s.send("SELECT v FROM ks.kv;\n")
      yield* Effect.promise(() => s.waitFor(/\(1 rows\)/))

      yield* node.stopAccepting
      yield* node.dropConnections
      const before = s.errors().length
      s.send("SELECT v FROM ks.kv;\n")
      yield* Effect.promise(() => s.waitFor(/(ConnectionError|NoHostAvailable): .*127\.0\.3\.90/))
      expect(s.errors().slice(before)).toMatch(/^(ConnectionError|NoHostAvailable): .*127\.0\.3\.90/)

      yield* node.startAccepting
      // The pool reconnects on its schedule (from 1 s, doubling): ask until the answer comes.
      const at = s.output().length
      for (let attempt = 0; attempt < 30 && !/\(1 rows\)/.test(s.output().slice(at)); attempt++) {
        s.send("SELECT v FROM ks.kv;\n")
        yield* Effect.sleep("500 millis")
      }
      expect(s.output().slice(at)).toContain(" v\n---\n x\n\n(1 rows)")
      s.send("EXIT\n")
      expect(yield* Effect.promise(() => s.closed)).toBe(0)
    }), { timeout: 60_000 })
})
