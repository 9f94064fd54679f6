/**
 * A log-linear latency histogram over integer microseconds: exact below 128 us, then 64 linear sub-buckets per
 * power of two (relative error under 1.6%), fixed 13 KB whatever the sample count, so recording never allocates
 * and never grows the runner's RSS. bench/runners/python_driver.py implements the same bucketing, so quantiles of
 * every driver carry the same error. Chosen over hdr-histogram-js after measuring record() cost (bench/README.md).
 */

const LINEAR = 128
const SUB = 64
/** Values are clamped to 2^31 - 1 us (35 min): bit length 31, the last bucket index below. */
const BUCKETS = LINEAR + (31 - 7) * SUB

const indexOf = (us: number): number => {
  if (us < LINEAR) return us < 0 ? 0 : us
  const v = us > 0x7fffffff ? 0x7fffffff : us
  const shift = 31 - Math.clz32(v) - 6
  return LINEAR + (shift - 1) * SUB + ((v >>> shift) - SUB)
}

/** The middle of bucket `i`, in microseconds. */
const valueOf = (i: number): number => {
  if (i < LINEAR) return i
  const shift = ((i - LINEAR) >> 6) + 1
  const low = (((i - LINEAR) & (SUB - 1)) + SUB) * 2 ** shift
  return low + (2 ** shift - 1) / 2
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS)
  total = 0

  /** Records one latency given in milliseconds (as `performance.now()` differences are). */
  recordMs(ms: number): void {
    this.counts[indexOf(Math.round(ms * 1000))]! += 1
    this.total += 1
  }

  /** The latency in milliseconds at quantile `q` (0..1), NaN when empty. */
  quantileMs(q: number): number {
    if (this.total === 0) return Number.NaN
    const rank = Math.max(1, Math.ceil(q * this.total))
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return valueOf(i) / 1000
    }
    return valueOf(BUCKETS - 1) / 1000
  }

  reset(): void {
    this.counts.fill(0)
    this.total = 0
  }
}
