/**
 * Who votes and what makes a quorum: ZooKeeper's QuorumMaj (a strict majority of voting members;
 * observers are members that never count), extended with optional per-voter weights where a quorum
 * is a strict majority of the total weight. With every weight 1 (the default) this is exactly
 * QuorumMaj. Weight 0 also keeps a voter from being elected, as totalOrderPredicate does.
 * Hierarchical groups and dynamic reconfiguration (a second, "last seen" verifier) are not modelled.
 */
import { assert } from '../../util/assert.js';

export class QuorumVerifier {
  /** Voting members, ascending by sid, and their weights. */
  readonly voters: readonly bigint[];
  readonly observers: readonly bigint[];
  private readonly weights: ReadonlyMap<bigint, number>;
  private readonly totalWeight: number;

  /**
   * @param voters sids of participants, each optionally with a weight (default 1)
   * @param observers sids of observers
   */
  constructor(voters: Iterable<bigint | { sid: bigint; weight: number }>, observers: Iterable<bigint> = []) {
    const weights = new Map<bigint, number>();
    for (const entry of voters) {
      const { sid, weight } = typeof entry === 'bigint' ? { sid: entry, weight: 1 } : entry;
      assert(Number.isInteger(weight) && weight >= 0, `QuorumVerifier: bad weight ${weight} for sid ${sid}`);
      assert(!weights.has(sid), `QuorumVerifier: sid ${sid} listed twice`);
      weights.set(sid, weight);
    }
    const observerList = [...new Set(observers)].sort(compareBigint);
    for (const sid of observerList) assert(!weights.has(sid), `QuorumVerifier: sid ${sid} is both voter and observer`);
    this.weights = weights;
    this.voters = [...weights.keys()].sort(compareBigint);
    this.observers = observerList;
    let total = 0;
    for (const w of weights.values()) total += w;
    this.totalWeight = total;
  }

  isVoter(sid: bigint): boolean {
    return this.weights.has(sid);
  }

  isObserver(sid: bigint): boolean {
    return this.observers.includes(sid);
  }

  /** The weight totalOrderPredicate consults: 1 for any sid under plain majorities, as QuorumMaj. */
  weightOf(sid: bigint): number {
    return this.weights.get(sid) ?? 1;
  }

  /** True when the voters among `acks` make a quorum; non-voters in `acks` are ignored. */
  containsQuorum(acks: Iterable<bigint>): boolean {
    let sum = 0;
    for (const sid of acks) sum += this.weights.get(sid) ?? 0;
    return 2 * sum > this.totalWeight;
  }
}

export function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
