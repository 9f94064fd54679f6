/**
 * Address translation: the addresses nodes advertise (system.local's rpc_address, system.peers_v2's
 * native_address, the addresses in STATUS_CHANGE / TOPOLOGY_CHANGE events) are the ones they know themselves by,
 * which a client behind NAT, in another cloud network or outside a Kubernetes cluster may not reach. A translator
 * maps each advertised address to the one to connect to, before any connection is opened or a host is named in the
 * Metadata. The contact points are not translated: they are already addresses the client reaches.
 *
 * A translator is a plain function; `identity` is the default and `fixed` maps a table of addresses. What it
 * returns is checked: a translator that throws, or returns something that is not an address and port, skips that
 * host (logged as an `AddressTranslationError`), and the rest of the cluster carries on.
 *
 *   Cluster.layer({
 *     contactPoints: ["127.0.0.1"],
 *     addressTranslator: AddressTranslator.fixed({ "10.0.0.2": "127.0.0.2", "10.0.0.3:9042": "127.0.0.3:19042" })
 *   })
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import { isIP } from "node:net"
import { endpointOf, parseEndpoint } from "./internal/metadata/schemaParser.js"

/** A node's native-protocol address and port. */
export interface Endpoint {
  readonly address: string
  readonly port: number
}

/** Maps the endpoint a node advertises to the one to connect to. */
export type AddressTranslator = (advertised: Endpoint) => Endpoint

/** The host a translator could not translate, and why; the host is left out of the Metadata and gets no pool. */
export class AddressTranslationError extends Data.TaggedError("AddressTranslationError")<{
  /** The endpoint the node advertised. */
  readonly advertised: Endpoint
  readonly reason: string
  /** What the translator threw, when it threw. */
  readonly cause?: unknown
}> {
  override get message() {
    return `address translation of ${format(this.advertised)} failed (${this.reason}): the host is skipped`
  }
}

/** Every address as advertised: the default. */
export const identity: AddressTranslator = (advertised) => advertised

const format = (e: Endpoint): string => endpointOf(e.address, e.port)

/**
 * A fixed table: keys are advertised addresses ("10.0.0.2", or "10.0.0.2:9042" for one port only), values where to
 * connect instead ("127.0.0.2", or "127.0.0.2:19042" to change the port too). An entry with a port wins over one
 * without; an address the table does not list is kept as advertised.
 */
export const fixed = (table: Readonly<Record<string, string>> | ReadonlyMap<string, string>): AddressTranslator => {
  const entries = table instanceof Map ? [...table] : Object.entries(table)
  const byEndpoint = new Map<string, string>()
  const byAddress = new Map<string, string>()
  for (const [from, to] of entries) {
    const key = parseEndpoint(from)
    if (key.port === undefined) byAddress.set(key.address, to)
    else byEndpoint.set(format({ address: key.address, port: key.port }), to)
  }
  return (advertised) => {
    const to = byEndpoint.get(format(advertised)) ?? byAddress.get(advertised.address)
    if (to === undefined) return advertised
    const target = parseEndpoint(to)
    return { address: target.address, port: target.port ?? advertised.port }
  }
}

/** A DNS name (RFC 1123 labels): a translator may name hosts, which the socket resolves. */
const hostname = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/** Runs `translator` on one endpoint and checks what it returns. */
export const translate = (translator: AddressTranslator, advertised: Endpoint): Either.Either<Endpoint, AddressTranslationError> => {
  let out: unknown
  try {
    out = translator(advertised)
  } catch (cause) {
    return Either.left(new AddressTranslationError({ advertised, reason: `the translator threw: ${cause instanceof Error ? cause.message : String(cause)}`, cause }))
  }
  const fail = (reason: string) => Either.left(new AddressTranslationError({ advertised, reason }))
  if (typeof out !== "object" || out === null) return fail(`the translator returned ${String(out)}, not { address, port }`)
  const { address, port } = out as { readonly address?: unknown; readonly port?: unknown }
  if (typeof address !== "string" || (isIP(address) === 0 && (!hostname.test(address) || /^[\d.]+$/.test(address)))) {
    return fail(`the translator returned the address ${JSON.stringify(address)}, which is neither an IP address nor a host name`)
  }
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    return fail(`the translator returned the port ${JSON.stringify(port)}, not an integer from 1 to 65535`)
  }
  return Either.right({ address, port })
}
