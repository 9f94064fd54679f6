/**
 * Global setup of the integration project: a single Cassandra 5.0 node on 127.0.0.1:9042. It reuses a node that
 * already answers there and stops only a node it started. When Cassandra cannot start, setup throws, so every
 * integration test fails: they never skip.
 */
import { portAnswers, startCluster } from "./harness.js"

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (await portAnswers("127.0.0.1", 9042)) return undefined
  const cluster = await startCluster({ ipBase: 0, nodes: 1 })
  return () => cluster.stop()
}
