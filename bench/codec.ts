/**
 * Encode and decode one 5,000-row Rows page of mixed columns (int, bigint, text, uuid, timestamp, double,
 * list<text>, map<text,int>) with this project's codec and with the DataStax Node.js driver's (cassandra-driver,
 * a devDependency), on the same data in one run. A benchmark prints figures; it asserts nothing.
 *
 * Run: `npx tsc -b packages/protocol && npx vite-node bench/codec.ts` (ROUNDS=n and WARMUP=n change the rounds).
 *
 * Our codec is loaded from the compiled package with Node's own loader: vite-node rewrites imported bindings into
 * property reads, which would measure the bench tool rather than the code.
 *
 * What each side does:
 * - decode, ours: `Rows.readRowsMetadata` + `Rows.readRows` over the RESULT body (after the kind) -> row objects.
 * - decode, DataStax: what its `Parser.parseRows` (lib/streams.js) does per frame, minus the stream push per row:
 *   `FrameReader.readMetadata`, then per row `new types.Row(columns)` and `encoder.decode(reader.readBytes(), type)`
 *   per cell. Measured with the default options (bigint as `Long`) and with `useBigIntAsLong` (bigint as BigInt).
 * - encode, ours: `Rows.writeRows` into a fresh ByteWriter, then one copy out (as a frame would take it).
 * - encode, DataStax: `encoder.encode(value, type)` per cell and `FrameWriter.writeBytes` (how it writes bound
 *   values), then its `Buffer.concat`. DataStax gets the representations it expects (its Uuid, bigint with
 *   `useBigIntAsLong`, a plain object for the map); ours gets ours (Uuid, bigint, Map).
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const requireHere = createRequire(import.meta.url)
const dist = (file: string) => requireHere(path.join(root, "packages/protocol/dist", file))

type Rows = typeof import("../packages/protocol/src/Rows.js")
type Uuids = typeof import("../packages/protocol/src/Uuid.js")
type DataTypes = typeof import("../packages/protocol/src/DataType.js")
type Readers = typeof import("../packages/protocol/src/internal/reader.js")
type Writers = typeof import("../packages/protocol/src/internal/writer.js")
const Rows: Rows = dist("Rows.js")
const Uuid: Uuids = dist("Uuid.js")
const { native }: DataTypes = dist("DataType.js")
const { ByteReader }: Readers = dist("internal/reader.js")
const { ByteWriter }: Writers = dist("internal/writer.js")

// cassandra-driver is CommonJS without typings for its internals.
/* eslint-disable @typescript-eslint/no-explicit-any */
const dsEncoderModule: any = requireHere("cassandra-driver/lib/encoder")
const dsReaders: any = requireHere("cassandra-driver/lib/readers")
const dsWriters: any = requireHere("cassandra-driver/lib/writers")
const dsTypes: any = requireHere("cassandra-driver/lib/types")
const dsClientOptions: any = requireHere("cassandra-driver/lib/client-options")

const ROWS = 5000
const ROUNDS = Number(process.env.ROUNDS ?? 31)

const columns = [
  { name: "id", type: native.int },
  { name: "big", type: native.bigint },
  { name: "name", type: native.varchar },
  { name: "uid", type: native.uuid },
  { name: "ts", type: native.timestamp },
  { name: "score", type: native.double },
  { name: "tags", type: { kind: "list" as const, element: native.varchar } },
  { name: "attrs", type: { kind: "map" as const, key: native.varchar, value: native.int } }
].map((c) => ({ keyspace: "bench", table: "t", ...c }))

const dt = dsTypes.dataTypes
const dsColumnTypes = [
  { code: dt.int },
  { code: dt.bigint },
  { code: dt.varchar },
  { code: dt.uuid },
  { code: dt.timestamp },
  { code: dt.double },
  { code: dt.list, info: { code: dt.varchar } },
  { code: dt.map, info: [{ code: dt.varchar }, { code: dt.int }] }
]

