/**
 * One emulated node: its listener on its own loopback address, its connections, its rules (checked before the
 * server-wide ones), its prepared statements, and its request log. Answers statements from the rules, the virtual
 * system tables and `USE`; precomputes the bytes of static answers to prepared EXECUTEs (null-server mode).
 */
import { Codec, DataType, Frame, Response } from "@effect-cql/protocol"
import type { Event, Request, Rows, ServerError } from "@effect-cql/protocol"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import * as net from "node:net"
import { inspect } from "node:util"
import type { Rule, Statement as RuleKind } from "./rules.js"
import { ByteWriter } from "@effect-cql/protocol/internal"
import type { ClusterSpec, NodeInfo, TableSpec, VirtualTable } from "./cluster.js"
import { keyspaceNames } from "./cluster.js"
import type { Target, Token } from "./cqlText.js"
import { markerBindings, parseSelect, parseUse, targetOf, tokenize } from "./cqlText.js"
import { describeMatcher, matchesQuery, RuleBook } from "./match.js"
import { invalidPagingState, pageOf } from "./paging.js"
import type { Authenticator, ConnectionHost, Credentials, Outcome } from "./stubConnection.js"
import { StubConnection } from "./stubConnection.js"

type RawValue = Request.RawValue
type Type = DataType.DataType

export interface LoggedRequest {
  /** 1-based node index. */
  readonly node: number
  /** Connection number on that node, from 1 in accept order. */
  readonly connection: number
  readonly version: 4 | 5
  readonly stream: number
  /** `Date.now()` when it arrived. */
  readonly at: number
  readonly request: Request.Request<RawValue>
  /** The statement text: QUERY's and PREPARE's own, EXECUTE's prepared one (undefined for an unknown id). */
  readonly query: string | undefined
}

/** What every node of one server shares. */
export interface Shared {
  readonly spec: ClusterSpec
  readonly rules: RuleBook<Rule>
  readonly tables: ReadonlyMap<string, VirtualTable>
  readonly protocolVersions: ReadonlyArray<4 | 5>
  readonly compression: ReadonlyArray<"lz4" | "snappy">
  readonly credentials: Credentials | undefined
  readonly authenticator: Authenticator | undefined
  readonly logging: boolean
  readonly unmatched: "error" | "void"
}

interface Prepared {
  readonly query: string
  readonly tokens: ReadonlyArray<Token> | undefined
  readonly keyspace: string | undefined
  readonly bind: ReadonlyArray<Rows.ColumnSpec>
  readonly result: ReadonlyArray<Rows.ColumnSpec>
  /** Static answers, by `version * 2 + skipMetadata`, valid while the rule books are unchanged. */
  canned: { readonly rulesVersion: string; readonly bytes: Map<number, Buffer> } | undefined
}

const defaultOn: ReadonlyArray<RuleKind> = ["query", "execute", "batch"]
const answersTo = (rule: Rule, kind: RuleKind): boolean => (rule.on ?? defaultOn).includes(kind)

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex")
const md5 = (s: string): Buffer => createHash("md5").update(s).digest()
const show = (v: unknown): string => inspect(v, { depth: 3, breakLength: Infinity })
const specialTypes: Readonly<Record<string, Type>> = {
  "[limit]": DataType.native.int,
  "[ttl]": DataType.native.int,
  "[timestamp]": DataType.native.bigint
}

/** `expected` encoded as the bound type (or the type it implies) has exactly the bytes that were sent. */
const sameValue = (expected: unknown, raw: RawValue, type: Type | undefined): boolean => {
  if (expected === null || expected === undefined) return raw === null
  if (expected === Codec.unset || raw === Codec.unset) return expected === raw
  if (raw === null) return false
  const bytes = Codec.encode(type ?? Codec.inferType(expected), expected)
  return Either.isRight(bytes) && bytes.right !== null && bytes.right.equals(raw)
}

