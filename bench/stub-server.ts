/**
 * How many pipelined prepared EXECUTEs per second the stub server answers in null-server mode, on one core.
 *
 *   npx vite-node bench/stub-server.ts [--seconds 5] [--connections 4] [--in-flight 1024] [--protocol 4|5] [--log on|off]
 *
 * The stub runs on this thread; the load comes from a worker thread (its own core) running a minimal raw client:
 * a few connections, each with `in-flight` EXECUTEs outstanding at all times, pre-encoded once per stream id (and,
 * in v5, pre-framed in their own segment), re-sent as soon as their answer arrives. The client only reads headers.
 * Printed: answers per second, and the stub thread's event-loop utilisation (near 100%: the stub is the limit).
 * A figure, not a test: nothing here asserts. The packages resolve through node_modules to their builds: run
 * `npm run build` first so that they match the sources.
 */
import { DataType, Frame, Request, Response, Segment } from "@effect-cql/protocol"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as net from "node:net"
import { performance } from "node:perf_hooks"
import { Worker } from "node:worker_threads"
import { ByteWriter } from "../packages/protocol/src/internal.js"
import { StubServer } from "../packages/testing/src/index.js"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const seconds = arg("seconds", 5)
const connections = arg("connections", 4)
const inFlight = arg("in-flight", 1024)
const warmupMs = 1000
const pick = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const runs = ([4, 5] as const)
  .flatMap((version) => [false, true].map((log) => [version, log] as const))
  .filter(([version, log]) => (pick("protocol") ?? String(version)) === String(version) && (pick("log") ?? (log ? "on" : "off")) === (log ? "on" : "off"))

const QUERY = "SELECT v FROM bench.kv WHERE k = ?"

const encode = (req: Request.Request, version: 4 | 5, stream: number): Buffer => {
  const w = new ByteWriter(128)
  return Buffer.from(Either.getOrThrow(Request.encodeRequestEnvelope(w, req, { version, stream })))
}

/** STARTUP then PREPARE on a throwaway connection: the prepared id and v5 result metadata id. */
const prepare = (address: string, port: number, version: 4 | 5): Promise<Response.Prepared> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port })
    const inbound = new Segment.Inbound()
    const outbound = new Segment.Outbound()
    socket.on("error", reject)
    socket.on("connect", () => socket.write(encode({ _tag: "Startup", options: { CQL_VERSION: "3.0.0" } }, version, 0)))
    socket.on("data", (chunk) => {
      inbound.push(chunk)
      for (let next = inbound.next(); next !== undefined; next = inbound.next()) {
        const env = Either.getOrThrow(next)
        if (env.opcode === Frame.Opcode.Ready) {
          if (version === 5) {
            inbound.useSegments("uncompressed")
            outbound.useSegments("uncompressed")
          }
          socket.write(outbound.encode([encode({ _tag: "Prepare", query: QUERY }, version, 1)]))
        } else {
          const res = Either.getOrThrow(Response.decodeResponseEnvelope(env))
          socket.destroy()
          if (res._tag === "Prepared") resolve(res)
          else reject(new Error(`PREPARE answered ${res._tag}`))
        }
      }
    })
  })

