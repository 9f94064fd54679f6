export * as Frame from "./Frame.js"
export * as Compression from "./Compression.js"
