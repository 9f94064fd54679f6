/**
 * Measures LZ4 (raw block) and Snappy libraries on CQL-like RESULT bodies, to choose the ones the protocol uses.
 * Run: `npx vite-node bench/compression.ts`. Candidates that are not installed are listed as such; install them
 * elsewhere and point CANDIDATES_DIR at that folder to measure them without adding them to the project:
 *
 *   mkdir /tmp/c && cd /tmp/c && npm init -y && npm i lz4-napi lz4js lz4-wasm-nodejs lz4 snappy snappyjs snappy-wasm
 *   CANDIDATES_DIR=/tmp/c npx vite-node bench/compression.ts
 *
 * This project's codecs are loaded from the compiled package (run `npx tsc -b packages/protocol` first) with
 * Node's own module loader: vite-node rewrites every imported binding into a property read, which would slow the
 * compressors' inner loops several times over and measure the bench tool instead of the code.
 *
 * Figures are MB/s of uncompressed bytes, single thread, best of 5 rounds; ratio = uncompressed / compressed.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import * as Either from "effect/Either"

const candidatesDir = process.env.CANDIDATES_DIR ?? process.cwd()
const requireFrom = createRequire(path.join(candidatesDir, "package.json"))
const projectRequire = createRequire(import.meta.url)

const loadOwn = <M>(file: string): M | null => {
  try {
    return projectRequire(`../packages/protocol/dist/${file}`) as M
  } catch {
    return null
  }
}
type Lz4Module = typeof import("../packages/protocol/src/internal/lz4.js")
type CompressionModule = typeof import("../packages/protocol/src/Compression.js")

interface Candidate {
  readonly name: string
  readonly algorithm: "lz4" | "snappy"
  readonly kind: "native" | "wasm" | "js" | "this project"
  /** Packages whose installed files make up its size (first one is the package itself). */
  readonly packages: ReadonlyArray<string>
  /** null when the package cannot be loaded here. */
  readonly load: () => Codec | null
}

interface Codec {
  /** LZ4: raw block, no length prefix. Snappy: the raw format (varint length + elements). */
  compress(input: Buffer): Uint8Array
  decompress(compressed: Uint8Array, uncompressedLength: number): Uint8Array
}

type Loose = Record<string, (...args: Array<unknown>) => unknown>

const tryRequire = (name: string, from = requireFrom): Loose | null => {
  try {
    return from(name) as Loose
  } catch {
    return null
  }
}

/** lz4_flex (behind lz4-napi and lz4-wasm) frames its block with a 4-byte little-endian length. */
const withLeLength = (block: Uint8Array, n: number): Buffer => {
  const b = Buffer.allocUnsafe(block.length + 4)
  b.writeUInt32LE(n, 0)
  b.set(block, 4)
  return b
}

/** A loader that requires `module` from CANDIDATES_DIR and adapts it, or yields null when it is not installed. */
const viaModule = (module: string, adapt: (m: Loose) => Codec) => (): Codec | null => {
  const m = tryRequire(module)
  return m === null ? null : adapt(m)
}

/** This project's compiled module, adapted. */
const viaOwn = <M>(file: string, adapt: (m: M) => Codec) => (): Codec | null => {
  const m = loadOwn<M>(file)
  return m === null ? null : adapt(m)
}

/** node-lz4's native and JavaScript bindings share one calling convention. */
const nodeLz4 = (m: Loose): Codec => ({
  compress: (b) => {
    const dst = Buffer.allocUnsafe(m.compressBound!(b.length) as number)
    return dst.subarray(0, m.compress!(b, dst) as number)
  },
  decompress: (c, n) => {
    const dst = Buffer.allocUnsafe(n)
    m.uncompress!(Buffer.from(c.buffer, c.byteOffset, c.length), dst)
    return dst
  }
})

const candidate = (
  name: string,
  algorithm: Candidate["algorithm"],
  kind: Candidate["kind"],
  packages: ReadonlyArray<string>,
  load: Candidate["load"]
): Candidate => ({ name, algorithm, kind, packages, load })

