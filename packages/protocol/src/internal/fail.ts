/**
 * The codec's internals throw `DecodeError` / `EncodeError` (cheap on the success path, no result wrapping per
 * field); the public entry points catch with these helpers so that nothing escapes as an exception.
 */
import * as Either from "effect/Either"
import { DecodeError, EncodeError } from "../ProtocolError.js"

export const decodeFail = (message: string, offset?: number): never => {
  throw offset === undefined ? new DecodeError({ message }) : new DecodeError({ message, offset })
}

export const encodeFail = (message: string, path = ""): never => {
  throw new EncodeError({ message, path })
}

/** Runs a decoder; any exception (a DecodeError or a stray RangeError/TypeError) becomes a DecodeError value. */
export const catchDecode = <A>(f: () => A): Either.Either<A, DecodeError> => {
  try {
    return Either.right(f())
  } catch (e) {
    return Either.left(toDecodeError(e))
  }
}

export const toDecodeError = (e: unknown): DecodeError =>
  e instanceof DecodeError ? e : new DecodeError({ message: `malformed input: ${e instanceof Error ? e.message : String(e)}` })

/** Runs an encoder; any exception becomes an EncodeError value. */
export const catchEncode = <A>(f: () => A): Either.Either<A, EncodeError> => {
  try {
    return Either.right(f())
  } catch (e) {
    return Either.left(toEncodeError(e))
  }
}

export const toEncodeError = (e: unknown): EncodeError =>
  e instanceof EncodeError ? e : new EncodeError({ message: e instanceof Error ? e.message : String(e), path: "" })
