/** The messages between the chaos orchestrator (run.ts) and a driver's worker process (worker.ts), over IPC. */

/** One second of load, as the worker saw it. */
export interface Second {
  readonly type: "second"
  /** Seconds since the load started (the end of this one). */
  readonly at: number
  readonly ok: number
  readonly failures: Readonly<Record<string, number>>
  readonly p99Ms: number
  readonly maxMs: number
  /** Successful requests by coordinator address. */
  readonly coordinators: Readonly<Record<string, number>>
}

export type FromWorker =
  | { readonly type: "ready"; readonly controlHost: string }
  | Second
  | { readonly type: "control"; readonly host: string }
  /** The first success coordinated by `host` after a `watch`, in epoch ms. */
  | { readonly type: "seen"; readonly host: string; readonly at: number }
  | { readonly type: "acked"; readonly keys: ReadonlyArray<number> }
  | { readonly type: "closed"; readonly shutdownMs: number; readonly handles: ReadonlyArray<string> }

export type ToWorker =
  | { readonly type: "stop" }
  | { readonly type: "control?" }
  | { readonly type: "watch"; readonly host: string }

/** What the worker's driver must do; each call resolves with the address of the coordinator that answered. */
export interface Driver {
  readonly controlHost: () => Promise<string>
  /** Idempotent prepared INSERT at QUORUM. */
  readonly insert: (k: number, v: string) => Promise<string>
  /** Prepared SELECT at QUORUM: the value, or undefined when no row came back. */
  readonly select: (k: number) => Promise<{ readonly coordinator: string; readonly v: string | undefined }>
  /** The name of an error, for the per-second table (a tag, a class name or a server error code). */
  readonly errorName: (e: unknown) => string
  readonly shutdown: () => Promise<void>
}

export const valueOf = (k: number): string => `v${k}`

/** The address part of "ip:port" (or of an address already without a port). */
export const addressOf = (endpoint: string): string => endpoint.replace(/:\d+$/, "")