const candidates: ReadonlyArray<Candidate> = [
  candidate("lz4-napi", "lz4", "native", ["lz4-napi", "@antoniomuso/lz4-napi-linux-x64-gnu"], viaModule("lz4-napi", (m) => ({
    compress: (b) => (m.compressSync!(b) as Buffer).subarray(4),
    decompress: (c, n) => m.uncompressSync!(withLeLength(c, n)) as Buffer
  }))),
  candidate("lz4-wasm-nodejs", "lz4", "wasm", ["lz4-wasm-nodejs"], viaModule("lz4-wasm-nodejs", (m) => ({
    compress: (b) => (m.compress!(b) as Uint8Array).subarray(4),
    decompress: (c, n) => m.decompress!(withLeLength(c, n)) as Uint8Array
  }))),
  candidate("lz4js", "lz4", "js", ["lz4js"], viaModule("lz4js", (m) => {
    const table = new Uint32Array(1 << 16)
    return {
      compress: (b) => {
        const dst = new Uint8Array(m.compressBound!(b.length) as number)
        table.fill(0)
        return dst.subarray(0, m.compressBlock!(b, dst, 0, b.length, table) as number)
      },
      decompress: (c, n) => {
        const dst = new Uint8Array(n)
        m.decompressBlock!(c, dst, 0, c.length, 0)
        return dst
      }
    }
  })),
  candidate("lz4 (node-lz4, native built by node-gyp)", "lz4", "native",
    ["lz4", "cuint", "xxhashjs", "buffer", "nan", "base64-js", "ieee754"],
    viaModule("lz4/lib/utils", (m) => nodeLz4(m.bindings as unknown as Loose))),
  candidate("node-lz4 lib/binding.js (pure JS)", "lz4", "js", ["lz4", "cuint"], viaModule("lz4/lib/binding", nodeLz4)),
  candidate("effect-cql lz4 (own TS block codec)", "lz4", "this project", [],
    viaOwn<Lz4Module>("internal/lz4.js", (m) => ({ compress: (b) => m.compress(b), decompress: (c, n) => m.decompress(c, n) }))),
  candidate("effect-cql Compression.lz4Block (as shipped)", "lz4", "this project", [],
    viaOwn<CompressionModule>("Compression.js", (m) => ({
      compress: (b) => m.lz4Block.compress(b),
      decompress: (c, n) => Either.getOrThrow(m.lz4Block.decompress(c, n))
    }))),
  candidate("snappy", "snappy", "native", ["snappy", "@napi-rs/snappy-linux-x64-gnu"], viaModule("snappy", (m) => ({
    compress: (b) => m.compressSync!(b) as Buffer,
    decompress: (c) => m.uncompressSync!(c) as Buffer
  }))),
  candidate("snappy-wasm", "snappy", "wasm", ["snappy-wasm"], viaModule("snappy-wasm", (m) => ({
    compress: (b) => m.compress_raw!(b) as Uint8Array,
    decompress: (c) => m.decompress_raw!(c) as Uint8Array
  }))),
  candidate("snappyjs", "snappy", "js", ["snappyjs"], viaModule("snappyjs", (m) => ({
    compress: (b) => m.compress!(b) as Uint8Array,
    decompress: (c) => m.uncompress!(c) as Uint8Array
  }))),
  candidate("effect-cql snappy (own TS codec)", "snappy", "this project", [],
    viaOwn<CompressionModule>("Compression.js", (m) => ({
      compress: (b) => m.snappy.compress(b),
      decompress: (c, n) => Either.getOrThrow(m.snappy.decompress(c, n))
    })))
]