// The same rows for both sides, deterministic.
let seed = 42
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
const words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
const word = () => words[Math.floor(rand() * words.length)]!
const makeBase = () => {
  seed = 42
  return Array.from({ length: ROWS }, (_, i) => ({
    id: i,
    big: BigInt(Math.floor(rand() * 2 ** 53)) * 1000n,
    name: `user-${i}-${word()}`,
    uid: Uuid.random(),
    ts: new Date(1_700_000_000_000 + Math.floor(rand() * 1e10)),
    score: rand() * 1000,
    tags: [word(), word(), word()],
    attrs: { [word()]: Math.floor(rand() * 1e6), [`k${i % 7}`]: i }
  }))
}
type Base = ReturnType<typeof makeBase>
const ourRowsOf = (base: Base) => base.map((r) => ({ ...r, attrs: new Map(Object.entries(r.attrs)) }))
const dsRowsOf = (base: Base) =>
  base.map((r) => [r.id, r.big, r.name, dsTypes.Uuid.fromString(r.uid.toString()), r.ts, r.score, r.tags, r.attrs])

const options = (useBigIntAsLong: boolean) => {
  const o = dsClientOptions.defaultOptions()
  o.encoding = { ...o.encoding, useBigIntAsLong }
  return o
}
const dsEncoderLong = new dsEncoderModule(4, options(false))
const dsEncoderBigInt = new dsEncoderModule(4, options(true))

// --- the page: a RESULT Rows body after the kind, as the server would send it.
const meta = { flags: 0, columnCount: columns.length, columns, pagingState: undefined, newMetadataId: undefined }
const page = (() => {
  const w = new ByteWriter(1 << 20)
  Rows.writeRowsMetadata(w, meta, 4)
  Rows.writeRows(w, columns, ourRowsOf(makeBase()))
  return Buffer.from(w.finish())
})()

const ourDecode = (): number => {
  const r = new ByteReader(page)
  const m = Rows.readRowsMetadata(r, 4)
  return Rows.readRows(r, m.columns!).length
}

const dsDecode = (encoder: any) => (): number => {
  const reader = new dsReaders.FrameReader({ version: 4, opcode: 8 }, page, 0)
  const m = reader.readMetadata(dsTypes.resultKind.rows)
  const count = reader.readInt()
  const rows = new Array(count)
  for (let i = 0; i < count; i++) {
    const row = new dsTypes.Row(m.columns)
    for (let j = 0; j < m.columns.length; j++) {
      const c = m.columns[j]
      row[c.name] = encoder.decode(reader.readBytes(), c.type)
    }
    rows[i] = row
  }
  return rows.length
}

const ourEncode = (rows: ReadonlyArray<Record<string, unknown>>): Buffer => {
  const w = new ByteWriter()
  Rows.writeRows(w, columns, rows)
  return Buffer.from(w.finish())
}

const dsEncode = (rows: ReadonlyArray<ReadonlyArray<unknown>>): Buffer => {
  const fw = new dsWriters.FrameWriter(8)
  fw.writeInt(rows.length)
  for (const row of rows) {
    for (let j = 0; j < row.length; j++) fw.writeBytes(dsEncoderBigInt.encode(row[j], dsColumnTypes[j]))
  }
  return Buffer.concat(fw.buffers, fw.bodyLength)
}

// --- sanity: both decoders read the same values, both encoders write the same bytes.
{
  const json = (v: unknown) =>
    JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : x instanceof Map ? Object.fromEntries(x) : x))
  const r = new ByteReader(page)
  const ours = Rows.readRows(r, Rows.readRowsMetadata(r, 4).columns!)
  const reader = new dsReaders.FrameReader({ version: 4, opcode: 8 }, page, 0)
  const m = reader.readMetadata(dsTypes.resultKind.rows)
  reader.readInt()
  for (let i = 0; i < ROWS; i++) {
    const theirs = m.columns.map((c: any) => dsEncoderBigInt.decode(reader.readBytes(), c.type))
    if (json(columns.map((c) => ours[i]![c.name])) !== json(theirs)) throw new Error(`row ${i} differs between the decoders`)
  }
  const base = makeBase()
  if (!dsEncode(dsRowsOf(base)).equals(ourEncode(ourRowsOf(base)))) throw new Error("the encoders disagree")
}

