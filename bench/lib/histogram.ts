// A log-linear latency histogram in the spirit of HdrHistogram: values in microseconds, exact
// below 64 µs, then 32 buckets per power of two (relative error under 1/32 ≈ 3%, reported at the
// bucket midpoint so nearer 1.6%). Fixed layout, so histograms of different worker threads merge
// by adding their count arrays, and a Uint32Array moves between threads without copying.
//
//   index(v) = v                                   for v < 64
//   index(v) = 64 + (e - 1) * 32 + (v >> e) - 32   for v >= 64, e = floor(log2 v) - 5 (so v >> e is 32..63)
//
// The top bucket holds everything from 2^31 µs (about 36 minutes) up.

const LINEAR_BUCKETS = 64;
const SUB_BUCKETS = 32;
const MAX_EXPONENT = 25; // exponents 1..25 cover v < 2^31
export const HISTOGRAM_BUCKETS = LINEAR_BUCKETS + MAX_EXPONENT * SUB_BUCKETS;

export function bucketOf(valueUs: number): number {
  const v = valueUs < 0 ? 0 : Math.floor(valueUs);
  if (v < LINEAR_BUCKETS) return v;
  if (v >= 0x8000_0000) return HISTOGRAM_BUCKETS - 1;
  const e = 31 - Math.clz32(v) - 5;
  return LINEAR_BUCKETS + (e - 1) * SUB_BUCKETS + (v >>> e) - SUB_BUCKETS;
}

/** Lowest value (µs) of a bucket and its width. */
export function bucketRange(index: number): { lowUs: number; widthUs: number } {
  if (index < LINEAR_BUCKETS) return { lowUs: index, widthUs: 1 };
  const i = index - LINEAR_BUCKETS;
  const e = Math.floor(i / SUB_BUCKETS) + 1;
  const sub = (i % SUB_BUCKETS) + SUB_BUCKETS;
  return { lowUs: sub * 2 ** e, widthUs: 2 ** e };
}

export class Histogram {
  readonly counts: Uint32Array;
  total = 0;
  sumUs = 0;
  maxUs = 0;
  minUs = Infinity;

  constructor(counts?: Uint32Array) {
    this.counts = counts ?? new Uint32Array(HISTOGRAM_BUCKETS);
    if (counts !== undefined) {
      for (let i = 0; i < counts.length; i++) {
        const n = counts[i]!;
        if (n === 0) continue;
        const { lowUs, widthUs } = bucketRange(i);
        this.total += n;
        this.sumUs += n * (lowUs + widthUs / 2);
        if (this.minUs === Infinity) this.minUs = lowUs;
        this.maxUs = lowUs + widthUs - 1;
      }
    }
  }

  recordUs(valueUs: number): void {
    this.counts[bucketOf(valueUs)]!++;
    this.total++;
    this.sumUs += valueUs;
    if (valueUs > this.maxUs) this.maxUs = valueUs;
    if (valueUs < this.minUs) this.minUs = valueUs;
  }

  add(other: Histogram): void {
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sumUs += other.sumUs;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
    if (other.minUs < this.minUs) this.minUs = other.minUs;
  }

  /** The value (µs) at percentile p (0..100): midpoint of the bucket holding that rank, clamped to the max seen. */
  percentileUs(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const { lowUs, widthUs } = bucketRange(i);
        return Math.min(this.maxUs, Math.max(this.minUs, lowUs + (widthUs - 1) / 2));
      }
    }
    return this.maxUs;
  }

  /** Plain data for postMessage and JSON: the counts array is transferable. */
  toWire(): HistogramWire {
    return { counts: this.counts, total: this.total, sumUs: this.sumUs, maxUs: this.maxUs, minUs: this.minUs };
  }

  static fromWire(w: HistogramWire): Histogram {
    const h = new Histogram(new Uint32Array(HISTOGRAM_BUCKETS));
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) h.counts[i] = w.counts[i] ?? 0;
    h.total = w.total;
    h.sumUs = w.sumUs;
    h.maxUs = w.maxUs;
    h.minUs = w.minUs;
    return h;
  }

  /** p50/p90/p99/p99.9/max/mean in ms. */
  summaryMs(): LatencySummaryMs {
    const ms = (us: number): number => us / 1000;
    return {
      n: this.total,
      p50: ms(this.percentileUs(50)),
      p90: ms(this.percentileUs(90)),
      p99: ms(this.percentileUs(99)),
      p999: ms(this.percentileUs(99.9)),
      max: this.total === 0 ? NaN : ms(this.maxUs),
      mean: this.total === 0 ? NaN : ms(this.sumUs / this.total),
    };
  }

  /** (upper value ms, cumulative fraction) points, one per non-empty bucket: for CDF plots. */
  cdfMs(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let seen = 0;
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      const n = this.counts[i]!;
      if (n === 0) continue;
      seen += n;
      const { lowUs, widthUs } = bucketRange(i);
      out.push([(lowUs + widthUs) / 1000, seen / this.total]);
    }
    return out;
  }
}

export interface HistogramWire {
  counts: Uint32Array;
  total: number;
  sumUs: number;
  maxUs: number;
  minUs: number;
}

export interface LatencySummaryMs {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}