/** The load generator, run in a worker thread: plain JavaScript, headers only. */
const client = `
const { workerData, parentPort } = require("node:worker_threads")
const net = require("node:net")
const { address, port, version, connections, inFlight, startup, requests, warmupMs, durationMs } = workerData
const asBuffer = (u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)
const reqs = requests.map(asBuffer)
const start = asBuffer(startup)
let answers = 0, errors = 0, running = true, measuredFrom = 0, t0 = 0
const open = () => {
  const socket = net.connect({ host: address, port })
  socket.setNoDelay(true)
  let ready = false
  let rest = null
  socket.on("connect", () => socket.write(start))
  socket.on("data", (chunk) => {
    let buf = rest === null ? chunk : Buffer.concat([rest, chunk])
    let off = 0
    const len = buf.length
    const out = []
    if (!ready) {
      if (len < 9) { rest = buf; return }
      ready = true
      off = 9 + buf.readInt32BE(5)
      for (let s = 0; s < inFlight; s++) out.push(reqs[s])
    }
    const answer = (at) => {
      if (buf[at + 4] === 0x08) answers++
      else errors++
      if (running) out.push(reqs[buf.readInt16BE(at + 2)])
    }
    if (version === 4) {
      while (off + 9 <= len) {
        const end = off + 9 + buf.readInt32BE(off + 5)
        if (end > len) break
        answer(off)
        off = end
      }
    } else {
      // Segments: 3-byte little-endian header (17-bit length), CRC24, payload, CRC32. The answers are small,
      // so each segment holds whole envelopes.
      while (off + 6 <= len) {
        const plen = (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16)) & 0x1ffff
        const end = off + 6 + plen + 4
        if (end > len) break
        for (let p = off + 6; p < off + 6 + plen; p += 9 + buf.readInt32BE(p + 5)) answer(p)
        off = end
      }
    }
    rest = off < len ? Buffer.from(buf.subarray(off)) : null
    if (out.length > 0) socket.write(out.length === 1 ? out[0] : Buffer.concat(out))
  })
  return socket
}
const sockets = Array.from({ length: connections }, open)
t0 = performance.now()
setTimeout(() => {
  measuredFrom = answers
  t0 = performance.now()
  parentPort.postMessage({ phase: "measuring" })
  setTimeout(() => {
    const elapsed = performance.now() - t0
    const measured = answers - measuredFrom
    running = false
    for (const s of sockets) s.destroy()
    parentPort.postMessage({ phase: "done", answers: measured, elapsedMs: elapsed, errors })
  }, durationMs)
}, warmupMs)
`

interface Figure {
  readonly version: 4 | 5
  readonly log: boolean
  readonly perSecond: number
  readonly stubElu: number
  readonly errors: number
}

const measure = (version: 4 | 5, log: boolean): Effect.Effect<Figure, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const server = yield* StubServer.make({
        firstAddress: "127.0.1.201",
        port: 0,
        log,
        keyspaces: [{ name: "bench", tables: [{ name: "kv", columns: { k: DataType.native.int, v: DataType.native.varchar }, partitionKey: ["k"] }] }],
        rules: [{ query: QUERY, rows: [{ v: "value-0000000001" }] }]
      })
      const node = server.nodes[0]!
      const prepared = yield* Effect.promise(() => prepare(node.address, node.port, version))
      const requests = Array.from({ length: inFlight }, (_, stream) => {
        const env = encode(
          {
            _tag: "Execute",
            id: prepared.id,
            ...(prepared.resultMetadataId === undefined ? {} : { resultMetadataId: prepared.resultMetadataId }),
            params: { consistency: "LOCAL_ONE", values: [stream], types: [DataType.native.int], skipMetadata: true }
          },
          version,
          stream
        )
        return version === 5 ? Either.getOrThrow(Segment.encodeSegment(env, "uncompressed", true)) : env
      })
      const startup = encode({ _tag: "Startup", options: { CQL_VERSION: "3.0.0" } }, version, 0)
      return yield* Effect.async<Figure>((resume) => {
        const worker = new Worker(client, {
          eval: true,
          workerData: { address: node.address, port: node.port, version, connections, inFlight, startup, requests, warmupMs, durationMs: seconds * 1000 }
        })
        let elu = performance.eventLoopUtilization()
        worker.on("message", (m: { phase: string; answers: number; elapsedMs: number; errors: number }) => {
          if (m.phase === "measuring") {
            elu = performance.eventLoopUtilization()
            return
          }
          const stubElu = performance.eventLoopUtilization(elu).utilization
          void worker.terminate()
          resume(Effect.succeed({ version, log, perSecond: (m.answers * 1000) / m.elapsedMs, stubElu, errors: m.errors }))
        })
      })
    })
  )

const main = Effect.gen(function* () {
  console.log(`stub null-server: ${connections} connections x ${inFlight} in flight, ${seconds} s per run after ${warmupMs} ms warm-up`)
  console.log("| protocol | request log | answers/s | stub event-loop busy | errors |")
  console.log("|---|---|---:|---:|---:|")
  for (const [version, log] of runs) {
    const f = yield* measure(version, log)
    console.log(`| v${f.version} | ${f.log ? "on" : "off"} | ${Math.round(f.perSecond).toLocaleString("en-US")} | ${(f.stubElu * 100).toFixed(0)}% | ${f.errors} |`)
  }
})

Effect.runPromise(main).catch((e) => {
  console.error(e)
  process.exit(1)
})
