/**
 * CqlError as callers meet it: the server's Config_error does not take the tag of Effect's own ConfigError, the
 * errors of bad settings name what is missing, and the layers' error types are what they can fail with.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import type * as Layer from "effect/Layer"
import * as Cluster from "../src/Cluster.js"
import * as CqlError from "../src/CqlError.js"
import * as Session from "../src/Session.js"

describe("CqlError", () => {
  it("the server's Config_error is InvalidConfiguration, not Effect's ConfigError tag", () => {
    const e = CqlError.fromWire({ kind: "ConfigError", message: "bad compaction" }, "10.0.0.1:9042")
    expect(e).toBeInstanceOf(CqlError.InvalidConfiguration)
    expect(e._tag).toBe("InvalidConfiguration")
    expect(e).toMatchObject({ host: "10.0.0.1:9042", message: "bad compaction" })
  })

  it("the errors of bad settings say what is missing and what there is", () => {
    expect(new CqlError.UnknownKeyspace({ keyspace: "app" }).message).toBe('keyspace "app" does not exist')
    expect(new CqlError.UnknownDataCenter({ dataCenter: "dc9", found: ["dc1", "dc2"] }).message).toBe('no host is in data centre "dc9" (found: dc1, dc2)')
    expect(new CqlError.UnknownProfile({ name: "olap", known: ["default"] }).message).toBe('no execution profile named "olap" (known: default)')
  })

  it("the layers fail only with what starting can fail with, not every request error (checked by the type-check of npm test)", () => {
    expectTypeOf<Layer.Layer.Error<ReturnType<typeof Cluster.layer>>>().toEqualTypeOf<CqlError.ConnectError | CqlError.UnknownKeyspace>()
    expectTypeOf<Layer.Layer.Error<ReturnType<typeof Session.layer>>>().toEqualTypeOf<CqlError.ConnectError | CqlError.UnknownKeyspace>()
    expectTypeOf<Layer.Layer.Error<ReturnType<typeof Session.layerFromCluster>>>().toEqualTypeOf<CqlError.UnknownKeyspace>()
    // Nothing in a layer's error has the `_tag` "ConfigError" but Effect's own (from layerConfig).
    expectTypeOf<Extract<CqlError.RequestError, { readonly _tag: "ConfigError" }>>().toEqualTypeOf<never>()
  })
})
