export * as TestSession from "./TestSession.js"
