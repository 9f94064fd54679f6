export * as CqlClient from "./CqlClient.js"
export * as CqlCompiler from "./CqlCompiler.js"
export { CqlUnsupported } from "./CqlUnsupported.js"
