/**
 * The two ways the codec can fail. Both are plain tagged errors so that the driver can surface them unchanged
 * and callers can match them with `Effect.catchTag`.
 */
import * as Data from "effect/Data"

/** Bytes from the server (or a peer) that cannot be a valid protocol message. */
export class DecodeError extends Data.TaggedError("DecodeError")<{
  readonly message: string
  /** Byte offset inside the body or frame being decoded, where known. */
  readonly offset?: number
}> {}

/** A value that does not fit the CQL type it is bound to. */
export class EncodeError extends Data.TaggedError("EncodeError")<{
  readonly message: string
  /** Where the value sits, e.g. `user.addresses[2].zip` or `$1`. Empty when it is the value itself. */
  readonly path: string
}> {}

export const isDecodeError = (u: unknown): u is DecodeError => u instanceof DecodeError
export const isEncodeError = (u: unknown): u is EncodeError => u instanceof EncodeError
