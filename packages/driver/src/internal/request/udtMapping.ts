/**
 * Applies the UDT Schemas registered in the RegistryService: decoded UDT values (plain objects) become the
 * Schema's type, and bound values of a registered UDT are encoded through it. Types without a registered UDT
 * anywhere inside are left alone, and when no Schema is registered the row path does nothing at all.
 */
import type { DataType, Rows } from "@effect-cql/protocol"
import * as Either from "effect/Either"
import type { ParseError } from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { RegistryService } from "../../Registry.js"

type Mapper = (value: unknown) => unknown

/** Thrown inside a mapping and caught at its boundary (sync, no Effect per value). */
class Mismatch {
  constructor(readonly error: ParseError) {}
}

const mapperFor = (registry: RegistryService, type: DataType.DataType, direction: "decode" | "encode"): Mapper | undefined => {
  switch (type.kind) {
    case "list":
    case "set": {
      const inner = mapperFor(registry, type.element, direction)
      return inner && ((v) => (v == null ? v : (v as Array<unknown>).map(inner)))
    }
    case "map": {
      const k = mapperFor(registry, type.key, direction)
      const val = mapperFor(registry, type.value, direction)
      if (!k && !val) return undefined
      return (v) => {
        if (v == null) return v
        const entries = v instanceof Map ? [...v] : Object.entries(v as object)
        return new Map(entries.map(([a, b]) => [k ? k(a) : a, val ? val(b) : b]))
      }
    }
    case "tuple": {
      const inner = type.elements.map((e) => mapperFor(registry, e, direction))
      if (inner.every((m) => m === undefined)) return undefined
      return (v) => (v == null ? v : (v as Array<unknown>).map((x, i) => (inner[i] ? inner[i]!(x) : x)))
    }
    case "udt": {
      const fields = type.fields.map((f) => [f.name, mapperFor(registry, f.type, direction)] as const)
      const schema = registry.udtSchema(type.keyspace, type.name)
      const inner = fields.some(([, m]) => m !== undefined)
        ? (v: unknown) => {
            const o = { ...(v as Record<string, unknown>) }
            for (const [name, m] of fields) if (m && o[name] != null) o[name] = m(o[name])
            return o
          }
        : undefined
      if (schema === undefined) return inner && ((v) => (v == null ? v : inner(v)))
      const run = direction === "decode" ? Schema.decodeUnknownEither(schema) : Schema.encodeUnknownEither(schema)
      return (v) => {
        if (v == null) return v
        // Decode: fields first (inner UDTs), then this type's Schema; encode: the reverse.
        const input = direction === "decode" && inner ? inner(v) : v
        const out = run(input)
        if (Either.isLeft(out)) throw new Mismatch(out.left)
        return direction === "encode" && inner ? inner(out.right) : out.right
      }
    }
    default:
      return undefined
  }
}

/** Mappers are cached per metadata array, and rebuilt when more Schemas have been registered since. */
interface Cached<A> {
  readonly registered: number
  readonly value: A
}
const rowMappers = new WeakMap<ReadonlyArray<Rows.ColumnSpec>, Cached<ReadonlyArray<readonly [string, Mapper]>>>()
const valueMappers = new WeakMap<ReadonlyArray<DataType.DataType>, Cached<ReadonlyArray<Mapper | undefined>>>()

const cached = <K extends object, A>(cache: WeakMap<K, Cached<A>>, key: K, registered: number, build: () => A): A => {
  const hit = cache.get(key)
  if (hit !== undefined && hit.registered === registered) return hit.value
  const value = build()
  cache.set(key, { registered, value })
  return value
}

export const decodeRows = (
  registry: RegistryService,
  columns: ReadonlyArray<Rows.ColumnSpec>,
  rows: ReadonlyArray<Rows.Row>
): Either.Either<ReadonlyArray<Rows.Row>, ParseError> => {
  const registered = registry.udtCount()
  if (registered === 0 || rows.length === 0) return Either.right(rows)
  const mappers = cached(rowMappers, columns, registered, () =>
    columns.flatMap((c) => {
      const m = mapperFor(registry, c.type, "decode")
      return m ? [[c.name, m] as const] : []
    })
  )
  if (mappers.length === 0) return Either.right(rows)
  try {
    return Either.right(
      rows.map((row) => {
        const out = { ...row }
        for (const [name, m] of mappers) out[name] = m(row[name])
        return out
      })
    )
  } catch (e) {
    if (e instanceof Mismatch) return Either.left(e.error)
    throw e
  }
}

export const encodeValues = (
  registry: RegistryService,
  types: ReadonlyArray<DataType.DataType>,
  values: ReadonlyArray<unknown>
): Either.Either<ReadonlyArray<unknown>, ParseError> => {
  const registered = registry.udtCount()
  if (registered === 0) return Either.right(values)
  const mappers = cached(valueMappers, types, registered, () => types.map((t) => mapperFor(registry, t, "encode")))
  if (mappers.every((m) => m === undefined)) return Either.right(values)
  try {
    return Either.right(values.map((v, i) => (mappers[i] ? mappers[i]!(v) : v)))
  } catch (e) {
    if (e instanceof Mismatch) return Either.left(e.error)
    throw e
  }
}