/** The values a request bound, with what the node knows of them. */
interface Bound {
  readonly values: ReadonlyArray<RawValue>
  /** Names the client sent (QUERY with named values), else the prepared marker names. */
  readonly names: ReadonlyArray<string> | undefined
  /** Prepared marker types; undefined for a QUERY. */
  readonly types: ReadonlyArray<Type> | undefined
}

const paramsMatch = (rule: Rule, b: Bound): boolean => {
  const m = rule.params
  if (m === undefined) return true
  if (typeof m === "function") {
    const decoded = b.values.map((v, i) => {
      const t = b.types?.[i]
      if (v === null || v === Codec.unset || t === undefined) return v
      return Either.getOrElse(Codec.decode(t, v), () => v)
    })
    return m(decoded)
  }
  if (Array.isArray(m)) return m.length === b.values.length && m.every((e, i) => sameValue(e, b.values[i]!, b.types?.[i]))
  const names = b.names
  return (
    names !== undefined &&
    Object.entries(m).every(([k, e]) => {
      const i = names.indexOf(k)
      return i >= 0 && sameValue(e, b.values[i]!, b.types?.[i])
    })
  )
}

/** A rule answers without looking at the request (so its bytes can be computed once). */
const isStatic = (r: Rule): boolean =>
  r.params === undefined &&
  r.delay === undefined &&
  r.times === undefined &&
  r.drop !== true &&
  r.noResponse !== true &&
  r.malformed === undefined &&
  (r.rows?.length ?? 0) <= 1

const respond = (response: Response.Response, delayMs = 0): Outcome => ({ _tag: "Respond", response, delayMs })
const errorOutcome = (error: ServerError.ServerError, delayMs = 0): Outcome => respond({ _tag: "Error", error }, delayMs)
const voidResult: Response.Response = { _tag: "Void" }

export class StubNode implements ConnectionHost {
  readonly rules = new RuleBook<Rule>()
  /** Every request received, when logging is on. */
  readonly requests: Array<LoggedRequest> = []
  readonly connections = new Set<StubConnection>()
  private readonly prepared = new Map<string, Prepared>()
  private readonly tableSpecs: ReadonlyMap<string, TableSpec>
  private readonly keyspaces: ReadonlySet<string>
  private listener: net.Server | undefined
  private connectionCount = 0
  private paused = false

  constructor(
    readonly info: NodeInfo,
    private readonly shared: Shared
  ) {
    this.tableSpecs = new Map(shared.spec.keyspaces.flatMap((ks) => (ks.tables ?? []).map((t) => [`${ks.name}.${t.name}`, t] as const)))
    this.keyspaces = keyspaceNames(shared.spec)
  }

  get protocolVersions() {
    return this.shared.protocolVersions
  }
  get compression() {
    return this.shared.compression
  }
  get credentials() {
    return this.shared.credentials
  }
  get authenticator() {
    return this.shared.authenticator
  }
  get logging() {
    return this.shared.logging
  }

  /** Listens on the node's address and port (an ephemeral port the first time when the port is 0). */
  listen(): Promise<void> {
    if (this.listener !== undefined) return Promise.resolve()
    const server = net.createServer((socket) => {
      const conn = new StubConnection(++this.connectionCount, socket, this)
      this.connections.add(conn)
      // The kernel of a stopped process still accepts; the process reads nothing.
      if (this.paused) conn.pause()
    })
    return new Promise((resolve, reject) => {
      server.once("error", reject)
      server.listen({ host: this.info.address, port: this.info.port, exclusive: true }, () => {
        server.off("error", reject)
        const address = server.address()
        if (address !== null && typeof address === "object") this.info.port = address.port
        this.listener = server
        resolve()
      })
    })
  }

  /** Stops accepting connections (new ones are refused); open connections stay. */
  stopAccepting(): void {
    this.listener?.close()
    this.listener = undefined
  }

