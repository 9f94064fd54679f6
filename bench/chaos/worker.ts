/**
 * The load of a chaos run, in a process of its own for one driver: 64 workers, each alternating an idempotent
 * prepared INSERT at QUORUM of a fresh key and a SELECT at QUORUM of a key already acknowledged. It reports each
 * second (successes, failures by type, p99 and max latency, coordinators) and, after `stop`, the acknowledged keys,
 * how long the driver took to shut down and what was still holding the event loop afterwards.
 */
import { addressOf, type Driver, type FromWorker, type ToWorker, valueOf } from "./protocol.js"

const WORKERS = 64

const send = (m: FromWorker) => process.send!(m)

const p99 = (xs: Array<number>): number => {
  if (xs.length === 0) return 0
  xs.sort((a, b) => a - b)
  return xs[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!
}

export const runWorker = async (connect: () => Promise<Driver>): Promise<void> => {
  const driver = await connect()
  send({ type: "ready", controlHost: addressOf(await driver.controlHost()) })
  const started = Date.now()
  let ok = 0
  let failures: Record<string, number> = {}
  let latencies: Array<number> = []
  let coordinators: Record<string, number> = {}
  const watching = new Set<string>()
  const acked: Array<number> = []
  let nextKey = 0
  let stopping = false

  const succeeded = (coordinator: string, ms: number) => {
    ok++
    latencies.push(ms)
    const host = addressOf(coordinator)
    coordinators[host] = (coordinators[host] ?? 0) + 1
    if (watching.delete(host)) send({ type: "seen", host, at: Date.now() })
  }
  const failed = (name: string, ms: number) => {
    failures[name] = (failures[name] ?? 0) + 1
    latencies.push(ms)
  }

  const tick = setInterval(() => {
    send({ type: "second", at: Math.round((Date.now() - started) / 1000), ok, failures, p99Ms: p99(latencies), maxMs: latencies.length === 0 ? 0 : Math.max(...latencies), coordinators })
    ok = 0
    failures = {}
    latencies = []
    coordinators = {}
  }, 1000)

  const worker = async () => {
    while (!stopping) {
      const k = nextKey++
      let t = performance.now()
      try {
        succeeded(await driver.insert(k, valueOf(k)), performance.now() - t)
        acked.push(k)
      } catch (e) {
        failed(driver.errorName(e), performance.now() - t)
        // A driver that fails fast (no host) would otherwise spin.
        await new Promise((r) => setTimeout(r, 10))
      }
      if (stopping || acked.length === 0) continue
      const read = acked[Math.floor(Math.random() * acked.length)]!
      t = performance.now()
      try {
        const row = await driver.select(read)
        // QUORUM after QUORUM: an acknowledged write must be seen.
        if (row.v === valueOf(read)) succeeded(row.coordinator, performance.now() - t)
        else failed(row.v === undefined ? "MissingRow" : "WrongValue", performance.now() - t)
      } catch (e) {
        failed(driver.errorName(e), performance.now() - t)
        await new Promise((r) => setTimeout(r, 10))
      }
    }
  }

  const stopped = new Promise<void>((resolve) => {
    process.on("message", (m: ToWorker) => {
      if (m.type === "stop") {
        stopping = true
        resolve()
      } else if (m.type === "control?") {
        void driver.controlHost().then((host) => send({ type: "control", host: addressOf(host) }))
      } else if (m.type === "watch") watching.add(m.host)
    })
  })
  const running = Array.from({ length: WORKERS }, worker)
  await stopped
  await Promise.all(running)
  clearInterval(tick)
  send({ type: "acked", keys: acked })
  const t = performance.now()
  await driver.shutdown()
  const shutdownMs = Math.round(performance.now() - t)
  // Let closed sockets finish closing before looking.
  await new Promise((r) => setTimeout(r, 200))
  // The IPC channel to the orchestrator is the one handle that is ours, not the driver's.
  const handles = process.getActiveResourcesInfo().filter((h) => h !== "PipeWrap" && h !== "TTYWrap")
  send({ type: "closed", shutdownMs, handles })
  process.disconnect()
}
