/**
 * Node-side handle on scripts/cassandra.sh, for the vitest global setup and for tests that need their own
 * cluster (3 nodes, 2 DCs, auth, TLS). Each cluster gets its own IP base so several can run side by side.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const run = promisify(execFile)
/** scripts/cassandra.sh, found from this module's folder upwards (bundled copies of it live in bench/.build/). */
const findScript = (): string => {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "scripts", "cassandra.sh")
    if (fs.existsSync(candidate)) return candidate
    if (path.dirname(dir) === dir) throw new Error("scripts/cassandra.sh not found above " + fileURLToPath(import.meta.url))
  }
}
const script = findScript()

export interface ClusterOptions {
  /** Node I listens on 127.0.0.(ipBase + I). */
  readonly ipBase: number
  readonly nodes: number
  /** Nodes per data centre, e.g. "2,1". */
  readonly dcs?: string
  readonly auth?: boolean
  readonly tls?: boolean
}

export interface Cluster {
  readonly options: ClusterOptions
  readonly addresses: ReadonlyArray<string>
  readonly workDir: string
  /** Runs `cassandra.sh <args>` against this cluster and returns its stdout. */
  readonly cassandra: (...args: ReadonlyArray<string>) => Promise<string>
  readonly nodetool: (node: number, ...args: ReadonlyArray<string>) => Promise<string>
  readonly stop: () => Promise<void>
}

const env = (o: ClusterOptions): NodeJS.ProcessEnv => ({
  ...process.env,
  CASSANDRA_IP_BASE: String(o.ipBase),
  CASSANDRA_AUTH: o.auth ? "1" : "0",
  CASSANDRA_TLS: o.tls ? "1" : "0",
  ...(o.dcs === undefined ? {} : { CASSANDRA_DCS: o.dcs })
})

export const clusterHandle = (options: ClusterOptions): Cluster => {
  const cassandra = async (...args: ReadonlyArray<string>) =>
    (await run("bash", [script, ...args], { env: env(options), maxBuffer: 16 * 1024 * 1024 })).stdout
  const cache = process.env.CASSANDRA_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? "/root", ".cache"), "cassandra-harness")
  return {
    options,
    addresses: Array.from({ length: options.nodes }, (_, i) => `127.0.0.${options.ipBase + i + 1}`),
    workDir: process.env.CASSANDRA_WORK ?? path.join(cache, options.ipBase === 0 ? "run" : `run-${options.ipBase}`),
    cassandra,
    nodetool: (node, ...args) => cassandra("nodetool", String(node), ...args),
    stop: async () => {
      await cassandra("stop")
    }
  }
}

/** Starts a fresh cluster (wiping the previous data of this IP base) and waits until every node sees all UP. */
export const startCluster = async (options: ClusterOptions): Promise<Cluster> => {
  const cluster = clusterHandle(options)
  try {
    await cluster.cassandra("start", String(options.nodes))
  } catch (e) {
    const err = e as { stderr?: string; message: string }
    throw new Error(`Cassandra (${options.nodes} node(s) at 127.0.0.${options.ipBase + 1}) did not start: ${err.stderr ?? err.message}`)
  }
  return cluster
}

/** True when something accepts TCP connections on host:port within the timeout. */
export const portAnswers = (host: string, port: number, timeoutMs = 1000): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })
