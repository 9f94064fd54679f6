/**
 * Consistency levels, the [consistency] notation of native_protocol_v5.spec section 3: a [short] code per level.
 * The same codes are used in v4 and v5.
 */
import type { ByteReader } from "./internal/reader.js"
import type { ByteWriter } from "./internal/writer.js"
import { decodeFail, encodeFail } from "./internal/fail.js"

export type Consistency =
  | "ANY"
  | "ONE"
  | "TWO"
  | "THREE"
  | "QUORUM"
  | "ALL"
  | "LOCAL_QUORUM"
  | "EACH_QUORUM"
  | "SERIAL"
  | "LOCAL_SERIAL"
  | "LOCAL_ONE"

/** Levels by wire code: the index is the code (0x0000 ANY ... 0x000A LOCAL_ONE). */
export const all: ReadonlyArray<Consistency> = [
  "ANY",
  "ONE",
  "TWO",
  "THREE",
  "QUORUM",
  "ALL",
  "LOCAL_QUORUM",
  "EACH_QUORUM",
  "SERIAL",
  "LOCAL_SERIAL",
  "LOCAL_ONE"
]

const codes: Readonly<Record<Consistency, number>> = Object.fromEntries(all.map((c, i) => [c, i])) as Record<
  Consistency,
  number
>

/** The wire code of a level; undefined for anything that is not a level (e.g. an unchecked string). */
export const code = (c: Consistency): number | undefined => (Object.hasOwn(codes, c) ? codes[c] : undefined)

/** The level of a wire code, or undefined for an unknown code. */
export const fromCode = (n: number): Consistency | undefined => all[n]

/** SERIAL and LOCAL_SERIAL: the only levels allowed as a serial consistency (spec 4.1.4, flag 0x10). */
export const isSerial = (c: Consistency): boolean => c === "SERIAL" || c === "LOCAL_SERIAL"

/** Reads a [consistency]; an unknown code is a DecodeError. */
export const read = (r: ByteReader): Consistency => {
  const n = r.short()
  const c = all[n]
  return c === undefined ? decodeFail(`unknown consistency code 0x${n.toString(16).padStart(4, "0")}`, r.offset - 2) : c
}

/** Writes a [consistency]; `path` names the field in the EncodeError for a value that is not a level. */
export const write = (w: ByteWriter, c: Consistency, path: string): void => {
  const n = code(c)
  if (n === undefined) encodeFail(`not a consistency level: ${JSON.stringify(c)}`, path)
  else w.short(n)
}
