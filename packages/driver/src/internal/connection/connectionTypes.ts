/**
 * The types a connection and its handshake share: options, failures, send options and callbacks, and the part of a
 * connection the handshake drives. A module of its own so that the handshake does not import the connection that
 * runs it.
 */
import type { Compression, ProtocolError, Request, Response, Segment, ServerError } from "@effect-cql/protocol"
import type * as tls from "node:tls"
import type { AuthProvider } from "../../AuthProvider.js"

export interface ConnectionOptions {
  readonly host: string
  readonly port: number
  /** Pins the protocol version; otherwise v5 is tried first and v4 after a protocol error. */
  readonly protocolVersion?: 4 | 5
  /** Used only when the server offers it. Snappy exists only in v4 (spec v5 section 2). Default none. */
  readonly compression?: "lz4" | "snappy" | "none"
  /** Plays the client's part when the server asks for authentication (AuthProvider.ts). */
  readonly authProvider?: AuthProvider
  /** TLS options; undefined means plain TCP. The server certificate and name are verified unless opted out. */
  readonly tls?: tls.ConnectionOptions
  /** Runs `USE "keyspace"` once ready. */
  readonly keyspace?: string
  /** Socket, TLS and handshake together. Default 5000. */
  readonly connectTimeoutMs?: number
  /** Default per request. Default 12000. */
  readonly requestTimeoutMs?: number
  /**
   * A connection that reads nothing for this long is closed: a heartbeat (OPTIONS) goes out `probeTimeoutMs` before
   * the end, and must be answered. 0 disables. Default 30000.
   */
  readonly heartbeatIntervalMs?: number
  /** With requests in flight and nothing read for this long, the connection takes no new requests and is probed. 0 disables. Default 1000. */
  readonly stallTimeoutMs?: number
  /** How long a probe waits for its answer before the connection is closed (at most half the heartbeat interval). Default 1000. */
  readonly probeTimeoutMs?: number
  /** The largest envelope body sent or accepted; a larger one is refused (sending) or closes the connection (receiving). Default 256 MiB. */
  readonly maxFrameBytes?: number
  /** Stream ids of this connection, orphaned ones included: at most this many requests wait. 1..32768, default 2048. */
  readonly maxInFlight?: number
  /** Close the connection when this many ids wait for responses nobody wants any more. Default 256. */
  readonly maxOrphans?: number
  readonly driverName?: string
  readonly driverVersion?: string
}

/** Plain data; the session maps these to tagged errors. */
export type ConnectionFailure =
  | { readonly _tag: "Closed"; readonly message: string; readonly cause?: unknown }
  | { readonly _tag: "Timeout"; readonly timeoutMs: number }
  | { readonly _tag: "Busy"; readonly inFlight: number }
  | { readonly _tag: "Decode"; readonly error: ProtocolError.DecodeError }
  | { readonly _tag: "Encode"; readonly error: ProtocolError.EncodeError }
  | { readonly _tag: "Auth"; readonly message: string; readonly mechanism?: string }
  | { readonly _tag: "Protocol"; readonly message: string }
  /** The server refused a handshake step for another reason, e.g. `USE` of a keyspace that does not exist. */
  | { readonly _tag: "Server"; readonly message: string; readonly error: ServerError.ServerError }

/** One line for logs and error messages. */
export const describeFailure = (f: ConnectionFailure): string => {
  switch (f._tag) {
    case "Timeout":
      return `no response within ${f.timeoutMs} ms`
    case "Busy":
      return `connection busy (${f.inFlight} in flight)`
    case "Decode":
    case "Encode":
      return f.error.message
    case "Server":
      return `${f.error.kind}: ${f.error.message}`
    default:
      return f.message
  }
}

/**
 * A request's options. They are also its answer's decode context: `columns`, the prepared result columns, decode
 * the Rows of an EXECUTE sent with skipMetadata (one object per request, none made per answer).
 */
export interface SendOptions extends Response.DecodeContext {
  /** Overrides the connection's `requestTimeoutMs`. */
  readonly timeoutMs?: number
  readonly tracing?: boolean
  readonly customPayload?: Readonly<Record<string, Buffer | null>>
}

export type Callback = (failure: ConnectionFailure | undefined, res: Response.Response | undefined) => void

/**
 * An object that takes a request's answer through its `receive` method: the request handler passes itself, where a
 * Callback would be a new closure for every request.
 */
export interface Receiver {
  receive(failure: ConnectionFailure | undefined, res: Response.Response | undefined): void
}

/** Where a request's answer goes. */
export type AnswerTo = Callback | Receiver

export const deliver = (to: AnswerTo, failure: ConnectionFailure | undefined, res: Response.Response | undefined): void => {
  if (typeof to === "function") to(failure, res)
  else to.receive(failure, res)
}

/** What the handshake drives on a new connection. */
export interface HandshakeTarget {
  readonly version: 4 | 5
  /** The server's SUPPORTED options, set by the handshake. */
  supported: Readonly<Record<string, ReadonlyArray<string>>>
  compression: Compression.Name | undefined
  send(req: Request.Request, opts: SendOptions, cb: Callback): number
  useSegmentFormat(format: Segment.Format): void
  useCompression(c: Compression.Compressor): void
}
