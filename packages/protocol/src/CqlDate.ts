/**
 * The CQL `date` type: a day with no time zone, over the whole range the protocol can carry
 * (native_protocol_v5.spec 6.5: an unsigned 32-bit day count with 2^31 = 1970-01-01, so from -5877641-06-23 to
 * 5881580-07-11). That is far beyond what a JS Date holds (±100,000,000 days), so the value is its own type with
 * conversions; calendar arithmetic uses the proleptic Gregorian calendar, as Cassandra does.
 */
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as Option from "effect/Option"

export const minDays = -(2 ** 31)
export const maxDays = 2 ** 31 - 1
const msPerDay = 86_400_000
/** JS Date's limit (ECMA-262 21.4.1.1): ±8.64e15 ms, i.e. ±100,000,000 days. */
const maxDateDays = 100_000_000

export class CqlDate implements Equal.Equal {
  /** Days since 1970-01-01 (negative before), an integer in minDays..maxDays. */
  constructor(readonly days: number) {}

  /** ISO 8601 `YYYY-MM-DD`; years outside 0000..9999 carry a sign and at least 4 digits (`+10000-01-01`). */
  toString(): string {
    const { day, month, year } = toCivil(this.days)
    const y = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? "-" : "+"}${pad(Math.abs(year), 4)}`
    return `${y}-${pad(month, 2)}-${pad(day, 2)}`
  }

  toJSON(): string {
    return this.toString()
  }

  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof CqlDate && that.days === this.days
  }

  [Hash.symbol](): number {
    return Hash.number(this.days)
  }
}

export const isCqlDate = (u: unknown): u is CqlDate => u instanceof CqlDate

const pad = (n: number, width: number): string => String(n).padStart(width, "0")

/** None unless `days` is an integer within the CQL date range. */
export const fromDays = (days: number): Option.Option<CqlDate> =>
  Number.isInteger(days) && days >= minDays && days <= maxDays ? Option.some(new CqlDate(days)) : Option.none()

/** The UTC calendar day of a Date (its time of day is dropped). None for an invalid Date. */
export const fromDate = (d: Date): Option.Option<CqlDate> => {
  const ms = d.getTime()
  return Number.isNaN(ms) ? Option.none() : Option.some(new CqlDate(Math.floor(ms / msPerDay)))
}

/** Midnight UTC of the day, when a JS Date can hold it. */
export const toDate = (d: CqlDate): Option.Option<Date> =>
  Math.abs(d.days) <= maxDateDays ? Option.some(new Date(d.days * msPerDay)) : Option.none()

/** A proleptic Gregorian date (year 0 is 1 BC); None if it is not a real day or is out of range. */
export const fromYmd = (year: number, month: number, day: number): Option.Option<CqlDate> => {
  if (!Number.isInteger(year) || !Number.isInteger(month) || !Number.isInteger(day)) return Option.none()
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Option.none()
  return fromDays(fromCivil(year, month, day))
}

export const toYmd = (d: CqlDate): { readonly year: number; readonly month: number; readonly day: number } =>
  toCivil(d.days)

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0

const daysInMonth = (y: number, m: number): number =>
  m === 2 ? (isLeap(y) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31

/** Parses `[+-]YYYY-MM-DD` (the form `toString` prints and CQL accepts). */
export const fromString = (s: string): Option.Option<CqlDate> => {
  const m = /^([+-]?)(\d{4,})-(\d{2})-(\d{2})$/.exec(s)
  if (m === null) return Option.none()
  const year = (m[1] === "-" ? -1 : 1) * Number(m[2])
  return fromYmd(year, Number(m[3]), Number(m[4]))
}

/*
 * Day count <-> civil date in the proleptic Gregorian calendar, by 400-year eras (146097 days each), shifted so
 * that years start on March 1st (the leap day is then the last day of a year). Every intermediate value is an
 * integer far below 2^53, so plain numbers are exact over the whole CQL range.
 */
const fromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const mp = (month + 9) % 12
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

const toCivil = (days: number): { year: number; month: number; day: number } => {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day }
}