/** Results feed a sum printed at the end, so that no work can be optimized away. */
let sink = 0

/**
 * The machine may be shared, so each run is timed in CPU time of this process (process.cpuUsage), not wall time,
 * and the contenders run interleaved, round after round, so that they see the same conditions (heap included).
 * Each gets WARMUP rounds first. Figures are medians over ROUNDS rounds; a ratio is the median of per-round ratios.
 */
const WARMUP = Number(process.env.WARMUP ?? 20)
const race = (contenders: Record<string, () => number>): Record<string, Array<number>> => {
  const names = Object.keys(contenders)
  const cpuSeconds = (f: () => number): number => {
    const t0 = process.cpuUsage()
    sink += f()
    const d = process.cpuUsage(t0)
    return (d.user + d.system) / 1e6
  }
  for (let i = 0; i < WARMUP; i++) for (const n of names) cpuSeconds(contenders[n]!)
  const times: Record<string, Array<number>> = Object.fromEntries(names.map((n) => [n, []]))
  for (let i = 0; i < ROUNDS; i++) {
    // Rotate the order each round so that no contender always runs right after the same one.
    for (let j = 0; j < names.length; j++) {
      const n = names[(i + j) % names.length]!
      times[n]!.push(cpuSeconds(contenders[n]!))
    }
  }
  return times
}
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (seconds: ReadonlyArray<number>) => `${(ROWS / median(seconds) / 1000).toFixed(0).padStart(6)}k rows/s`
const ratio = (ours: ReadonlyArray<number>, theirs: ReadonlyArray<number>) =>
  `ours ${median(ours.map((t, i) => theirs[i]! / t)).toFixed(2)}x`

console.log(
  `Rows page: ${ROWS} rows x ${columns.length} columns, ${page.length} bytes; node ${process.version}; ` +
    `CPU time, median of ${ROUNDS} interleaved rounds after ${WARMUP} warm-up rounds`
)
// Decoding holds nothing but the page: the rows each round decodes are all the heap has to carry.
const dec = race({ ours: ourDecode, long: dsDecode(dsEncoderLong), bigint: dsDecode(dsEncoderBigInt) })
console.log(`decode  effect-cql                ${fmt(dec.ours!)}`)
console.log(`decode  cassandra-driver (Long)   ${fmt(dec.long!)}   ${ratio(dec.ours!, dec.long!)}`)
console.log(`decode  cassandra-driver (BigInt) ${fmt(dec.bigint!)}   ${ratio(dec.ours!, dec.bigint!)}`)
// Encoding holds the source rows of both sides.
const base = makeBase()
const ourRows = ourRowsOf(base)
const dsRows = dsRowsOf(base)
const enc = race({ ours: () => ourEncode(ourRows).length, ds: () => dsEncode(dsRows).length })
console.log(`encode  effect-cql                ${fmt(enc.ours!)}`)
console.log(`encode  cassandra-driver          ${fmt(enc.ds!)}   ${ratio(enc.ours!, enc.ds!)}`)
// All four interleaved: each decoder now also runs after the other side's encoder, whose garbage brings young-
// generation collections forward, into the middle of a decode whose rows are all alive (and copied).
const mixed = race({
  ours: ourDecode,
  ds: dsDecode(dsEncoderBigInt),
  ourEnc: () => ourEncode(ourRows).length,
  dsEnc: () => dsEncode(dsRows).length
})
console.log(`mixed   decode effect-cql ${fmt(mixed.ours!)}, cassandra-driver (BigInt) ${fmt(mixed.ds!)}   ${ratio(mixed.ours!, mixed.ds!)}`)
console.log(`mixed   encode effect-cql ${fmt(mixed.ourEnc!)}, cassandra-driver ${fmt(mixed.dsEnc!)}   ${ratio(mixed.ourEnc!, mixed.dsEnc!)}`)
console.log(`(checksum ${sink})`)
