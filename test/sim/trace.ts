import { zxidHex } from '../../src/quorum/zab/zxid.js';

interface Line {
  timeMs: number;
  tag: string;
  a: number;
  b: number;
  zxid: bigint;
  text: string | null;
}

/**
 * The run's trace: every line feeds a 64-bit hash (two 32-bit FNV-style lanes) and the last
 * lines are kept for the failure report. Two runs of one seed must produce the same hash.
 * Frequent lines (`event`) hash numbers and an interned tag, and are only rendered on demand.
 */
export class Trace {
  private h1 = 0x811c9dc5;
  private h2 = 0x9e3779b9;
  private readonly ring: Line[] = [];
  private next = 0;
  private readonly tagHashes = new Map<string, number>();
  lines = 0;

  constructor(private readonly keep = 400) {}

  /** A frequent event: tag (a constant), two small numbers, a zxid. */
  event(timeMs: number, tag: string, a: number, b: number, zxid = 0n): void {
    let tagHash = this.tagHashes.get(tag);
    if (tagHash === undefined) {
      tagHash = hashText(tag);
      this.tagHashes.set(tag, tagHash);
    }
    this.mix(timeMs);
    this.mix(tagHash);
    this.mix(a);
    this.mix(b);
    if (zxid !== 0n) {
      this.mix(Number(BigInt.asUintN(32, zxid)));
      this.mix(Number(BigInt.asUintN(32, zxid >> 32n)));
    }
    this.push({ timeMs, tag, a, b, zxid, text: null });
  }

  /** A rare event, as text. */
  add(timeMs: number, text: string): void {
    this.mix(timeMs);
    this.mix(hashText(text));
    this.push({ timeMs, tag: '', a: 0, b: 0, zxid: 0n, text });
  }

  get hash(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, '0') + (this.h2 >>> 0).toString(16).padStart(8, '0');
  }

  tail(n = this.keep): string[] {
    const count = Math.min(n, this.ring.length);
    const out: string[] = [];
    for (let i = count; i > 0; i--) out.push(render(this.ring[(this.next - i + this.ring.length) % this.ring.length]!));
    return out;
  }

  private mix(x: number): void {
    this.h1 = Math.imul(this.h1 ^ (x | 0), 0x01000193);
    this.h2 = Math.imul(this.h2 ^ (x | 0), 0x5bd1e995) ^ (this.h2 >>> 13);
  }

  private push(line: Line): void {
    if (this.ring.length < this.keep) this.ring.push(line);
    else this.ring[this.next] = line;
    this.next = (this.next + 1) % this.keep;
    this.lines++;
  }
}

function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}

function render(l: Line): string {
  if (l.text !== null) return `${l.timeMs} ${l.text}`;
  return `${l.timeMs} ${l.tag} ${l.a} ${l.b}${l.zxid !== 0n ? ` ${zxidHex(l.zxid)}` : ''}`;
}
