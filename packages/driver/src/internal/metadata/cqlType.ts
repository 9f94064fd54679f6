/**
 * Parser of CQL type text as system_schema stores it (`map<text, frozen<list<int>>>`, `frozen<"My Type">`,
 * `vector<float, 3>`, `'org.apache.cassandra.db.marshal.SomeType'`), producing the protocol's DataType.
 * `frozen<...>` leaves no trace: DataType describes values, and frozen only changes how they are stored.
 * User-defined types are looked up through a resolver (system_schema names them without their keyspace).
 */
import { DataType } from "@effect-cql/protocol"

type DataType = DataType.DataType

/** Thrown inside the parser; the public entry points turn it into a value. */
export class CqlTypeSyntax extends Error {
  constructor(
    message: string,
    readonly offset: number
  ) {
    super(message)
  }
}

/** Finds a user-defined type by keyspace (undefined: the current one) and name. */
export type UdtResolver = (keyspace: string | undefined, name: string) => DataType | undefined

const natives: ReadonlyMap<string, DataType> = new Map<string, DataType>([
  ...Object.values(DataType.native).map((t): [string, DataType] => [t.kind, t]),
  ["text", DataType.native.varchar]
])

/** The type of the compact-storage placeholder column, printed as `empty`. */
const emptyType: DataType = { kind: "custom", className: "org.apache.cassandra.db.marshal.EmptyType" }

/** Deeper nesting than this is refused (it would only exhaust the stack). */
const maxDepth = 64

/** Parses a whole type text; throws CqlTypeSyntax. */
export const parseCqlType = (text: string, resolve: UdtResolver): DataType => {
  const p = new Parser(text, resolve)
  const t = p.type(0)
  p.space()
  if (p.i !== text.length) p.fail("unexpected text after the type")
  return t
}

/** Top-level `frozen<X>` removed (function argument and return types may not be frozen). */
export const stripFrozen = (text: string): string => {
  const m = /^\s*frozen\s*<([\s\S]*)>\s*$/i.exec(text)
  return m === null ? text : m[1]!.trim()
}

class Parser {
  i = 0
  constructor(
    readonly s: string,
    readonly resolve: UdtResolver
  ) {}

  fail(message: string): never {
    throw new CqlTypeSyntax(`${message} at offset ${this.i} in ${JSON.stringify(this.s)}`, this.i)
  }

  space(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++
  }

  peek(): string | undefined {
    this.space()
    return this.s[this.i]
  }

  expect(c: string): void {
    if (this.peek() !== c) this.fail(`expected '${c}'`)
    this.i++
  }

  /** An identifier: unquoted ones are case-insensitive (lower-cased); quoted ones keep their case. */
  identifier(): { readonly name: string; readonly quoted: boolean } {
    const c = this.peek()
    if (c === '"') return { name: this.quoted('"'), quoted: true }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i))
    if (m === null) return this.fail("expected a type")
    this.i += m[0].length
    return { name: m[0].toLowerCase(), quoted: false }
  }

  /** A quoted token; the quote character is escaped by doubling it. */
  quoted(q: string): string {
    let out = ""
    this.i++
    for (;;) {
      const end = this.s.indexOf(q, this.i)
      if (end < 0) return this.fail(`unterminated ${q}`)
      out += this.s.slice(this.i, end)
      this.i = end + 1
      if (this.s[this.i] !== q) return out
      out += q
      this.i++
    }
  }

  /** `<` type (`,` type)* `>` */
  params(depth: number): Array<DataType> {
    this.expect("<")
    const out = [this.type(depth + 1)]
    while (this.peek() === ",") {
      this.i++
      out.push(this.type(depth + 1))
    }
    this.expect(">")
    return out
  }

  arity(name: string, params: ReadonlyArray<DataType>, n: number): void {
    if (params.length !== n) this.fail(`${name} takes ${n} type parameter${n === 1 ? "" : "s"}`)
  }

  type(depth: number): DataType {
    if (depth > maxDepth) this.fail(`type nested deeper than ${maxDepth}`)
    if (this.peek() === "'") return DataType.parseTypeString(this.quoted("'"))
    const start = this.i
    const id = this.identifier()
    if (!id.quoted) {
      const generic = this.peek() === "<"
      switch (generic ? id.name : "") {
        case "frozen": {
          const ps = this.params(depth)
          this.arity("frozen", ps, 1)
          return ps[0]!
        }
        case "list":
        case "set": {
          const ps = this.params(depth)
          this.arity(id.name, ps, 1)
          return { kind: id.name as "list" | "set", element: ps[0]! }
        }
        case "map": {
          const ps = this.params(depth)
          this.arity("map", ps, 2)
          return { kind: "map", key: ps[0]!, value: ps[1]! }
        }
        case "tuple":
          return { kind: "tuple", elements: this.params(depth) }
        case "vector":
          return this.vector(depth)
      }
      if (generic) this.fail(`unknown parameterized type ${id.name}`)
      const nativeType = natives.get(id.name)
      if (nativeType !== undefined) return nativeType
      if (id.name === "empty") return emptyType
    }
    let keyspace: string | undefined
    let name = id.name
    if (this.peek() === ".") {
      this.i++
      keyspace = name
      name = this.identifier().name
    }
    const udt = this.resolve(keyspace, name)
    if (udt === undefined) {
      this.i = start
      this.fail(`unknown user-defined type ${keyspace === undefined ? name : `${keyspace}.${name}`}`)
    }
    return udt
  }

  /** `vector<element, dimension>` (Cassandra 5.0). */
  vector(depth: number): DataType {
    this.expect("<")
    const element = this.type(depth + 1)
    this.expect(",")
    this.space()
    const m = /^[0-9]+/.exec(this.s.slice(this.i))
    const dimension = m === null ? NaN : Number(m[0])
    if (!(dimension >= 1 && dimension <= 0x7fffffff)) this.fail("expected a vector dimension")
    this.i += m![0].length
    this.expect(">")
    return { kind: "vector", element, dimension }
  }
}