  /** SIGSTOP, as clients see it: connections (and new ones) stay open, nothing is read or answered. */
  pause(): void {
    this.paused = true
    for (const c of this.connections) c.pause()
  }

  /** SIGCONT: the held answers go out and requests are read again. */
  resume(): void {
    this.paused = false
    for (const c of this.connections) c.resume()
  }

  dropConnections(): void {
    for (const c of this.connections) c.destroy()
  }

  pushEvent(event: Event.Event): number {
    let sent = 0
    for (const c of this.connections) if (c.pushEvent(event)) sent++
    return sent
  }

  /** Forgets every prepared statement, as a restarted node does: EXECUTEs then get Unprepared. */
  clearPrepared(): void {
    this.prepared.clear()
  }

  /** Stops accepting, destroys every connection, and resolves once the listener has closed. */
  close(): Promise<void> {
    const listener = this.listener
    this.stopAccepting()
    this.dropConnections()
    return listener === undefined ? Promise.resolve() : new Promise((resolve) => listener.once("close", () => resolve()))
  }

  // ConnectionHost ----------------------------------------------------------------------------------------------

  closed(conn: StubConnection): void {
    this.connections.delete(conn)
  }

  log(conn: StubConnection, env: Frame.Envelope, request: Request.Request<RawValue>): void {
    const query =
      request._tag === "Query" || request._tag === "Prepare"
        ? request.query
        : request._tag === "Execute"
          ? this.prepared.get(hex(request.id))?.query
          : undefined
    this.requests.push({ node: this.info.index, connection: conn.id, version: env.version as 4 | 5, stream: env.stream, at: Date.now(), request, query })
  }

  /** Both rule books' versions: a cached answer is valid while neither changed. */
  private rulesVersion(): string {
    return `${this.rules.version}/${this.shared.rules.version}`
  }

  cannedExecute(_conn: StubConnection, env: Frame.Envelope): Buffer | undefined {
    const body = env.body
    if (body.length < 2) return undefined
    const idEnd = 2 + body.readUInt16BE(0)
    if (body.length < idEnd) return undefined
    const p = this.prepared.get(body.toString("hex", 2, idEnd))
    const canned = p?.canned
    if (canned === undefined || canned.rulesVersion !== this.rulesVersion()) return undefined
    // <id>[<result_metadata_id>]<consistency><flags>: only Skip_metadata changes a static answer.
    let at = idEnd
    if (env.version >= 5) {
      if (body.length < at + 2) return undefined
      at += 2 + body.readUInt16BE(at)
    }
    at += 2
    if (body.length < at + (env.version >= 5 ? 4 : 1)) return undefined
    const flags = env.version >= 5 ? body.readInt32BE(at) : body[at]!
    return canned.bytes.get(env.version * 2 + (flags & 0x02 ? 1 : 0))
  }

  answer(conn: StubConnection, req: Request.Request<RawValue>, env: Frame.Envelope): Outcome {
    switch (req._tag) {
      case "Query":
        return this.statement(conn, "query", req.query, tokenize(req.query), req.params.keyspace ?? conn.keyspace, req.params, undefined)
      case "Prepare":
        return this.prepare(conn, req)
      case "Execute": {
        const p = this.prepared.get(hex(req.id))
        if (p === undefined) return this.unprepared(req.id)
        const outcome = this.statement(conn, "execute", p.query, p.tokens, p.keyspace, req.params, p)
        this.maybeCan(p, env, req, outcome)
        return outcome
      }
      case "Batch":
        return this.batch(req)
      default:
        return errorOutcome({ kind: "ProtocolError", message: `${req._tag} is not a statement` })
    }
  }

  // Statements --------------------------------------------------------------------------------------------------

  private unprepared(id: Uint8Array): Outcome {
    return errorOutcome({
      kind: "Unprepared",
      message: `Prepared query with ID ${hex(id)} not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)`,
      id: Buffer.from(id)
    })
  }

