/**
 * The quorum network as ZAB sees it: TCP connections, each opened by a learner to its leader,
 * FIFO in both directions. A lost packet is a broken connection: everything after it is lost
 * too, and each end learns of it by an RST some time later, or only by its own timeouts.
 * Partitions break the connections that cross them and refuse new ones until they heal.
 */
export interface Conn {
  id: number;
  learner: number;
  leader: number;
  alive: boolean;
  /** Delivery time of the last packet queued in each direction, to keep each one FIFO. */
  lastToLeaderMs: number;
  lastToLearnerMs: number;
}

/** A learner's end of a pair is the connection it opened last; the leader's, the one it accepted last. */
export type Side = 'learner' | 'leader';

export class SimNetwork {
  private readonly pairs = new Map<string, { learner?: Conn; leader?: Conn }>();
  private nextId = 1;
  private group: number[];

  constructor(private readonly serverCount: number) {
    this.group = new Array<number>(serverCount + 1).fill(0);
  }

  connected(a: number, b: number): boolean {
    return this.group[a] === this.group[b];
  }

  get partitioned(): boolean {
    return this.group.some((g) => g !== 0);
  }

  /** groups[sid] names the side each server is on. Returns the connections cut. */
  partition(groups: readonly number[]): Conn[] {
    this.group = [...groups];
    const cut: Conn[] = [];
    for (const c of this.allAlive()) {
      if (!this.connected(c.learner, c.leader)) {
        c.alive = false;
        cut.push(c);
      }
    }
    return cut;
  }

  heal(): void {
    this.group = new Array<number>(this.serverCount + 1).fill(0);
  }

  /**
   * A learner opens a new connection to its leader and closes its older one. Across a partition
   * the attempt fails: the connection comes back dead.
   */
  open(learner: number, leader: number): Conn {
    const pair = this.pair(learner, leader);
    if (pair.learner !== undefined) pair.learner.alive = false;
    const alive = this.connected(learner, leader);
    const c: Conn = { id: this.nextId++, learner, leader, alive, lastToLeaderMs: 0, lastToLearnerMs: 0 };
    pair.learner = c;
    return c;
  }

  /** The leader took the connection's first packet: from now on it writes to that one. */
  accept(c: Conn): void {
    const pair = this.pair(c.learner, c.leader);
    if (pair.leader !== undefined && pair.leader !== c) pair.leader.alive = false;
    pair.leader = c;
  }

  /** The connection each side of the pair uses. */
  current(learner: number, leader: number, side: Side): Conn | undefined {
    return this.pairs.get(`${learner}>${leader}`)?.[side];
  }

  /** Live connections with sid at either end. */
  connsOf(sid: number): Conn[] {
    return this.allAlive().filter((c) => c.learner === sid || c.leader === sid);
  }

  allAlive(): Conn[] {
    const out = new Set<Conn>();
    for (const p of this.pairs.values()) {
      if (p.learner?.alive === true) out.add(p.learner);
      if (p.leader?.alive === true) out.add(p.leader);
    }
    return [...out];
  }

  private pair(learner: number, leader: number): { learner?: Conn; leader?: Conn } {
    const key = `${learner}>${leader}`;
    let p = this.pairs.get(key);
    if (p === undefined) {
      p = {};
      this.pairs.set(key, p);
    }
    return p;
  }
}
