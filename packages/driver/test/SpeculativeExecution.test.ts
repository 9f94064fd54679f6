import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as SpeculativeExecution from "../src/SpeculativeExecution.js"

describe("SpeculativeExecution", () => {
  it("none starts nothing more", () => {
    for (const started of [1, 2, 10]) expect(SpeculativeExecution.none.nextExecution(started)).toEqual(Option.none())
  })

  it("constant waits its delay before each execution, up to maxExecutions in all", () => {
    const p = SpeculativeExecution.constant({ delay: "150 millis", maxExecutions: 3 })
    expect(p.nextExecution(1)).toEqual(Option.some(Duration.millis(150)))
    expect(p.nextExecution(2)).toEqual(Option.some(Duration.millis(150)))
    expect(p.nextExecution(3)).toEqual(Option.none())
    expect(p.nextExecution(4)).toEqual(Option.none())
  })

  it("constant with fewer than 2 executions is none", () => {
    for (const maxExecutions of [1, 0, -1]) {
      expect(SpeculativeExecution.constant({ delay: 10, maxExecutions }).nextExecution(1)).toEqual(Option.none())
    }
  })
})