  /** The newest rule for `kind` that `accept`s: this node's rules first, then the server's. */
  private findRule(kind: RuleKind, accept: (r: Rule) => boolean): Rule | undefined {
    const ok = (r: Rule) => answersTo(r, kind) && accept(r)
    return this.rules.find(ok) ?? this.shared.rules.find(ok)
  }

  private peekRule(accept: (r: Rule) => boolean): Rule | undefined {
    return this.rules.peek(accept) ?? this.shared.rules.peek(accept)
  }

  /** How many rules of either book would look at this query text (when one, its answer can be cached). */
  private rulesFor(query: string): number {
    const count = (rules: ReadonlyArray<Rule>) => rules.filter((r) => answersTo(r, "execute") && matchesQuery(r.query, query)).length
    return count(this.rules.rules) + count(this.shared.rules.rules)
  }

  private unmatched(what: string): Outcome {
    if (this.shared.unmatched === "void") return respond(voidResult)
    const rules = [...this.rules.rules, ...this.shared.rules.rules].map((r) => describeMatcher(r.query))
    return errorOutcome({
      kind: "Invalid",
      message: `stub node ${this.info.index}: no rule matches ${what}; ${rules.length} rule(s): ${rules.length === 0 ? "none" : rules.join(", ")}`
    })
  }

  /** The columns a table (virtual or emulated) has, by name. */
  private tableColumns(target: Target | undefined, keyspace: string | undefined): ReadonlyArray<readonly [string, Type]> | undefined {
    if (target === undefined) return undefined
    const key = `${target.keyspace ?? keyspace}.${target.table}`
    const emulated = this.tableSpecs.get(key)
    return this.shared.tables.get(key)?.columns ?? (emulated === undefined ? undefined : Object.entries(emulated.columns))
  }

  private spec(name: string, type: Type, target: Target | undefined, keyspace: string | undefined): Rows.ColumnSpec {
    return { keyspace: target?.keyspace ?? keyspace ?? "", table: target?.table ?? "", name, type }
  }

  /** Result columns: the rule's, else the SELECT's projection of a known table (when the rows fit it), else inferred. */
  private resultColumns(rule: Rule | undefined, tokens: ReadonlyArray<Token> | undefined, keyspace: string | undefined): Array<Rows.ColumnSpec> {
    const target = tokens === undefined ? undefined : targetOf(tokens)
    if (rule?.columns !== undefined) return Object.entries(rule.columns).map(([n, t]) => this.spec(n, t, target, keyspace))
    const select = tokens === undefined ? undefined : parseSelect(tokens)
    const table = select === undefined ? undefined : this.tableColumns(select.target, keyspace)
    const first = rule?.rows?.[0]
    if (select !== undefined && table !== undefined) {
      const projected = select.columns === undefined ? table : table.filter(([n]) => select.columns!.includes(n))
      if (first === undefined || Object.keys(first).every((k) => projected.some(([n]) => n === k))) {
        return projected.map(([n, t]) => this.spec(n, t, target, keyspace))
      }
    }
    if (first === undefined) return []
    return Object.keys(first).map((n) => this.spec(n, Codec.inferType(first[n]), target, keyspace))
  }

