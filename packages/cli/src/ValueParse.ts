/**
 * Text back to values, by column type: what COPY FROM reads. It accepts every form ValueFormat.ts writes (so a
 * COPY TO file reads back value for value), plus the usual alternatives (ISO timestamps, milliseconds, `true`).
 * Collections, tuples, UDTs and vectors are CQL literals: strings inside them are single-quoted.
 *
 * Parsing never throws to its caller: a value that does not fit its type is a `ValueParseError` naming what was
 * expected, so COPY FROM can send the row to its error file and go on.
 */
import { CqlDate, CqlDuration, CqlTime, type DataType, Uuid } from "@effect-cql/protocol"
import { BigDecimal, Data, Either, Option } from "effect"
import { isIP } from "node:net"

export class ValueParseError extends Data.TaggedError("ValueParseError")<{ readonly message: string }> {}

/** Parses the text of one top-level value (an unquoted CSV field) as a value of `type`. */
export const parseValue = (text: string, type: DataType.DataType): Either.Either<unknown, ValueParseError> => {
  try {
    if (isComposite(type)) {
      const p = new LiteralParser(text)
      const v = p.value(type)
      p.end()
      return Either.right(v)
    }
    return Either.right(parseScalar(text, type))
  } catch (e) {
    if (e instanceof ValueParseError) return Either.left(e)
    throw e
  }
}

const fail = (message: string): never => {
  throw new ValueParseError({ message })
}

const isComposite = (t: DataType.DataType) =>
  t.kind === "list" || t.kind === "set" || t.kind === "map" || t.kind === "tuple" || t.kind === "udt" || t.kind === "vector"

const some = <A>(o: Option.Option<A>, what: string, text: string): A =>
  Option.isSome(o) ? o.value : fail(`${JSON.stringify(text)} is not a valid ${what}`)

const integer = (text: string, bits: number, kind: string): number => {
  if (!/^[+-]?\d+$/.test(text)) return fail(`${JSON.stringify(text)} is not a valid ${kind}`)
  const n = Number(text)
  const limit = 2 ** (bits - 1)
  return n >= -limit && n < limit ? n : fail(`${text} is out of range for ${kind}`)
}

const bigInteger = (text: string, kind: string, bits?: number): bigint => {
  if (!/^[+-]?\d+$/.test(text)) return fail(`${JSON.stringify(text)} is not a valid ${kind}`)
  const n = BigInt(text)
  if (bits !== undefined && (n < -(2n ** BigInt(bits - 1)) || n >= 2n ** BigInt(bits - 1))) fail(`${text} is out of range for ${kind}`)
  return n
}

const floating = (text: string, kind: string): number => {
  if (text === "NaN") return NaN
  if (text === "Infinity" || text === "+Infinity") return Infinity
  if (text === "-Infinity") return -Infinity
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return fail(`${JSON.stringify(text)} is not a valid ${kind}`)
  return Number(text)
}

/** `YYYY-MM-DD[ T]HH:MM[:SS[.fff...]][Z|+hhmm|+hh:mm]`, a bare date (midnight UTC), or integer milliseconds. */
const timestamp = (text: string): Date | bigint => {
  if (/^[+-]?\d+$/.test(text)) {
    const ms = BigInt(text)
    return ms >= -8_640_000_000_000_000n && ms <= 8_640_000_000_000_000n ? new Date(Number(ms)) : ms
  }
  const m = /^([+-]?\d{4,})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(text)
  if (m === null) return fail(`${JSON.stringify(text)} is not a valid timestamp`)
  const d = new Date(0)
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  d.setUTCHours(Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), Number((m[7] ?? "").padEnd(9, "0").slice(0, 3)))
  const zone = m[8]
  if (zone !== undefined && zone !== "Z") {
    const z = zone.replace(":", "")
    const minutes = Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5))
    d.setTime(d.getTime() - (z[0] === "-" ? -minutes : minutes) * 60_000)
  }
  return Number.isNaN(d.getTime()) ? fail(`${JSON.stringify(text)} is not a valid timestamp`) : d
}

const blob = (text: string): Buffer =>
  /^0[xX]([0-9a-fA-F]{2})*$/.test(text) ? Buffer.from(text.slice(2), "hex") : fail(`${JSON.stringify(text)} is not a blob (0x followed by hex digits)`)