/** A RESULT Rows-like body: [int]-length values of a users table (uuid, text, int, timestamp, text, double). */
const rowsBody = (size: number): Buffer => {
  let seed = 42
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed
  }
  const names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory"]
  const domains = ["example.com", "mail.test", "corp.internal"]
  const out = Buffer.alloc(size)
  let at = 0
  let ts = 1_700_000_000_000n
  const put = (v: Buffer) => {
    if (at + 4 + v.length > size) return false
    out.writeInt32BE(v.length, at)
    v.copy(out, at + 4)
    at += 4 + v.length
    return true
  }
  for (;;) {
    const id = Buffer.allocUnsafe(16)
    for (let i = 0; i < 16; i += 4) id.writeUInt32BE(rand(), i)
    const name = names[rand() % names.length]!
    const age = Buffer.allocUnsafe(4)
    age.writeInt32BE(18 + (rand() % 60))
    ts += BigInt(rand() % 5000)
    const created = Buffer.allocUnsafe(8)
    created.writeBigInt64BE(ts)
    const email = Buffer.from(`${name}.${rand() % 1000}@${domains[rand() % domains.length]}`)
    const score = Buffer.allocUnsafe(8)
    score.writeDoubleBE((rand() % 10000) / 100)
    if (![id, Buffer.from(name), age, created, email, score].every(put)) break
  }
  return out
}

const dirSize = (dir: string): number => {
  let total = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    total += entry.isDirectory() ? dirSize(p) : fs.statSync(p).size
  }
  return total
}

/** The folder of an installed package (found from its entry point, as some packages do not export package.json). */
const packageDir = (name: string): string | null => {
  for (const base of [requireFrom, projectRequire]) {
    let dir: string
    try {
      dir = path.dirname(base.resolve(name))
    } catch {
      try {
        dir = path.dirname(base.resolve(`${name}/package.json`))
      } catch {
        continue
      }
    }
    while (!fs.existsSync(path.join(dir, "package.json")) || !dir.endsWith(name)) {
      const up = path.dirname(dir)
      if (up === dir) return null
      dir = up
    }
    return dir
  }
  return null
}

const installFacts = (c: Candidate): { size: string; scripts: string } => {
  if (c.packages.length === 0) return { size: "-", scripts: "-" }
  let total = 0
  const scripts: Array<string> = []
  for (const name of c.packages) {
    const dir = packageDir(name)
    if (dir === null) continue
    total += dirSize(dir)
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { scripts?: Record<string, string> }
    for (const hook of ["preinstall", "install", "postinstall"]) {
      const s = pkg.scripts?.[hook]
      if (s !== undefined) scripts.push(`${name}: ${hook}=${s}`)
    }
  }
  return { size: `${(total / 1024).toFixed(0)} KiB`, scripts: scripts.length === 0 ? "none" : scripts.join("; ") }
}

/**
 * MB/s for `bytes` per call of `f`: the best of 5 rounds of about `ms` each, so that other processes on a shared
 * machine lower fewer of the figures (a round can only be slowed down, never sped up, by them).
 */
const throughput = (bytes: number, f: () => void, ms = 120): number => {
  for (let i = 0; i < 20; i++) f()
  let best = 0
  for (let round = 0; round < 5; round++) {
    let iterations = 0
    const start = process.hrtime.bigint()
    const deadline = start + BigInt(ms) * 1_000_000n
    let now = start
    while (now < deadline) {
      for (let i = 0; i < 10; i++) f()
      iterations += 10
      now = process.hrtime.bigint()
    }
    best = Math.max(best, (bytes * iterations) / (Number(now - start) / 1e9) / 1e6)
  }
  return best
}

const sizes = [1024, 16 * 1024, 128 * 1024 - 1]
const bodies = sizes.map(rowsBody)