  /** Bind markers as Cassandra describes them: named after their column, typed by the table or the rule. */
  private bindColumns(rule: Rule | undefined, tokens: ReadonlyArray<Token> | undefined, keyspace: string | undefined): {
    readonly bind: Array<Rows.ColumnSpec>
    readonly pkIndexes: Array<number>
  } {
    const target = tokens === undefined ? undefined : targetOf(tokens)
    if (rule?.bind !== undefined) return { bind: Object.entries(rule.bind).map(([n, t]) => this.spec(n, t, target, keyspace)), pkIndexes: [] }
    const table = this.tableColumns(target, keyspace)
    const literal = Array.isArray(rule?.params) ? (rule.params as ReadonlyArray<unknown>) : undefined
    const bindings = tokens === undefined ? [] : markerBindings(tokens)
    const markerNames = (tokens ?? []).flatMap((t) => (t.kind === "marker" ? [t.name] : []))
    const bind = bindings.map((b, i): Rows.ColumnSpec => {
      if (b.kind === "special") return this.spec(b.name, specialTypes[b.name]!, target, keyspace)
      const column = b.kind === "column" ? table?.find(([n]) => n === b.column) : undefined
      if (b.kind === "column" && column !== undefined) {
        return this.spec(column[0], b.list ? { kind: "list", element: column[1] } : column[1], target, keyspace)
      }
      const name = markerNames[i] ?? (b.kind === "column" ? b.column : `arg${i}`)
      const v = literal?.[i]
      return this.spec(name, v === undefined || v === null ? DataType.native.blob : Codec.inferType(v), target, keyspace)
    })
    // Partition key indexes, when every partition key column is bound by a marker (token-aware routing).
    const spec = target === undefined ? undefined : this.tableSpecs.get(`${target.keyspace ?? keyspace}.${target.table}`)
    const pk = (spec?.partitionKey ?? []).map((c) => bindings.findIndex((b) => b.kind === "column" && !b.list && b.column === c))
    return { bind, pkIndexes: pk.length > 0 && pk.every((i) => i >= 0) ? pk : [] }
  }

  private prepare(conn: StubConnection, req: Request.Prepare): Outcome {
    const keyspace = req.keyspace ?? conn.keyspace
    const tokens = tokenize(req.query)
    // A rule `on` "prepare" can fail, drop or delay the PREPARE itself.
    const own = this.findRule("prepare", (r) => matchesQuery(r.query, req.query))
    const failed = own === undefined ? undefined : this.ruleOutcome(own)
    if (failed !== undefined) return failed
    const rule = this.peekRule((r) => matchesQuery(r.query, req.query))
    const select = tokens === undefined ? undefined : parseSelect(tokens)
    const virtual = select !== undefined && this.shared.tables.has(`${select.target.keyspace ?? keyspace}.${select.target.table}`)
    if (rule === undefined && !virtual && this.shared.unmatched === "error") return this.unmatched(`PREPARE ${JSON.stringify(req.query)}`)
    const { bind, pkIndexes } = this.bindColumns(rule, tokens, keyspace)
    const result = this.resultColumns(rule, tokens, keyspace)
    // Cassandra's id is the MD5 of keyspace and query; the result metadata id digests the result columns.
    const id = md5(`${keyspace ?? ""}${req.query}`)
    const resultMetadataId = md5(result.map((c) => `${c.name}:${DataType.toCql(c.type)}`).join(","))
    this.prepared.set(hex(id), { query: req.query, tokens, keyspace, bind, result, canned: undefined })
    const prepared: Response.Prepared = {
      _tag: "Prepared",
      id,
      metadata: { flags: 0, columns: bind, pkIndexes },
      resultMetadata: { flags: 0, columnCount: result.length, columns: result, pagingState: undefined, newMetadataId: undefined }
    }
    return respond(conn.version === 5 ? { ...prepared, resultMetadataId } : prepared, delayOf(own))
  }

  /** The outcome a rule gives regardless of rows: an error, a drop, silence, malformed bytes; else undefined. */
  private ruleOutcome(rule: Rule): Outcome | undefined {
    const delayMs = delayOf(rule)
    if (rule.error !== undefined) return errorOutcome(rule.error, delayMs)
    if (rule.drop === true) return { _tag: "Drop", delayMs }
    if (rule.noResponse === true) return { _tag: "NoResponse" }
    if (rule.malformed !== undefined) return { _tag: "Malformed", malformed: rule.malformed, delayMs }
    return undefined
  }

