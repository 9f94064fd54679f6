import { AddressTranslator } from "@effect-cql/driver"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"

const at = (address: string, port = 9042) => ({ address, port })

describe("AddressTranslator", () => {
  it("identity keeps every endpoint", () => {
    expect(AddressTranslator.identity(at("10.0.0.1"))).toEqual(at("10.0.0.1"))
  })

  it("fixed maps by address, by address and port (which wins), changes the port when told, and keeps unlisted ones", () => {
    const t = AddressTranslator.fixed({
      "10.0.0.1": "127.0.0.1",
      "10.0.0.2:9042": "127.0.0.2:19042",
      "10.0.0.2": "127.0.0.22",
      "[fd00::3]:9042": "::1",
      "fd00::4": "[::1]:9100"
    })
    expect(t(at("10.0.0.1", 9043))).toEqual(at("127.0.0.1", 9043))
    expect(t(at("10.0.0.2"))).toEqual(at("127.0.0.2", 19042))
    expect(t(at("10.0.0.2", 9043))).toEqual(at("127.0.0.22", 9043))
    expect(t(at("fd00::3"))).toEqual(at("::1"))
    expect(t(at("fd00::4"))).toEqual(at("::1", 9100))
    expect(t(at("10.0.0.9"))).toEqual(at("10.0.0.9"))
    expect(AddressTranslator.fixed(new Map([["10.0.0.1", "127.0.0.1"]]))(at("10.0.0.1"))).toEqual(at("127.0.0.1"))
  })

  it("translate accepts IP addresses and host names, and types every other outcome as AddressTranslationError", () => {
    const ok = (out: unknown) => AddressTranslator.translate(() => out as AddressTranslator.Endpoint, at("10.0.0.1"))
    expect(ok(at("127.0.0.1"))).toEqual(Either.right(at("127.0.0.1")))
    expect(ok(at("::1"))).toEqual(Either.right(at("::1")))
    expect(ok(at("node-1.cassandra.svc.cluster.local"))).toEqual(Either.right(at("node-1.cassandra.svc.cluster.local")))
    const reason = (out: unknown) => {
      const r = ok(out)
      return Either.isLeft(r) ? r.left.reason : "accepted"
    }
    expect(reason(undefined)).toBe("the translator returned undefined, not { address, port }")
    expect(reason(at("127.0.0.999"))).toMatch(/address "127.0.0.999", which is neither/)
    expect(reason(at("two words"))).toMatch(/address "two words"/)
    expect(reason({ address: 1, port: 9042 })).toMatch(/address 1,/)
    expect(reason(at("127.0.0.1", 0))).toBe("the translator returned the port 0, not an integer from 1 to 65535")
    expect(reason(at("127.0.0.1", 70000))).toMatch(/port 70000/)
    expect(reason(at("127.0.0.1", 9042.5))).toMatch(/port 9042.5/)
    const thrown = AddressTranslator.translate(() => {
      throw new Error("boom")
    }, at("10.0.0.1"))
    expect(Either.isLeft(thrown) && thrown.left).toMatchObject({ _tag: "AddressTranslationError", advertised: at("10.0.0.1"), reason: "the translator threw: boom" })
  })
})
