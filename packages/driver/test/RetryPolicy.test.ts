import { describe, expect, it } from "@effect/vitest"
import * as CqlError from "../src/CqlError.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import type { RequestError } from "../src/Session.js"

const { defaultRetryPolicy: policy, decide, rethrow, retryNextHost, retrySameHost } = RetryPolicy
const host = "10.0.0.1:9042"
const base = { host, message: "m" }

const readTimeout = (received: number, blockFor: number, dataPresent: boolean) =>
  new CqlError.ReadTimeout({ ...base, consistency: "QUORUM", received, blockFor, dataPresent })
const writeTimeout = (writeType: string) =>
  new CqlError.WriteTimeout({ ...base, consistency: "QUORUM", received: 1, blockFor: 2, writeType, contentions: undefined })
const unavailable = new CqlError.Unavailable({ ...base, consistency: "QUORUM", required: 2, alive: 1 })

const first = { retryCount: 0, idempotent: true }
const ctx = (retryCount: number, idempotent: boolean) => ({ retryCount, idempotent })

/** Failures a retry on the next host may cure, but that may have been applied. */
const maybeApplied: ReadonlyArray<RequestError> = [
  new CqlError.ConnectionError({ host, message: "socket closed" }),
  new CqlError.RequestTimeout({ host, timeoutMs: 100 }),
  new CqlError.Overloaded(base),
  new CqlError.ServerError(base),
  new CqlError.TruncateError(base)
]

/** Failures the default policy rethrows. */
const final: ReadonlyArray<RequestError> = [
  new CqlError.ReadFailure({ ...base, consistency: "ONE", received: 0, blockFor: 1, numFailures: 1, reasons: [], dataPresent: false }),
  new CqlError.WriteFailure({ ...base, consistency: "ONE", received: 0, blockFor: 1, numFailures: 1, reasons: [], writeType: "SIMPLE" }),
  new CqlError.CdcWriteFailure(base),
  new CqlError.CasWriteUnknown({ ...base, consistency: "SERIAL", received: 0, blockFor: 1 }),
  new CqlError.UnknownServerError({ ...base, code: 0x4242 })
]

/** Errors that would be the same on every host: no policy is asked. */
const sameEverywhere: ReadonlyArray<RequestError> = [
  new CqlError.SyntaxError(base),
  new CqlError.Invalid(base),
  new CqlError.Unauthorized(base),
  new CqlError.InvalidConfiguration(base),
  new CqlError.AlreadyExists({ ...base, keyspace: "ks", table: "t" }),
  new CqlError.FunctionFailure({ ...base, keyspace: "ks", function: "f", argTypes: [] }),
  new CqlError.ProtocolViolation(base),
  new CqlError.AuthenticationError(base),
  new CqlError.Unprepared({ ...base, id: Buffer.from([1]) }),
  new CqlError.SessionClosed({ message: "closed" }),
  new CqlError.NoHostAvailable({ errors: new Map() }),
  new CqlError.DecodeError({ message: "bad" })
]

describe("defaultRetryPolicy", () => {
  it("retries a read timeout once on the same host when enough replicas answered without the data", () => {
    expect(decide(policy, readTimeout(2, 2, false), first)).toEqual(retrySameHost())
    expect(decide(policy, readTimeout(3, 2, false), ctx(0, false))).toEqual(retrySameHost())
    expect(decide(policy, readTimeout(2, 2, false), ctx(1, true))).toBe(rethrow)
  })

  it("else retries a read timeout of an idempotent statement once on the next host", () => {
    expect(decide(policy, readTimeout(2, 2, true), first)).toEqual(retryNextHost())
    expect(decide(policy, readTimeout(1, 2, false), first)).toEqual(retryNextHost())
    expect(decide(policy, readTimeout(1, 2, false), ctx(0, false))).toBe(rethrow)
    expect(decide(policy, readTimeout(2, 2, true), ctx(0, false))).toBe(rethrow)
    expect(decide(policy, readTimeout(1, 2, false), ctx(1, true))).toBe(rethrow)
  })

  it("retries a write timeout of an idempotent statement once: BATCH_LOG on the same host, others but CAS on the next", () => {
    expect(decide(policy, writeTimeout("BATCH_LOG"), first)).toEqual(retrySameHost())
    expect(decide(policy, writeTimeout("BATCH_LOG"), ctx(0, false))).toBe(rethrow)
    expect(decide(policy, writeTimeout("BATCH_LOG"), ctx(1, true))).toBe(rethrow)
    for (const t of ["SIMPLE", "BATCH", "UNLOGGED_BATCH", "COUNTER", "VIEW", "CDC"]) {
      expect(decide(policy, writeTimeout(t), first), t).toEqual(retryNextHost())
      expect(decide(policy, writeTimeout(t), ctx(0, false)), t).toBe(rethrow)
      expect(decide(policy, writeTimeout(t), ctx(1, true)), t).toBe(rethrow)
    }
    expect(decide(policy, writeTimeout("CAS"), first)).toBe(rethrow)
  })

  it("tries the next host once on unavailable, idempotent or not", () => {
    expect(decide(policy, unavailable, first)).toEqual(retryNextHost())
    expect(decide(policy, unavailable, ctx(0, false))).toEqual(retryNextHost())
    expect(decide(policy, unavailable, ctx(1, true))).toBe(rethrow)
  })

  it("tries the next host after a possibly applied failure only when the statement is idempotent", () => {
    for (const e of maybeApplied) {
      expect(decide(policy, e, first), e._tag).toEqual(retryNextHost())
      expect(decide(policy, e, ctx(5, true)), e._tag).toEqual(retryNextHost())
      expect(decide(policy, e, ctx(0, false)), e._tag).toBe(rethrow)
    }
  })

  it("tries the next host when the coordinator is bootstrapping, idempotent or not", () => {
    const e = new CqlError.IsBootstrapping(base)
    expect(decide(policy, e, ctx(0, false))).toEqual(retryNextHost())
    expect(decide(policy, e, ctx(3, true))).toEqual(retryNextHost())
  })

  it("rethrows read and write failures and unknown server errors", () => {
    for (const e of final) expect(decide(policy, e, first), e._tag).toBe(rethrow)
  })
})