  private statement(
    conn: StubConnection,
    kind: "query" | "execute",
    query: string,
    tokens: ReadonlyArray<Token> | undefined,
    keyspace: string | undefined,
    params: Request.QueryParameters<RawValue>,
    prepared: Prepared | undefined
  ): Outcome {
    const bound: Bound = {
      values: params.values ?? [],
      names: params.names ?? prepared?.bind.map((c) => c.name),
      types: prepared?.bind.map((c) => c.type)
    }
    const rule = this.findRule(kind, (r) => matchesQuery(r.query, query) && paramsMatch(r, bound))
    if (rule !== undefined) {
      const other = this.ruleOutcome(rule)
      if (other !== undefined) return other
      const delayMs = delayOf(rule)
      if (rule.rows === undefined) return respond(withWarnings(voidResult, rule), delayMs)
      const columns = this.resultColumns(rule, tokens, keyspace)
      return this.rows(rule.rows, columns, params, prepared, rule, delayMs)
    }
    const use = tokens === undefined ? undefined : parseUse(tokens)
    if (use !== undefined) {
      if (!this.keyspaces.has(use)) return errorOutcome({ kind: "Invalid", message: `Keyspace '${use}' does not exist` })
      conn.keyspace = use
      return respond({ _tag: "SetKeyspace", keyspace: use })
    }
    const select = tokens === undefined ? undefined : parseSelect(tokens)
    const table = select === undefined ? undefined : this.shared.tables.get(`${select.target.keyspace ?? keyspace}.${select.target.table}`)
    if (select !== undefined && table !== undefined) return this.virtualSelect(table, select, bound, params, prepared, keyspace)
    if (tokens === undefined) return errorOutcome({ kind: "SyntaxError", message: `line 1: cannot read ${JSON.stringify(query)}` })
    return this.unmatched(`${JSON.stringify(query)} with params ${show(bound.values)}`)
  }

  private virtualSelect(
    table: VirtualTable,
    select: NonNullable<ReturnType<typeof parseSelect>>,
    bound: Bound,
    params: Request.QueryParameters<RawValue>,
    prepared: Prepared | undefined,
    keyspace: string | undefined
  ): Outcome {
    const byName = new Map(table.columns)
    const conditions = select.where.map((c) => {
      const type = byName.get(c.column)
      const values = c.values.map((o) => {
        if ("literal" in o) return o.literal
        const raw = bound.values[o.marker]
        if (raw === undefined || raw === null || raw === Codec.unset || type === undefined) return undefined
        return Either.getOrUndefined(Codec.decode(type, raw))
      })
      return { column: c.column, known: type !== undefined, values: values.map((v) => (v === undefined ? undefined : String(v))) }
    })
    const unknown = conditions.find((c) => !c.known) ?? select.columns?.find((c) => !byName.has(c))
    if (unknown !== undefined) {
      const name = typeof unknown === "string" ? unknown : unknown.column
      return errorOutcome({ kind: "Invalid", message: `Undefined column name ${name} in table ${table.keyspace}.${table.name}` })
    }
    const rows = table.rows(this.info).filter((row) => conditions.every((c) => c.values.includes(String(row[c.column]))))
    const target = select.target
    const projected = select.columns === undefined ? table.columns : table.columns.filter(([n]) => select.columns!.includes(n))
    const columns = projected.map(([n, t]) => this.spec(n, t, target, keyspace))
    return this.rows(rows, columns, params, prepared, undefined, 0)
  }

  /** A Rows result: one page of `all`, without metadata when the client asked and has the prepared one. */
  private rows(
    all: ReadonlyArray<Rows.Row>,
    columns: ReadonlyArray<Rows.ColumnSpec>,
    params: Request.QueryParameters<RawValue>,
    prepared: Prepared | undefined,
    rule: Rule | undefined,
    delayMs: number
  ): Outcome {
    const page = pageOf(all, params.pageSize ?? Number.MAX_SAFE_INTEGER, params.pagingState)
    if (page === undefined) return errorOutcome({ kind: "ProtocolError", message: invalidPagingState })
    // Columns other than the prepared ones are sent in full even under Skip_metadata (as v5 Metadata_changed does).
    const same = prepared !== undefined && sameColumns(prepared.result, columns)
    const skip = params.skipMetadata === true && same
    const res: Response.Rows = {
      _tag: "Rows",
      metadata: {
        flags: 0,
        columnCount: columns.length,
        columns: skip ? undefined : columns,
        pagingState: page.pagingState,
        newMetadataId: undefined
      },
      columns,
      rows: page.rows
    }
    return respond(rule === undefined ? res : withWarnings(res, rule), delayMs)
  }

