/**
 * `@effect-cql/protocol/internal`: the byte cursors that message encoders write into and decoders read from, for
 * the packages built on this one (the driver reuses one writer per flush; the stub server and test clients write
 * frames). Not part of the public API (the package's barrel leaves them out): their fields and methods may change
 * with any release.
 */
export { ByteReader } from "./internal/reader.js"
export { ByteWriter } from "./internal/writer.js"
