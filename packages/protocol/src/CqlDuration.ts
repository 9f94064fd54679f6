/**
 * The CQL `duration` type (native_protocol_v5.spec 6.8): months, days and nanoseconds, kept apart because a month
 * or a day has no fixed length. Months and days are 32-bit, nanoseconds 64-bit, and all three share one sign.
 */
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as Option from "effect/Option"
import { INT64_MAX, INT64_MIN } from "./internal/int64.js"

const int32 = (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31
const int64 = (n: bigint) => n >= INT64_MIN && n <= INT64_MAX

export class CqlDuration implements Equal.Equal {
  constructor(
    readonly months: number,
    readonly days: number,
    readonly nanoseconds: bigint
  ) {}

  /** CQL's compact form, e.g. `1y2mo3d4h5m6s7ms8us9ns` or `-3d`. */
  toString(): string {
    const negative = this.months < 0 || this.days < 0 || this.nanoseconds < 0n
    const months = Math.abs(this.months)
    const days = Math.abs(this.days)
    let nanos = this.nanoseconds < 0n ? -this.nanoseconds : this.nanoseconds
    let out = negative ? "-" : ""
    const part = (n: number | bigint, unit: string) => {
      if (n !== 0 && n !== 0n) out += `${n}${unit}`
    }
    part(Math.floor(months / 12), "y")
    part(months % 12, "mo")
    part(days, "d")
    for (const [size, unit] of nanoUnits) {
      part(nanos / size, unit)
      nanos %= size
    }
    return out === "" || out === "-" ? "0s" : out
  }

  toJSON(): string {
    return this.toString()
  }

  [Equal.symbol](that: Equal.Equal): boolean {
    return (
      that instanceof CqlDuration &&
      that.months === this.months &&
      that.days === this.days &&
      that.nanoseconds === this.nanoseconds
    )
  }

  [Hash.symbol](): number {
    return Hash.cached(this, Hash.string(this.toString()))
  }
}

const nanoUnits: ReadonlyArray<readonly [bigint, string]> = [
  [3_600_000_000_000n, "h"],
  [60_000_000_000n, "m"],
  [1_000_000_000n, "s"],
  [1_000_000n, "ms"],
  [1_000n, "us"],
  [1n, "ns"]
]

export const isCqlDuration = (u: unknown): u is CqlDuration => u instanceof CqlDuration

/** Why a months/days/nanoseconds triple is not a valid duration, or undefined when it is. */
export const invalidReason = (months: number, days: number, nanoseconds: bigint): string | undefined => {
  if (!int32(months)) return `months ${months} is not a 32-bit integer`
  if (!int32(days)) return `days ${days} is not a 32-bit integer`
  if (!int64(nanoseconds)) return `nanoseconds ${nanoseconds} is not a 64-bit integer`
  const pos = months > 0 || days > 0 || nanoseconds > 0n
  const neg = months < 0 || days < 0 || nanoseconds < 0n
  return pos && neg ? "months, days and nanoseconds must not have different signs" : undefined
}

export const make = (months: number, days: number, nanoseconds: bigint): Option.Option<CqlDuration> =>
  invalidReason(months, days, nanoseconds) === undefined
    ? Option.some(new CqlDuration(months, days, nanoseconds))
    : Option.none()

const unitOf: Readonly<Record<string, { readonly months?: number; readonly days?: number; readonly nanos?: bigint }>> = {
  y: { months: 12 },
  mo: { months: 1 },
  w: { days: 7 },
  d: { days: 1 },
  h: { nanos: 3_600_000_000_000n },
  m: { nanos: 60_000_000_000n },
  s: { nanos: 1_000_000_000n },
  ms: { nanos: 1_000_000n },
  us: { nanos: 1_000n },
  "µs": { nanos: 1_000n },
  ns: { nanos: 1n }
}

/** Parses CQL's compact form (`1h30m`, `-2d`, `1y2mo`; units y mo w d h m s ms us µs ns, any case). */
export const fromString = (s: string): Option.Option<CqlDuration> => {
  const m = /^(-?)((?:\d+(?:y|mo|w|d|h|ms|m|s|us|µs|ns))+)$/i.exec(s)
  if (m === null) return Option.none()
  let months = 0
  let days = 0
  let nanos = 0n
  for (const [, digits, unit] of m[2]!.matchAll(/(\d+)(y|mo|w|d|h|ms|m|s|us|µs|ns)/gi)) {
    const u = unitOf[unit!.toLowerCase()]!
    months += Number(digits) * (u.months ?? 0)
    days += Number(digits) * (u.days ?? 0)
    nanos += BigInt(digits!) * (u.nanos ?? 0n)
  }
  const sign = m[1] === "-" ? -1 : 1
  return make(sign * months, sign * days, BigInt(sign) * nanos)
}
