/**
 * The shell as a user runs it, against the real node: `-e`, `-f`, an interactive session through a pipe and one
 * on a pseudo-terminal (password prompt without echo, Ctrl-C), output formats and the cqlsh commands.
 */
import { BulkExecution, Session } from "@effect-cql/driver"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { pipedShell, runShell, ttyShell } from "./shellProcess.js"

const ks = "cli_shell"
const manyRows = 10_000

const insertThing = `INSERT INTO ${ks}.things (id, name, at, tags, p, b, d, v) VALUES (1, 'Ada', '2026-11-26 05:00:00.123+0000', {'x', 'it''s'}, {x: 1, y: -2}, 0xcafe, 1h30m, [0.5, -1.25])`

beforeAll(async () => {
  await Effect.runPromise(
    Effect.gen(function* () {
      const s = yield* Session.Session
      yield* s.execute(`DROP KEYSPACE IF EXISTS ${ks}`)
      yield* s.execute(`CREATE KEYSPACE ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
      yield* s.execute(`CREATE TYPE ${ks}.point (x int, y int)`)
      yield* s.execute(
        `CREATE TABLE ${ks}.things (id int PRIMARY KEY, name text, at timestamp, tags set<text>, p frozen<point>, b blob, d duration, v vector<float, 2>)`
      )
      yield* s.execute(`CREATE TABLE ${ks}.many (id int PRIMARY KEY, v text)`)
      yield* s.execute(insertThing)
      const summary = yield* BulkExecution.run(
        Array.from({ length: manyRows }, (_, i) => ({ query: `INSERT INTO ${ks}.many (id, v) VALUES (?, ?)`, params: [i, `v${i}`] })),
        { concurrency: 128 }
      )
      expect(summary.failures).toEqual([])
    }).pipe(Effect.provide(Session.layer({ contactPoints: ["127.0.0.1"] })))
  )
}, 120_000)


describe("effect-cql shell -e", () => {
  it("prints an aligned table with values as cqlsh prints them", async () => {
    const r = await runShell(["-e", `${insertThing}; SELECT * FROM ${ks}.things WHERE id = 1`])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(
      [
        " id | at                              | b      | d     | name | p             | tags           | v",
        "----+---------------------------------+--------+-------+------+---------------+----------------+--------------",
        "  1 | 2026-11-26 05:00:00.123000+0000 | 0xcafe | 1h30m |  Ada | {x: 1, y: -2} | {'it''s', 'x'} | [0.5, -1.25]",
        "",
        "(1 rows)",
        ""
      ].join("\n")
    )
  })

  it("prints a syntax error with its position and goes on with the next statement; exit status 2", async () => {
    const r = await runShell(["-e", `SELEC 1; SELECT id FROM ${ks}.things WHERE id = 1; HELP`])
    expect(r.stderr).toMatch(/^SyntaxError: line 1:0 .*SELEC/)
    expect(r.stdout).toContain("(1 rows)")
    expect(r.stdout).toContain("SOURCE 'file'")
    expect(r.code).toBe(2)
  })

  it("TRACING ON prints the statement's trace events, read back through the driver", async () => {
    const r = await runShell(["-e", `TRACING ON; SELECT id FROM ${ks}.things WHERE id = 1; TRACING OFF; SELECT id FROM ${ks}.things WHERE id = 1`])
    expect(r.code).toBe(0)
    const traces = r.stdout.split("Tracing session: ")
    // One trace: the statement after TRACING OFF has none.
    expect(traces).toHaveLength(2)
    expect(traces[1]).toMatch(/^[0-9a-f-]{36}\n\n activity +\| timestamp +\| source +\| source_elapsed \| client\n/)
    expect(traces[1]).toMatch(/Executing single-partition query on things \| [\d-]+ [\d:.]+\+0000 \| 127\.0\.0\.1 \| +\d+ \|/)
    expect(traces[1]).toMatch(/ Request complete \| .* \| 127\.0\.0\.1 \| +\d+ \|/)
  })

  it("--output json prints JSON Lines, --output csv a header and records", async () => {
    const json = await runShell(["--output", "json", "-e", `SELECT id, name, tags, p, b, v FROM ${ks}.things WHERE id = 1`])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({ id: 1, name: "Ada", tags: ["it's", "x"], p: { x: 1, y: -2 }, b: "0xcafe", v: [0.5, -1.25] })
    const csv = await runShell(["--output", "csv", "-e", `SELECT id, name, tags FROM ${ks}.things WHERE id = 1`])
    expect(csv.stdout).toBe(`id,name,tags\n1,Ada,"{'it''s', 'x'}"\n`)
  })

  it("takes its settings from the environment, and says why it cannot connect (no node, a TLS mismatch, no CA file)", async () => {
    const env = await runShell(["-e", "SHOW HOST; SHOW VERSION; SELECT id FROM things WHERE id = 1"], {
      env: { EFFECT_CQL_HOSTS: "127.0.0.1", EFFECT_CQL_KEYSPACE: ks, EFFECT_CQL_PROTOCOL_VERSION: "4" }
    })
    expect(env.stderr).toBe("")
    expect(env.stdout).toMatch(/^Connected to .* at 127\.0\.0\.1:9042\.\n\[effect-cql .* \| Native protocol v4\]\n id\n----\n  1\n/)
    const down = await runShell(["-e", "SHOW HOST"], { env: { EFFECT_CQL_PORT: "1" } })
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(/^effect-cql: could not connect: .*127\.0\.0\.1:1/)
    // TLS asked of a node that speaks plain TCP: the handshake's failure is the reason given.
    const tls = await runShell(["--ssl", "-e", "SHOW HOST"])
    expect(tls.code).toBe(1)
    expect(tls.stderr).toMatch(/^effect-cql: could not connect: NoHostAvailable: .*127\.0\.0\.1:9042.*SSL routines/)
    const ca = await runShell(["--cafile", "/nonexistent/ca.pem", "-e", "SHOW HOST"])
    expect(ca.code).toBe(1)
    expect(ca.stderr).toBe("effect-cql: cannot read the CA file /nonexistent/ca.pem: ENOENT: no such file or directory, open '/nonexistent/ca.pem'\n")
  })

  it("asks for a password without echo when -u comes without -p (on a terminal)", async () => {
    const s = await ttyShell(["-u", "cassandra", "-e", "SHOW VERSION"])
    await s.waitFor(/Password/)
    s.send("not-echoed-secret\r")
    await s.waitFor(/\[effect-cql .* \| Cassandra 5\.0\.\d+ \| Native protocol v5\]/)
    expect(await s.closed).toBe(0)
    expect(s.output()).not.toContain("not-echoed-secret")
  })

  it("without a terminal and without -p, says where a password can come from", async () => {
    const r = await runShell(["-u", "cassandra", "-e", "SHOW HOST"])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("give -p or EFFECT_CQL_PASSWORD")
  })
})

describe("effect-cql shell -f", () => {
  it("runs a file's statements, naming the file and line of a failure", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cli-"))
    const file = path.join(dir, "script.cql")
    fs.writeFileSync(path.join(dir, "more.cql"), "SELECT count(*)\n  FROM things;\nSELECT oops FROM things;\n")
    fs.writeFileSync(
      file,
      `-- a comment\nUSE ${ks};\nSELECT id,\n  name FROM things\n  WHERE id = 1;\nSELECT nope FROM things;\nEXPAND ON\nSELECT id FROM things WHERE id = 1;\nSOURCE '${path.join(dir, "more.cql")}'\n`
    )
    const r = await runShell(["-f", file])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^script\.cql:6:Invalid: .*nope/)
    expect(r.stdout).toContain(" id | name\n----+------\n  1 |  Ada\n")
    expect(r.stdout).toContain("@ Row 1\n----+---\n id | 1\n")
    // SOURCE runs another file; its failures name that file and line.
    expect(r.stdout).toContain("@ Row 1\n-------+---\n count | 1\n")
    expect(r.stderr).toMatch(/\nmore\.cql:3:Invalid: .*oops/)
  })
})

describe("the interactive shell through a pipe", () => {
  it("multi-line statements, USE, CONSISTENCY, PAGING, DESCRIBE, SHOW, the end of the input", async () => {
    const s = await pipedShell()
    s.send(`USE ${ks};\nSELECT id, name\n`)
    await new Promise((resolve) => setTimeout(resolve, 300))
    s.send("FROM things WHERE id = 1;\n")
    await s.waitFor(/\(1 rows\)/)
    // No prompts through a pipe: the output is the result alone; USE moved the unqualified table to its keyspace.
    expect(s.output()).toBe(" id | name\n----+------\n  1 |  Ada\n\n(1 rows)\n")
    let at = s.output().length
    s.send("CONSISTENCY\nCONSISTENCY quorum\nSERIAL CONSISTENCY LOCAL_SERIAL\nCONSISTENCY nonsense\n")
    await s.waitFor(/Improper CONSISTENCY command/, at)
    expect(s.output().slice(at)).toContain("Current consistency level is ONE.")
    expect(s.output().slice(at)).toContain("Consistency level set to QUORUM.")
    expect(s.output().slice(at)).toContain("Serial consistency level set to LOCAL_SERIAL.")
    at = s.output().length
    s.send("PAGING 4\nSELECT id FROM many WHERE id IN (1, 2, 3, 4, 5, 6);\n")
    await s.waitFor(/\(6 rows\)/, at)
    // Two pages of 4 and 2 rows, each with its header.
    expect(s.output().slice(at).match(/^-+$/gm)).toHaveLength(2)
    at = s.output().length
    s.send("DESCRIBE TABLE things\n")
    await s.waitFor(/CREATE TABLE cli_shell\.things \([\s\S]*\) WITH [\s\S]*;\n/, at)
    s.send("DESCRIBE TYPE point;\nDESCRIBE KEYSPACES\nSHOW VERSION\n")
    await s.waitFor(/Native protocol v5\]/, at)
    expect(s.output().slice(at)).toContain("CREATE TYPE cli_shell.point (\n    x int,\n    y int\n);")
    expect(s.output().slice(at)).toMatch(/cli_shell {2}.*system_schema/)
    // The input's last statement may lack its `;`: the end of the input ends it.
    s.child.stdin.end("SELEC oops;\nSELECT count(*)\n  FROM things")
    expect(await s.closed).toBe(0)
    expect(s.errors()).toMatch(/SyntaxError: line 1:0 .*SELEC/)
    expect(s.output()).toMatch(/ count\n-------\n {5}1\n/)
  })

  it("Ctrl-C interrupts the running statement and the shell goes on", async () => {
    const s = await pipedShell(["-k", ks])
    // One row per page: ten thousand round trips, long enough to interrupt.
    s.send("PAGING 1\nSELECT id FROM many;\n")
    await s.waitFor(/\n {2,}\d+\n[\s\S]*\n {2,}\d+\n[\s\S]*\n {2,}\d+\n/)
    s.child.kill("SIGINT")
    await s.waitFor(/Interrupted\./)
    const at = s.output().length
    s.send("PAGING OFF\nSELECT count(*) FROM many;\n")
    await s.waitFor(/\(1 rows\)/, at)
    expect(s.output().slice(at)).toContain(`${manyRows}`)
    expect(s.output()).not.toContain(`(${manyRows} rows)`)
    s.child.stdin.end()
    expect(await s.closed).toBe(0)
  })
})

describe("the interactive shell on a terminal", () => {
  it("completes names with Tab, pages with a more prompt, Ctrl-C interrupts without leaving, COPY shows progress", async () => {
    const s = await ttyShell()
    await s.waitFor(/effect-cql> /)
    // Tab completes the keyspace name from the Metadata (typed apart: readline completes nothing in a paste).
    s.send("USE cli_sh")
    await s.waitFor(/USE cli_sh$/)
    s.send("\t")
    await s.waitFor(/USE cli_shell$/)
    s.send(";\r")
    await s.waitFor(/effect-cql:cli_shell> /)
    let at = s.output().length
    s.send("PAGING 2\rSELECT id FROM many WHERE id IN (1, 2, 3, 4, 5);\r")
    await s.waitFor(/---MORE---/, at)
    s.send("\r")
    await s.waitFor(/---MORE---[\s\S]*---MORE---/, at)
    s.send("q\r")
    await s.waitFor(/\(4 rows\)/, at)
    at = s.output().length
    s.send("PAGING 1\rSELECT id FROM many;\r")
    await s.waitFor(/---MORE---/, at)
    // Ctrl-C at the more prompt interrupts the statement; the shell takes the next one.
    s.send("\x03")
    await s.waitFor(/Interrupted\./, at)
    at = s.output().length
    s.send("SHOW HOST\r")
    await s.waitFor(/Connected to .* at 127\.0\.0\.1:9042\./, at)
    // COPY shows its progress on the terminal (rows, rows/s; a bar of the file read for FROM), then its summary.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cli-tty-")), "many.csv")
    at = s.output().length
    s.send(`COPY many TO '${file}'\r`)
    await s.waitFor(new RegExp(`${manyRows} rows exported to 1 files`), at)
    expect(s.output().slice(at)).toMatch(/\d+ rows; \d+ rows\/s/)
    at = s.output().length
    s.send(`COPY many FROM '${file}'\r`)
    await s.waitFor(new RegExp(`${manyRows} rows imported from 1 files`), at)
    expect(s.output().slice(at)).toMatch(/\[#*\.*\] \d+% \d+ rows; \d+ rows\/s/)
    s.send("EXIT\r")
    expect(await s.closed).toBe(0)
  })
})

