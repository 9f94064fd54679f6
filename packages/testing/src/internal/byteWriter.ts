// TODO(lead): "@effect-cql/protocol" does not export ByteWriter, which Response.encodeResponseEnvelope needs; until
// the barrel does, this package reaches into the protocol sources here, in this one place (as the driver does).
export { ByteWriter } from "../../../protocol/src/internal/writer.js"
