/**
 * CQL data types as they travel in [option] form (native_protocol_v5.spec 4.2.5.2), plus the types that arrive
 * as custom class strings (vector, since Cassandra 5.0).
 *
 * CONTRACT (shared by the codec modules): `readType` / `writeType` read and write an [option];
 * `parseTypeString` turns a Cassandra marshal class string (e.g.
 * `org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType,3)`) into a DataType.
 */
import type { ByteReader } from "./internal/reader.js"
import type { ByteWriter } from "./internal/writer.js"

export type NativeTypeName =
  | "ascii"
  | "bigint"
  | "blob"
  | "boolean"
  | "counter"
  | "decimal"
  | "double"
  | "float"
  | "int"
  | "timestamp"
  | "uuid"
  | "varchar"
  | "varint"
  | "timeuuid"
  | "inet"
  | "date"
  | "time"
  | "smallint"
  | "tinyint"
  | "duration"

export interface NativeType {
  readonly kind: NativeTypeName
}
export interface ListType {
  readonly kind: "list"
  readonly element: DataType
}
export interface SetType {
  readonly kind: "set"
  readonly element: DataType
}
export interface MapType {
  readonly kind: "map"
  readonly key: DataType
  readonly value: DataType
}
export interface TupleType {
  readonly kind: "tuple"
  readonly elements: ReadonlyArray<DataType>
}
export interface UdtType {
  readonly kind: "udt"
  readonly keyspace: string
  readonly name: string
  readonly fields: ReadonlyArray<{ readonly name: string; readonly type: DataType }>
}
/** `vector<element, dimension>`: a custom type on the wire, parsed from its class string. */
export interface VectorType {
  readonly kind: "vector"
  readonly element: DataType
  readonly dimension: number
}
/** Any other custom type: values travel as raw bytes. */
export interface CustomType {
  readonly kind: "custom"
  readonly className: string
}

export type DataType = NativeType | ListType | SetType | MapType | TupleType | UdtType | VectorType | CustomType

export declare const readType: (r: ByteReader) => DataType
export declare const writeType: (w: ByteWriter, t: DataType) => void
export declare const parseTypeString: (className: string) => DataType
