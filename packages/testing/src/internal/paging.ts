/**
 * Paging over a rule's rows, shared by the test Session and the stub server: a page is `pageSize` rows from an
 * offset, and the paging state handed to the client is that offset (opaque to it, as Cassandra's is).
 */

const MAGIC = 0x7e57

export const encodePagingState = (offset: number): Buffer => {
  const b = Buffer.allocUnsafe(6)
  b.writeUInt16BE(MAGIC, 0)
  b.writeUInt32BE(offset, 2)
  return b
}

/** The offset in a paging state this module made, or undefined for anything else. */
export const decodePagingState = (b: Uint8Array): number | undefined => {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  return buf.length === 6 && buf.readUInt16BE(0) === MAGIC ? buf.readUInt32BE(2) : undefined
}

export interface Page<A> {
  readonly rows: ReadonlyArray<A>
  /** Present when rows follow this page. */
  readonly pagingState: Buffer | undefined
}

/** The page of `all` a request asks for, or undefined when its paging state is not one of ours. */
export const pageOf = <A>(all: ReadonlyArray<A>, pageSize: number, pagingState: Uint8Array | undefined): Page<A> | undefined => {
  const from = pagingState === undefined ? 0 : decodePagingState(pagingState)
  if (from === undefined) return undefined
  const to = Math.min(all.length, from + Math.max(1, pageSize))
  return { rows: all.slice(from, to), pagingState: to < all.length ? encodePagingState(to) : undefined }
}

/** Cassandra's message for a paging state it cannot read. */
export const invalidPagingState = "Invalid value for the paging state"
