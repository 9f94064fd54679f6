/**
 * The CQL `time` type: a time of day with nanosecond precision (native_protocol_v5.spec 6.17: nanoseconds since
 * midnight, 0 to 86399999999999).
 */
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as Option from "effect/Option"

export const nanosPerDay = 86_400_000_000_000n

export class CqlTime implements Equal.Equal {
  /** Nanoseconds since midnight, 0n..86399999999999n. */
  constructor(readonly nanos: bigint) {}

  get hours(): number {
    return Number(this.nanos / 3_600_000_000_000n)
  }
  get minutes(): number {
    return Number((this.nanos / 60_000_000_000n) % 60n)
  }
  get seconds(): number {
    return Number((this.nanos / 1_000_000_000n) % 60n)
  }
  /** The fraction of the second, in nanoseconds. */
  get nanosOfSecond(): number {
    return Number(this.nanos % 1_000_000_000n)
  }

  /** `HH:MM:SS.nnnnnnnnn`, the form Cassandra prints. */
  toString(): string {
    const two = (n: number) => String(n).padStart(2, "0")
    return `${two(this.hours)}:${two(this.minutes)}:${two(this.seconds)}.${String(this.nanosOfSecond).padStart(9, "0")}`
  }

  toJSON(): string {
    return this.toString()
  }

  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof CqlTime && that.nanos === this.nanos
  }

  [Hash.symbol](): number {
    return Hash.hash(this.nanos)
  }
}

export const isCqlTime = (u: unknown): u is CqlTime => u instanceof CqlTime

/** None unless 0 <= nanos < 24h. */
export const fromNanos = (nanos: bigint): Option.Option<CqlTime> =>
  nanos >= 0n && nanos < nanosPerDay ? Option.some(new CqlTime(nanos)) : Option.none()

export const fromParts = (hours: number, minutes: number, seconds: number, nanos = 0): Option.Option<CqlTime> => {
  const ok = (n: number, max: number) => Number.isInteger(n) && n >= 0 && n < max
  if (!ok(hours, 24) || !ok(minutes, 60) || !ok(seconds, 60) || !ok(nanos, 1e9)) return Option.none()
  return Option.some(new CqlTime(BigInt(((hours * 60 + minutes) * 60 + seconds) * 1e9) + BigInt(nanos)))
}

/** Parses `HH:MM[:SS[.fffffffff]]` (CQL's time literal; 1 to 9 fraction digits). */
export const fromString = (s: string): Option.Option<CqlTime> => {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/.exec(s)
  if (m === null) return Option.none()
  return fromParts(Number(m[1]), Number(m[2]), Number(m[3] ?? 0), Number((m[4] ?? "").padEnd(9, "0")))
}