const own = loadOwn<CompressionModule>("Compression.js")
console.log(`Node ${process.version}; candidates from ${candidatesDir}; shipped LZ4: ${own?.lz4Implementation ?? "dist not built (npx tsc -b packages/protocol)"}`)
console.log("| library | kind | algorithm | compress MB/s (1K / 16K / 128K) | decompress MB/s (1K / 16K / 128K) | ratio 16K | installed | install scripts |")
console.log("|---|---|---|---|---|---|---|---|")
for (const c of candidates) {
  let codec: Codec | null
  try {
    codec = c.load()
  } catch (e) {
    console.log(`| ${c.name} | ${c.kind} | ${c.algorithm} | failed to load: ${String(e)} | | | | |`)
    continue
  }
  const facts = installFacts(c)
  if (codec === null) {
    console.log(`| ${c.name} | ${c.kind} | ${c.algorithm} | not installed | | | | |`)
    continue
  }
  const comp: Array<string> = []
  const decomp: Array<string> = []
  let ratio = ""
  let broken = ""
  try {
    bodies.forEach((body, i) => {
    const compressed = codec.compress(body)
    const back = codec.decompress(compressed, body.length)
    if (!Buffer.from(back.buffer, back.byteOffset, back.length).equals(body)) broken = " (ROUND TRIP FAILED)"
    if (i === 1) ratio = (body.length / compressed.length).toFixed(2)
    comp.push(throughput(body.length, () => codec.compress(body)).toFixed(0))
    decomp.push(throughput(body.length, () => codec.decompress(compressed, body.length)).toFixed(0))
    })
  } catch (e) {
    console.log(`| ${c.name} | ${c.kind} | ${c.algorithm} | failed: ${String(e)} | | | | |`)
    continue
  }
  console.log(
    `| ${c.name}${broken} | ${c.kind} | ${c.algorithm} | ${comp.join(" / ")} | ${decomp.join(" / ")} | ${ratio} | ${facts.size} | ${facts.scripts} |`
  )
}

// ---------------------------------------------------------------------------------------------------------------
// CRC32 (every v5 segment payload) and framing throughput, from the compiled package as above.

type CrcModule = typeof import("../packages/protocol/src/internal/crc.js")
type FrameModule = typeof import("../packages/protocol/src/Frame.js")
type SegmentModule = typeof import("../packages/protocol/src/Segment.js")
const crc = loadOwn<CrcModule>("internal/crc.js")
const frame = loadOwn<FrameModule>("Frame.js")
const segment = loadOwn<SegmentModule>("Segment.js")
if (crc !== null && frame !== null && segment !== null) {
  console.log(`\nzlib.crc32 on this Node: ${crc.nativeCrc32 === undefined ? "missing (JavaScript fallback in use)" : "present (in use)"}`)
  console.log("| CRC32 | MB/s (1K / 16K / 128K) |\n|---|---|")
  const crcRows: Array<[string, ((b: Uint8Array, c?: number) => number) | undefined]> = [
    ["zlib.crc32", crc.nativeCrc32],
    ["JavaScript slicing-by-8", crc.crc32Js]
  ]
  for (const [name, f] of crcRows) {
    if (f !== undefined) console.log(`| ${name} | ${bodies.map((b) => throughput(b.length, () => f(b, 0)).toFixed(0)).join(" / ")} |`)
  }

  const envelopes = (count: number, bodySize: number) =>
    Array.from({ length: count }, (_, i) =>
      Either.getOrThrow(frame.encodeEnvelope({ version: 0x85, flags: 0, stream: i, opcode: 8, body: rowsBody(bodySize) }))
    )
  const drain = (d: { push(b: Buffer): void; next(): unknown }, bytes: Buffer) => {
    d.push(bytes)
    while (d.next() !== undefined);
  }
  console.log("\n| framing | envelopes | MB/s | envelopes/s |\n|---|---|---|---|")
  for (const [count, size] of [[1000, 100], [8, 16 * 1024]] as const) {
    const envs = envelopes(count, size)
    const plain = Buffer.concat(envs)
    const rate = (name: string, f: () => void) => {
      const mbs = throughput(plain.length, f)
      console.log(`| ${name} | ${count} x ${size} B | ${mbs.toFixed(0)} | ${((mbs * 1e6 * count) / plain.length).toFixed(0)} |`)
    }
    rate("EnvelopeDecoder", () => drain(new frame.EnvelopeDecoder(), plain))
    for (const format of ["uncompressed", "lz4"] as const) {
      const framed = segment.encodeEnvelopes(envs, format)
      rate(`encodeEnvelopes ${format}`, () => segment.encodeEnvelopes(envs, format))
      rate(`SegmentDecoder ${format}`, () => drain(new segment.SegmentDecoder(format), framed))
    }
  }
}
