import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import type * as Event from "../src/Event.js"
import { Opcode } from "../src/Frame.js"
import { ByteWriter } from "../src/internal/writer.js"
import * as Response from "../src/Response.js"
import { bytes, int, short, str, strList } from "./messageBytes.js"

const decode = (body: Buffer, version: 4 | 5) => Response.decodeResponse(Opcode.Event, 0, body, version)

const decodeEvent = (body: Buffer, version: 4 | 5): Event.Event => {
  const res = Either.getOrThrow(decode(body, version))
  if (res._tag !== "Event") throw new Error(`expected an EVENT, got ${res._tag}`)
  return res.event
}

const encodeEvent = (event: Event.Event, version: 4 | 5): Buffer => {
  const w = new ByteWriter(8)
  Either.getOrThrow(Response.encodeResponse(w, { _tag: "Event", event }, version))
  return Buffer.from(w.finish())
}

const vectors: ReadonlyArray<[string, Buffer, Event.Event]> = [
  [
    "TOPOLOGY_CHANGE NEW_NODE (IPv4)",
    bytes(str("TOPOLOGY_CHANGE"), str("NEW_NODE"), [4, 127, 0, 0, 2], int(9042)),
    { type: "TOPOLOGY_CHANGE", change: "NEW_NODE", address: "127.0.0.2", port: 9042 }
  ],
  [
    "TOPOLOGY_CHANGE REMOVED_NODE",
    bytes(str("TOPOLOGY_CHANGE"), str("REMOVED_NODE"), [4, 10, 1, 2, 3], int(9042)),
    { type: "TOPOLOGY_CHANGE", change: "REMOVED_NODE", address: "10.1.2.3", port: 9042 }
  ],
  [
    "STATUS_CHANGE DOWN (IPv6)",
    bytes(str("STATUS_CHANGE"), str("DOWN"), [16, 0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 0x05], int(19042)),
    { type: "STATUS_CHANGE", change: "DOWN", address: "2001:db8::5", port: 19042 }
  ],
  [
    "STATUS_CHANGE UP",
    bytes(str("STATUS_CHANGE"), str("UP"), [4, 127, 0, 0, 1], int(9042)),
    { type: "STATUS_CHANGE", change: "UP", address: "127.0.0.1", port: 9042 }
  ],
  [
    "SCHEMA_CHANGE CREATED KEYSPACE",
    bytes(str("SCHEMA_CHANGE"), str("CREATED"), str("KEYSPACE"), str("ks")),
    { type: "SCHEMA_CHANGE", change: "CREATED", target: "KEYSPACE", keyspace: "ks" }
  ],
  [
    "SCHEMA_CHANGE UPDATED TABLE",
    bytes(str("SCHEMA_CHANGE"), str("UPDATED"), str("TABLE"), str("ks"), str("users")),
    { type: "SCHEMA_CHANGE", change: "UPDATED", target: "TABLE", keyspace: "ks", name: "users" }
  ],
  [
    "SCHEMA_CHANGE DROPPED TYPE",
    bytes(str("SCHEMA_CHANGE"), str("DROPPED"), str("TYPE"), str("ks"), str("address")),
    { type: "SCHEMA_CHANGE", change: "DROPPED", target: "TYPE", keyspace: "ks", name: "address" }
  ],
  [
    "SCHEMA_CHANGE CREATED FUNCTION",
    bytes(str("SCHEMA_CHANGE"), str("CREATED"), str("FUNCTION"), str("ks"), str("plus"), strList("int", "int")),
    { type: "SCHEMA_CHANGE", change: "CREATED", target: "FUNCTION", keyspace: "ks", name: "plus", argTypes: ["int", "int"] }
  ],
  [
    "SCHEMA_CHANGE DROPPED AGGREGATE",
    bytes(str("SCHEMA_CHANGE"), str("DROPPED"), str("AGGREGATE"), str("ks"), str("avg"), strList("frozen<list<int>>")),
    {
      type: "SCHEMA_CHANGE",
      change: "DROPPED",
      target: "AGGREGATE",
      keyspace: "ks",
      name: "avg",
      argTypes: ["frozen<list<int>>"]
    }
  ]
]

