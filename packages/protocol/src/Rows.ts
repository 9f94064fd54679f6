/**
 * Result metadata, prepared metadata and rows (native_protocol_v5.spec 4.2.5.2 and 4.2.5.4).
 *
 * CONTRACT (used by the message codec): the names below.
 */
import type { DataType } from "./DataType.js"
import type { ByteReader } from "./internal/reader.js"
import type { ByteWriter } from "./internal/writer.js"

export interface ColumnSpec {
  readonly keyspace: string
  readonly table: string
  readonly name: string
  readonly type: DataType
}

export interface RowsMetadata {
  readonly flags: number
  readonly columnCount: number
  /** undefined when the server sent No_metadata (the caller uses the prepared result metadata). */
  readonly columns: ReadonlyArray<ColumnSpec> | undefined
  readonly pagingState: Buffer | undefined
  /** v5 Metadata_changed: the id to send with later EXECUTEs. */
  readonly newMetadataId: Buffer | undefined
}

export interface PreparedMetadata {
  readonly flags: number
  readonly columns: ReadonlyArray<ColumnSpec>
  readonly pkIndexes: ReadonlyArray<number>
}

export type Row = Record<string, unknown>

export declare const readRowsMetadata: (r: ByteReader, version: 4 | 5) => RowsMetadata
export declare const writeRowsMetadata: (w: ByteWriter, m: RowsMetadata, version: 4 | 5) => void
export declare const readPreparedMetadata: (r: ByteReader, version: 4 | 5) => PreparedMetadata
export declare const writePreparedMetadata: (w: ByteWriter, m: PreparedMetadata, version: 4 | 5) => void
export declare const readRows: (r: ByteReader, columns: ReadonlyArray<ColumnSpec>) => Array<Row>
export declare const writeRows: (w: ByteWriter, columns: ReadonlyArray<ColumnSpec>, rows: ReadonlyArray<Row>) => void
