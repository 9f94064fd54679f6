// The demo for now: start a local Cassandra 5.0 (unless one answers on 127.0.0.1:9042) and print its version.
// It becomes an effect-cql example once the Session exists.
import { execFileSync } from "node:child_process"
import * as net from "node:net"
import { fileURLToPath } from "node:url"
import cassandra from "cassandra-driver"

const answers = () =>
  new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port: 9042 })
    s.once("connect", () => (s.destroy(), resolve(true)))
    s.once("error", () => resolve(false))
  })

if (!(await answers())) {
  console.log("starting Cassandra 5.0 on 127.0.0.1 (scripts/cassandra.sh start 1) ...")
  execFileSync("bash", [fileURLToPath(new URL("../scripts/cassandra.sh", import.meta.url)), "start", "1"], { stdio: "inherit" })
}
const client = new cassandra.Client({ contactPoints: ["127.0.0.1"], localDataCenter: "dc1" })
await client.connect()
const row = (await client.execute("SELECT release_version, cluster_name FROM system.local")).first()
console.log(`Cassandra ${row.release_version} (cluster "${row.cluster_name}") answers on 127.0.0.1:9042`)
await client.shutdown()
console.log("stop it with: npm run cassandra -- stop")
