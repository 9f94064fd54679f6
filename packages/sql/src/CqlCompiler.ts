/**
 * The statement compiler: @effect/sql's statement segments to CQL text and bound values.
 *
 * CQL's lexical rules are SQLite's: `?` markers, identifiers in double quotes (a `"` doubled inside; a dot splits
 * `keyspace.table`), so the dialect reported to `sql.onDialect` is "sqlite". What differs is what CQL lacks. A
 * statement that asks for it is refused here, before anything is sent: RETURNING (helper or text), ON CONFLICT,
 * `sql.or` (WHERE clauses only conjoin), a multi-row `sql.insert` (an INSERT writes one row), `sql.updateValues`
 * (no UPDATE ... FROM), custom fragments, and the constant conditions `1=1` / `1=0` that an empty `sql.and`,
 * `sql.or` or `sql.in(column, [])` stand for. CQL also has no parenthesised AND groups, and needs none (a WHERE
 * clause is one conjunction), so the parentheses `sql.and` puts around its clauses are dropped.
 *
 * A Compiler returns text and values, not an Effect, so a refusal travels with its result: the text is a comment
 * naming the refusal and the values array is registered with its `CqlUnsupported`, which the client's connection
 * looks up (`refusalOf`) and fails with instead of sending the statement.
 */
import * as Statement from "@effect/sql/Statement"
import { CqlUnsupported } from "./CqlUnsupported.js"

type Compiled = readonly [sql: string, params: ReadonlyArray<unknown>]

const refusals = new WeakMap<ReadonlyArray<unknown>, CqlUnsupported>()

/** The refusal a compiled statement carries (its values array is the key), or undefined for a CQL statement. */
export const refusalOf = (params: ReadonlyArray<unknown>): CqlUnsupported | undefined => refusals.get(params)

const refused = (error: CqlUnsupported): Compiled => {
  const params: ReadonlyArray<unknown> = []
  refusals.set(params, error)
  return [`/* ${error.message.replaceAll("*/", "* /")} */`, params]
}

const refuse = (feature: string, reason: string): never => {
  throw new CqlUnsupported({ feature, reason })
}

const noReturning = (returning: unknown): void => {
  if (returning !== undefined) refuse("RETURNING", "writes return no rows; read the row back with a SELECT by its key")
}

/** A literal's text without its string constants ('...' with '' inside, $$...$$), where keywords cannot hide. */
const outsideStrings = (text: string): string => text.replace(/'(?:[^']|'')*'|\$\$[\s\S]*?\$\$/g, "''")

/** Why a literal segment is not CQL, or undefined. */
const literalRefusal = (segment: Statement.Literal): CqlUnsupported | undefined => {
  const value = segment.value.trim()
  if (value === "OR") return new CqlUnsupported({ feature: "OR (sql.or)", reason: "a WHERE clause is a conjunction; run one query per alternative, or use IN" })
  if (value === "1=1" || value === "1=0") {
    return new CqlUnsupported({
      feature: `the constant condition ${value}`,
      reason: "an empty sql.and / sql.or / sql.in(column, []) has no CQL form; leave the WHERE clause out, or skip the query"
    })
  }
  const text = outsideStrings(segment.value)
  if (/\breturning\b/i.test(text)) return new CqlUnsupported({ feature: "RETURNING", reason: "writes return no rows; read the row back with a SELECT by its key" })
  if (/\bon\s+conflict\b/i.test(text)) {
    return new CqlUnsupported({ feature: "ON CONFLICT", reason: "every INSERT and UPDATE is an upsert; use IF NOT EXISTS for insert-if-absent" })
  }
  return undefined
}

/**
 * The statement's segments with the parentheses around AND chains dropped, or the refusal of one of its literals.
 * Parentheses are dropped only where a literal `(` and a literal `)` enclose an ` AND ` at their own depth, which
 * is what `sql.and([...])` (and the same text written by hand) produces.
 */
const rewrite = (segments: ReadonlyArray<Statement.Segment>): ReadonlyArray<Statement.Segment> | CqlUnsupported => {
  const open: Array<{ readonly index: number; conjunction: boolean }> = []
  const drop = new Set<number>()
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!
    if (segment._tag !== "Literal") continue
    const refusal = literalRefusal(segment)
    if (refusal !== undefined) return refusal
    if (segment.params !== undefined && segment.params.length > 0) continue
    if (segment.value === "(") open.push({ index: i, conjunction: false })
    else if (segment.value === ")") {
      const group = open.pop()
      if (group?.conjunction === true) drop.add(group.index).add(i)
    } else if (segment.value.trim() === "AND" && open.length > 0) open[open.length - 1]!.conjunction = true
  }
  return drop.size === 0 ? segments : segments.filter((_, i) => !drop.has(i))
}

const fragmentOf = (segments: ReadonlyArray<Statement.Segment>): Statement.Fragment => ({
  [Statement.FragmentId]: (_: never) => Statement.FragmentId,
  segments
})

export interface Options {
  /** Applied to every identifier (`sql("name")`, `sql.insert` and `sql.update` keys), e.g. camelCase to snake_case. */
  readonly transformQueryNames?: ((name: string) => string) | undefined
}

const escapeIdentifier = Statement.defaultEscape('"')

const makeBase = (options: Options): Statement.Compiler => {
  const transform = options.transformQueryNames
  return Statement.makeCompiler({
    dialect: "sqlite",
    placeholder: () => "?",
    onIdentifier: transform === undefined ? escapeIdentifier : (name, withoutTransform) => escapeIdentifier(withoutTransform ? name : transform(name)),
    onInsert: (columns, placeholders, values, returning) => {
      noReturning(returning)
      if (values.length !== 1) {
        refuse("multi-row INSERT (sql.insert of several records)", "an INSERT writes one row; insert each (BulkExecution, Effect.forEach) or send them as a batch")
      }
      return [`(${columns.join(", ")}) VALUES ${placeholders}`, values[0]!]
    },
    onRecordUpdateSingle: (columns, values, returning) => {
      noReturning(returning)
      return [columns.map((c) => `${c} = ?`).join(", "), values]
    },
    onRecordUpdate: () => refuse("UPDATE from VALUES (sql.updateValues)", "an UPDATE changes the rows its WHERE clause names; update each row"),
    onCustom: (custom: Statement.Custom<string, unknown, unknown, unknown>) =>
      refuse(`the custom fragment "${custom.kind}"`, "custom fragments belong to other SQL dialects")
  })
}

class CqlStatementCompiler implements Statement.Compiler {
  readonly dialect = "sqlite" as const
  constructor(private readonly base: Statement.Compiler) {}

  compile(statement: Statement.Fragment, withoutTransform: boolean): Compiled {
    const segments = rewrite(statement.segments)
    if (segments instanceof CqlUnsupported) return refused(segments)
    try {
      // The unchanged statement keeps @effect/sql's cache of its compiled form.
      return this.base.compile(segments === statement.segments ? statement : fragmentOf(segments), withoutTransform)
    } catch (error) {
      if (error instanceof CqlUnsupported) return refused(error)
      throw error
    }
  }

  get withoutTransform(): this {
    return new CqlStatementCompiler(this.base.withoutTransform) as this
  }
}

/** A compiler for CQL; see the module doc. */
export const make = (options: Options = {}): Statement.Compiler => new CqlStatementCompiler(makeBase(options))
