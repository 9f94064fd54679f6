export * as TestSession from "./TestSession.js"
export * as StubServer from "./StubServer.js"
