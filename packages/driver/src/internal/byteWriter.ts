// TODO(lead): "@effect-cql/protocol" does not export ByteWriter, which Request.encodeRequestEnvelope needs; until
// the barrel does, the driver reaches into the protocol sources here, in this one place.
export { ByteWriter } from "../../../protocol/src/internal/writer.js"
