/**
 * The `cql` tagged template: CQL text with values in it, as a statement whose values are bound, never spliced.
 *
 *   session.execute(cql`SELECT * FROM app.users WHERE id = ${id} AND region IN ${cql.in(regions)}`)
 *
 * Every `${value}` becomes a `?` bind marker and the value a positional parameter, so a statement with values is
 * prepared once per text and executed (the Session's rule for statements with parameters). Only three things add
 * text: the template's own literal parts, `cql.id(...)` (quoted identifiers) and other fragments (`${fragment}`,
 * `cql.join`), which bring their markers and values along in order. A value the codec cannot encode fails the
 * request with an `EncodeError` whose `path` names its marker: `$3` for the third value of the whole statement.
 */
import type { Rows } from "@effect-cql/protocol"
import type { QueryOptions, Statement } from "./Statement.js"

const FragmentTypeId: unique symbol = Symbol.for("@effect-cql/driver/CqlTemplate/Fragment")

/** CQL text and the values bound to its markers, in order: a statement, and a part of a larger one. */
export class Fragment implements Statement<Rows.Row> {
  readonly [FragmentTypeId] = FragmentTypeId
  constructor(
    readonly query: string,
    readonly params: ReadonlyArray<unknown>,
    readonly options?: QueryOptions | undefined
  ) {}

  /** The same statement with these options over its own (consistency, page size, idempotence, ...). */
  withOptions(options: QueryOptions): Fragment {
    return new Fragment(this.query, this.params, { ...this.options, ...options })
  }
}

export const isFragment = (u: unknown): u is Fragment => typeof u === "object" && u !== null && FragmentTypeId in u

const template = (strings: TemplateStringsArray, ...values: ReadonlyArray<unknown>): Fragment => {
  let query = strings[0]!
  const params: Array<unknown> = []
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (isFragment(v)) {
      query += v.query
      for (const p of v.params) params.push(p)
    } else {
      query += "?"
      params.push(v)
    }
    query += strings[i + 1]!
  }
  return new Fragment(query, params)
}

/**
 * A quoted identifier: `cql.id("Users")` is `"Users"`, `cql.id("app", "users")` is `"app"."users"`. Quoted names
 * are case-sensitive (an unquoted `Users` means `users`); a `"` inside a name is doubled, as CQL escapes it.
 */
const id = (...names: readonly [string, ...Array<string>]): Fragment =>
  new Fragment(names.map((n) => `"${n.replaceAll('"', '""')}"`).join("."), [])

/** An IN list: one marker per value, `(?, ?, ?)` (`()` for none, which matches nothing). */
const inList = (values: Iterable<unknown>): Fragment => {
  const params = Array.from(values)
  return new Fragment(`(${params.map(() => "?").join(", ")})`, params)
}

const comma = new Fragment(", ", [])

/** Fragments one after another with `separator` (itself a fragment, e.g. cql` AND `) between them; default `, `. */
const join = (fragments: Iterable<Fragment>, separator: Fragment = comma): Fragment => {
  const parts = Array.from(fragments)
  const query = parts.map((f) => f.query).join(separator.query)
  const params: Array<unknown> = []
  parts.forEach((f, i) => {
    if (i > 0) for (const p of separator.params) params.push(p)
    for (const p of f.params) params.push(p)
  })
  return new Fragment(query, params)
}

export interface Cql {
  (strings: TemplateStringsArray, ...values: ReadonlyArray<unknown>): Fragment
  readonly id: typeof id
  readonly in: typeof inList
  readonly join: typeof join
}

/** The template; see the module doc. */
export const cql: Cql = Object.assign(template, { id, in: inList, join })