describe("decide", () => {
  const always: RetryPolicy.RetryPolicy = {
    onReadTimeout: () => retrySameHost("ONE"),
    onWriteTimeout: () => retrySameHost("ONE"),
    onUnavailable: () => retryNextHost("ONE"),
    onRequestError: () => retryNextHost()
  }

  it("never asks a policy about errors that are the same on every host", () => {
    for (const e of sameEverywhere) expect(decide(always, e, first), e._tag).toBe(rethrow)
  })

  it("routes each retryable error to its hook, with the context", () => {
    const seen: Array<string> = []
    const spy: RetryPolicy.RetryPolicy = {
      onReadTimeout: (e, c) => (seen.push(`read ${e.received} ${c.retryCount} ${c.idempotent}`), RetryPolicy.ignore),
      onWriteTimeout: (e, c) => (seen.push(`write ${e.writeType} ${c.retryCount}`), RetryPolicy.ignore),
      onUnavailable: (e, c) => (seen.push(`unavailable ${e.alive} ${c.retryCount}`), RetryPolicy.ignore),
      onRequestError: (e, c) => (seen.push(`${e._tag} ${c.idempotent}`), RetryPolicy.ignore)
    }
    expect(decide(spy, readTimeout(1, 2, false), ctx(2, false))).toBe(RetryPolicy.ignore)
    decide(spy, writeTimeout("CAS"), ctx(1, true))
    decide(spy, unavailable, ctx(0, true))
    for (const e of [...maybeApplied, new CqlError.IsBootstrapping(base), ...final]) decide(spy, e, ctx(0, true))
    expect(seen).toEqual([
      "read 1 2 false",
      "write CAS 1",
      "unavailable 1 0",
      "ConnectionError true",
      "RequestTimeout true",
      "Overloaded true",
      "ServerError true",
      "TruncateError true",
      "IsBootstrapping true",
      "ReadFailure true",
      "WriteFailure true",
      "CdcWriteFailure true",
      "CasWriteUnknown true",
      "UnknownServerError true"
    ])
  })

  it("carries a consistency level in a retry decision", () => {
    expect(decide(always, unavailable, first)).toEqual({ _tag: "RetryNextHost", consistency: "ONE" })
    expect(decide(always, readTimeout(0, 1, false), first)).toEqual({ _tag: "RetrySameHost", consistency: "ONE" })
    expect(retrySameHost()).toEqual({ _tag: "RetrySameHost", consistency: undefined })
  })

  it("lets a custom policy replace one hook of the default", () => {
    const custom: RetryPolicy.RetryPolicy = { ...policy, onUnavailable: (_, c) => (c.retryCount < 3 ? retryNextHost("ONE") : rethrow) }
    expect(decide(custom, unavailable, ctx(2, false))).toEqual(retryNextHost("ONE"))
    expect(decide(custom, unavailable, ctx(3, false))).toBe(rethrow)
    expect(decide(custom, readTimeout(2, 2, false), first)).toEqual(retrySameHost())
  })
})

describe("fallthroughRetryPolicy", () => {
  it("rethrows everything", () => {
    const all = [readTimeout(2, 2, false), writeTimeout("BATCH_LOG"), unavailable, new CqlError.IsBootstrapping(base), ...maybeApplied, ...final]
    for (const e of all) expect(decide(RetryPolicy.fallthroughRetryPolicy, e, first), e._tag).toBe(rethrow)
  })
})
