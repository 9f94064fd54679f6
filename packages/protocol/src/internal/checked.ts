/**
 * Writers for numbers that come from callers: they check the range of the notation first, so that a bad value is
 * an EncodeError naming its field instead of a RangeError from Buffer or a silently wrapped number.
 */
import * as Either from "effect/Either"
import type { EncodeError } from "../ProtocolError.js"
import { encodeFail, toEncodeError } from "./fail.js"
import { INT64_MAX, INT64_MIN } from "./int64.js"
import type { ByteWriter } from "./writer.js"

/**
 * Runs an encoder that writes at the writer's position. On failure the writer is rolled back to that position, so
 * that it can be reused (a half-written message never reaches the wire), and the error is returned as a value.
 */
export const writeOrRollBack = <A>(w: ByteWriter, f: () => A): Either.Either<A, EncodeError> => {
  let result: A
  const error = tryWrite(w, () => {
    result = f()
  })
  return error === undefined ? Either.right(result!) : Either.left(error)
}

/** The same for an encoder with no result: the error, or undefined (nothing allocated on success). */
const tryWrite = (w: ByteWriter, f: () => void): EncodeError | undefined => {
  const start = w.offset
  try {
    f()
    return undefined
  } catch (e) {
    w.offset = start
    return toEncodeError(e)
  }
}

/** [int] */
export const writeCheckedInt = (w: ByteWriter, v: number, path: string): void => {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) encodeFail(`${v} is not an [int]`, path)
  w.int(v)
}

/** [short] (unsigned 16 bits) */
export const writeCheckedShort = (w: ByteWriter, v: number, path: string): void => {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) encodeFail(`${v} is not a [short]`, path)
  w.short(v)
}

/** [long] from a bigint or an integral number. */
export const writeCheckedLong = (w: ByteWriter, v: bigint | number, path: string): void => {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) encodeFail(`${v} is not an integral [long]`, path)
    return w.long(BigInt(v))
  }
  if (typeof v !== "bigint" || v < INT64_MIN || v > INT64_MAX) encodeFail(`${String(v)} is not a [long]`, path)
  w.long(v)
}

/** A count written as a [short]: more than 65535 items cannot be sent. */
export const writeCount = (w: ByteWriter, n: number, what: string, path: string): void => {
  if (n > 0xffff) encodeFail(`${n} ${what} exceed the [short] count limit of 65535`, path)
  w.short(n)
}

/** [short bytes] */
export const writeCheckedShortBytes = (w: ByteWriter, b: Uint8Array, path: string): void => {
  if (!(b instanceof Uint8Array)) encodeFail("expected bytes (a Buffer or Uint8Array)", path)
  if (b.length > 0xffff) encodeFail(`${b.length} bytes do not fit [short bytes]`, path)
  w.shortBytes(b)
}

/** [bytes map] with its entry count checked. */
export const writeCheckedBytesMap = (w: ByteWriter, map: Readonly<Record<string, Uint8Array | null>>, path: string): void => {
  const keys = Object.keys(map)
  writeCount(w, keys.length, "map entries", path)
  for (const k of keys) {
    w.string(k)
    w.bytes(map[k]!)
  }
}

/** A [short bytes] field that exists only in v5 (a result metadata id): required there, refused in v4. */
export const writeV5ShortBytes = (
  w: ByteWriter,
  b: Uint8Array | undefined,
  version: 4 | 5,
  path: string,
  message: string
): void => {
  if (version < 5) {
    if (b !== undefined) encodeFail(`${path} is only sent in protocol v5`, path)
  } else if (b === undefined) {
    encodeFail(message, path)
  } else {
    writeCheckedShortBytes(w, b, path)
  }
}