describe("Event", () => {
  for (const [name, body, event] of vectors) {
    for (const version of [4, 5] as const) {
      it(`${name} v${version}: spec bytes <-> fields`, () => {
        expect(decodeEvent(body, version)).toEqual(event)
        expect(encodeEvent(event, version).toString("hex")).toBe(body.toString("hex"))
      })
    }
  }

  it("a server writes an EVENT envelope with stream -1 and the direction bit", () => {
    const w = new ByteWriter(8)
    const event: Event.Event = { type: "STATUS_CHANGE", change: "UP", address: "127.0.0.1", port: 9042 }
    const env = Either.getOrThrow(Response.encodeResponseEnvelope(w, { _tag: "Event", event }, { version: 5, stream: -1 }))
    const body = vectors[3]![1]
    expect(env.toString("hex")).toBe(bytes(0x85, 0, short(0xffff), Opcode.Event, int(body.length), body).toString("hex"))
  })

  describe("hostile bodies", () => {
    for (const [name, body] of vectors) {
      it(`${name}: every truncation is a DecodeError`, () => {
        for (let n = 0; n < body.length; n++) {
          expect(Either.isLeft(decode(body.subarray(0, n), 5)), `truncated to ${n}`).toBe(true)
        }
      })
    }

    const bad: ReadonlyArray<[string, Buffer, RegExp]> = [
      ["an unknown event type", bytes(str("KEYSPACE_CHANGE"), str("x")), /unknown event type "KEYSPACE_CHANGE"/],
      ["an unknown topology change", bytes(str("TOPOLOGY_CHANGE"), str("JOINED"), [4, 1, 2, 3, 4], int(1)), /topology change "JOINED"/],
      ["an unknown status change", bytes(str("STATUS_CHANGE"), str("SLEEPY"), [4, 1, 2, 3, 4], int(1)), /status change "SLEEPY"/],
      ["an unknown schema change", bytes(str("SCHEMA_CHANGE"), str("RENAMED"), str("KEYSPACE"), str("k")), /schema change type "RENAMED"/],
      ["an unknown schema target", bytes(str("SCHEMA_CHANGE"), str("CREATED"), str("INDEX"), str("k")), /target "INDEX"/],
      ["an [inet] of 5 bytes", bytes(str("STATUS_CHANGE"), str("UP"), [5, 1, 2, 3, 4, 5], int(1)), /\[inetaddr\] of 5 bytes/],
      ["an argument list count past the end", bytes(str("SCHEMA_CHANGE"), str("CREATED"), str("FUNCTION"), str("k"), str("f"), short(60000)), /count 60000 exceeds/]
    ]
    for (const [name, body, message] of bad) {
      it(`${name} is a DecodeError`, () => {
        const r = decode(body, 4)
        expect(Either.isLeft(r) && r.left.message).toMatch(message)
      })
    }
  })

  it("encoding rejects values the decoder would reject", () => {
    const w = new ByteWriter(8)
    const bad = [
      { type: "STATUS_CHANGE", change: "SIDEWAYS", address: "127.0.0.1", port: 1 },
      { type: "STATUS_CHANGE", change: "UP", address: "localhost", port: 1 },
      { type: "TOPOLOGY_CHANGE", change: "NEW_NODE", address: "127.0.0.1", port: 70000 },
      { type: "SCHEMA_CHANGE", change: "CREATED", target: "INDEX", keyspace: "k" },
      { type: "OTHER" }
    ] as unknown as ReadonlyArray<Event.Event>
    for (const event of bad) {
      expect(Either.isLeft(Response.encodeResponse(w, { _tag: "Event", event }, 4)), JSON.stringify(event)).toBe(true)
      expect(w.offset).toBe(0)
    }
  })

  const text = fc.string({ unit: "grapheme", maxLength: 16 })
  const address = fc.oneof(fc.ipV4(), fc.constantFrom("::1", "2001:db8::1:0:0:1", "fe80::"))
  const port = fc.integer({ min: 0, max: 0xffff })
  const change = fc.constantFrom("CREATED" as const, "UPDATED" as const, "DROPPED" as const)
  const event: fc.Arbitrary<Event.Event> = fc.oneof(
    fc.record({
      type: fc.constant("TOPOLOGY_CHANGE" as const),
      change: fc.constantFrom("NEW_NODE" as const, "REMOVED_NODE" as const, "MOVED_NODE" as const),
      address,
      port
    }),
    fc.record({ type: fc.constant("STATUS_CHANGE" as const), change: fc.constantFrom("UP" as const, "DOWN" as const), address, port }),
    fc.record({ type: fc.constant("SCHEMA_CHANGE" as const), change, target: fc.constant("KEYSPACE" as const), keyspace: text }),
    fc.record({
      type: fc.constant("SCHEMA_CHANGE" as const),
      change,
      target: fc.constantFrom("TABLE" as const, "TYPE" as const),
      keyspace: text,
      name: text
    }),
    fc.record({
      type: fc.constant("SCHEMA_CHANGE" as const),
      change,
      target: fc.constantFrom("FUNCTION" as const, "AGGREGATE" as const),
      keyspace: text,
      name: text,
      argTypes: fc.array(text, { maxLength: 4 })
    })
  )

  it.prop("server encode -> client decode round-trips every event", { event, v5: fc.boolean() }, ({ event, v5 }) => {
    const version = v5 ? 5 : 4
    expect(decodeEvent(encodeEvent(event, version), version)).toEqual(event)
  })
})