  private batch(req: Request.Batch<RawValue>): Outcome {
    const children: Array<{ readonly query: string; readonly bound: Bound }> = []
    for (const s of req.statements) {
      if (s.id !== undefined) {
        const p = this.prepared.get(hex(s.id))
        if (p === undefined) return this.unprepared(s.id)
        children.push({ query: p.query, bound: { values: s.values ?? [], names: p.bind.map((c) => c.name), types: p.bind.map((c) => c.type) } })
      } else {
        children.push({ query: s.query, bound: { values: s.values ?? [], names: undefined, types: undefined } })
      }
    }
    // A batch is answered by the newest rule that matches any of its statements.
    const rule = this.findRule("batch", (r) => children.some((c) => matchesQuery(r.query, c.query) && paramsMatch(r, c.bound)))
    if (rule === undefined) return this.unmatched(`BATCH of ${children.map((c) => JSON.stringify(c.query)).join(", ")}`)
    const other = this.ruleOutcome(rule)
    if (other !== undefined) return other
    const delayMs = delayOf(rule)
    if (rule.rows === undefined) return respond(withWarnings(voidResult, rule), delayMs)
    const columns = this.resultColumns(rule, undefined, undefined)
    const rows: Response.Rows = {
      _tag: "Rows",
      metadata: { flags: 0, columnCount: columns.length, columns, pagingState: undefined, newMetadataId: undefined },
      columns,
      rows: rule.rows
    }
    return respond(withWarnings(rows, rule), delayMs)
  }

  /**
   * Null-server mode: when a static rule (no params, delay, drop or use count; at most one row) is the only one
   * for a prepared query, its answer is encoded once per version and Skip_metadata, then sent with its stream id
   * patched until the rules change.
   */
  private maybeCan(p: Prepared, env: Frame.Envelope, req: Request.Execute<RawValue>, outcome: Outcome): void {
    if (outcome._tag !== "Respond" || (env.flags & (Frame.Flag.CustomPayload | Frame.Flag.Tracing)) !== 0) return
    if (req.params.pagingState !== undefined || this.rulesFor(p.query) !== 1) return
    const rule = this.peekRule((r) => answersTo(r, "execute") && matchesQuery(r.query, p.query))
    if (rule === undefined || !isStatic(rule)) return
    const version = this.rulesVersion()
    if (p.canned === undefined || p.canned.rulesVersion !== version) p.canned = { rulesVersion: version, bytes: new Map() }
    const w = new ByteWriter(256)
    const encoded = Response.encodeResponseEnvelope(w, outcome.response, { version: env.version as 4 | 5, stream: 0 })
    if (Either.isRight(encoded)) p.canned.bytes.set(env.version * 2 + (req.params.skipMetadata === true ? 1 : 0), Buffer.from(encoded.right))
  }
}

const delayOf = (rule: Rule | undefined): number => (rule?.delay === undefined ? 0 : Duration.toMillis(rule.delay))

const withWarnings = (res: Response.Response, rule: Rule): Response.Response =>
  rule.warnings === undefined ? res : { ...res, warnings: rule.warnings }

const sameColumns = (a: ReadonlyArray<Rows.ColumnSpec>, b: ReadonlyArray<Rows.ColumnSpec>): boolean =>
  a.length === b.length && a.every((c, i) => c.name === b[i]!.name && DataType.toCql(c.type) === DataType.toCql(b[i]!.type))