const parseScalar = (text: string, type: DataType.DataType): unknown => {
  switch (type.kind) {
    case "ascii":
    case "varchar":
      return text
    case "boolean": {
      const t = text.toLowerCase()
      return t === "true" ? true : t === "false" ? false : fail(`${JSON.stringify(text)} is not a boolean`)
    }
    case "tinyint":
      return integer(text, 8, "tinyint")
    case "smallint":
      return integer(text, 16, "smallint")
    case "int":
      return integer(text, 32, "int")
    case "bigint":
    case "counter":
      return bigInteger(text, type.kind, 64)
    case "varint":
      return bigInteger(text, "varint")
    case "float":
      // What the column will hold: the nearest float32.
      return Math.fround(floating(text, "float"))
    case "double":
      return floating(text, "double")
    case "decimal":
      return some(BigDecimal.fromString(text), "decimal", text)
    case "uuid":
    case "timeuuid":
      return some(Uuid.fromString(text), type.kind, text)
    case "timestamp":
      return timestamp(text)
    case "date":
      return some(CqlDate.fromString(text), "date", text)
    case "time":
      return some(CqlTime.fromString(text), "time", text)
    case "duration":
      return some(CqlDuration.fromString(text), "duration", text)
    case "inet":
      return isIP(text) !== 0 ? text : fail(`${JSON.stringify(text)} is not an IP address`)
    case "blob":
    case "custom":
      return blob(text)
    default:
      return fail(`a ${type.kind} value must be a literal`)
  }
}

/** A recursive-descent reader of one CQL literal, guided by the type it must have. */
class LiteralParser {
  private at = 0
  constructor(private readonly text: string) {}

  end(): void {
    this.skipSpace()
    if (this.at < this.text.length) this.error("unexpected text")
  }

  value(type: DataType.DataType): unknown {
    this.skipSpace()
    if (this.text.startsWith("null", this.at) && !/[\w-]/.test(this.text[this.at + 4] ?? "")) {
      this.at += 4
      return null
    }
    switch (type.kind) {
      case "list":
        return this.sequence("[", "]", () => this.value(type.element))
      case "set":
        return this.sequence("{", "}", () => this.value(type.element))
      case "vector": {
        const items = this.sequence("[", "]", () => this.value(type.element))
        if (items.length !== type.dimension) this.error(`a vector of ${type.dimension} values, got ${items.length}`)
        return type.element.kind === "float" ? Float32Array.from(items as Array<number>) : items
      }
      case "map": {
        const entries = this.sequence("{", "}", () => {
          const k = this.value(type.key)
          this.expect(":")
          return [k, this.value(type.value)] as const
        })
        return new Map(entries)
      }
      case "tuple": {
        let i = 0
        const items = this.sequence("(", ")", () => {
          const t = type.elements[i++]
          return t === undefined ? this.error(`a tuple of ${type.elements.length} values`) : this.value(t)
        })
        while (items.length < type.elements.length) items.push(null)
        return items
      }
      case "udt": {
        const o: Record<string, unknown> = {}
        for (const f of type.fields) o[f.name] = null
        this.sequence("{", "}", () => {
          const name = this.fieldName()
          const f = type.fields.find((x) => x.name === name)
          if (f === undefined) return this.error(`${type.name} has no field ${name}`)
          this.expect(":")
          o[name] = this.value(f.type)
        })
        return o
      }
      default:
        return parseScalar(this.scalarText(), type)
    }
  }

  private sequence<A>(open: string, close: string, item: () => A): Array<A> {
    this.expect(open)
    const out: Array<A> = []
    this.skipSpace()
    if (this.text[this.at] === close) {
      this.at++
      return out
    }
    for (;;) {
      out.push(item())
      this.skipSpace()
      const c = this.text[this.at++]
      if (c === close) return out
      if (c !== ",") this.error(`"," or "${close}"`)
    }
  }

  private fieldName(): string {
    this.skipSpace()
    if (this.text[this.at] === '"') return this.quoted('"')
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.at))
    if (m === null) return this.error("a field name")
    this.at += m[0].length
    return m[0].toLowerCase()
  }

  /** A quoted string's content, or a bare token (up to a separator). */
  private scalarText(): string {
    this.skipSpace()
    if (this.text[this.at] === "'") return this.quoted("'")
    const m = /^[^,:)\]}\s]+/.exec(this.text.slice(this.at))
    if (m === null) return this.error("a value")
    this.at += m[0].length
    return m[0]
  }

  private quoted(q: string): string {
    let out = ""
    this.at++
    for (;;) {
      const end = this.text.indexOf(q, this.at)
      if (end < 0) return this.error(`a closing ${q}`)
      out += this.text.slice(this.at, end)
      this.at = end + 1
      if (this.text[this.at] !== q) return out
      out += q
      this.at++
    }
  }

  private expect(c: string): void {
    this.skipSpace()
    if (this.text[this.at] !== c) this.error(`"${c}"`)
    this.at++
  }

  private skipSpace(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at]!)) this.at++
  }

  private error(expected: string): never {
    return fail(`expected ${expected} at character ${this.at + 1} of ${JSON.stringify(this.text.length > 80 ? `${this.text.slice(0, 80)}...` : this.text)}`)
  }
}
