import { OpCode } from '../proto/opcodes.js';

/** What `cons` prints after lcxid: ZooKeeper's ServerCnxn response statistics. */
export interface ResponseStatsView {
  /** Four-letter code of the last request answered (FinalRequestProcessor's lastOp). */
  readonly lastOp: string;
  /** The tree's last processed zxid when the last reply was sent. */
  readonly lastZxid: bigint;
  /** Monotonic ms of the last reply, as ZooKeeper's lresp (Time.currentElapsedTime). */
  readonly lastResponseMs: number;
  readonly lastLatencyMs: number;
  /** 0 when nothing was answered yet. */
  readonly latencyMinMs: number;
  /** Integer average, as ServerCnxn.getAvgLatency. */
  readonly latencyAvgMs: number;
  readonly latencyMaxMs: number;
  /** `crst`. */
  reset(): void;
}

const LAST_OP = new Map<number, string>([
  [OpCode.ping, 'PING'],
  [OpCode.createSession, 'SESS'],
  [OpCode.multi, 'MULT'],
  [OpCode.multiRead, 'MLTR'],
  [OpCode.create, 'CREA'],
  [OpCode.create2, 'CREA'],
  [OpCode.createTTL, 'CREA'],
  [OpCode.createContainer, 'CREA'],
  [OpCode.delete, 'DELE'],
  [OpCode.deleteContainer, 'DELE'],
  [OpCode.setData, 'SETD'],
  [OpCode.reconfig, 'RECO'],
  [OpCode.setACL, 'SETA'],
  [OpCode.closeSession, 'CLOS'],
  [OpCode.sync, 'SYNC'],
  [OpCode.check, 'CHEC'],
  [OpCode.exists, 'EXIS'],
  [OpCode.getData, 'GETD'],
  [OpCode.setWatches, 'SETW'],
  [OpCode.setWatches2, 'STW2'],
  [OpCode.addWatch, 'ADDW'],
  [OpCode.getACL, 'GETA'],
  [OpCode.getChildren, 'GETC'],
  [OpCode.getChildren2, 'GETC'],
  [OpCode.getAllChildrenNumber, 'GETACN'],
  [OpCode.checkWatches, 'CHKW'],
  [OpCode.removeWatches, 'REMW'],
  [OpCode.whoAmI, 'HOMI'],
  [OpCode.getEphemerals, 'GETE'],
]);

/** The `lop=` code ZooKeeper 3.8 shows for a request type; "NA" for anything else. */
export function lastOpCode(type: number): string {
  return LAST_OP.get(type) ?? 'NA';
}

/**
 * Per-connection response statistics, ready for ClientConnection to own (`readonly responseStats
 * = new ResponseStats()`) and for the pipeline to feed once per reply. Latencies are whole ms like
 * ZooKeeper's; unlike ZooKeeper (whose minLatency starts at 0 and so stays 0 until the first
 * `crst`), the minimum is the real one.
 */
export class ResponseStats implements ResponseStatsView {
  lastOp = 'NA';
  lastZxid = 0n;
  lastResponseMs = 0;
  lastLatencyMs = 0;
  private minMs = Number.MAX_SAFE_INTEGER;
  private maxMs = 0;
  private totalMs = 0;
  private count = 0;

  /** A reply to a request of `type` left at `endMs` (monotonic), for a request that arrived at `startMs`. */
  responded(type: number, zxid: bigint, startMs: number, endMs: number): void {
    const latencyMs = Math.max(0, Math.floor(endMs) - Math.floor(startMs));
    this.lastOp = lastOpCode(type);
    this.lastZxid = zxid;
    this.lastResponseMs = Math.floor(endMs);
    this.lastLatencyMs = latencyMs;
    if (latencyMs < this.minMs) this.minMs = latencyMs;
    if (latencyMs > this.maxMs) this.maxMs = latencyMs;
    this.totalMs += latencyMs;
    this.count++;
  }

  get latencyMinMs(): number {
    return this.count === 0 ? 0 : this.minMs;
  }

  get latencyAvgMs(): number {
    return this.count === 0 ? 0 : Math.floor(this.totalMs / this.count);
  }

  get latencyMaxMs(): number {
    return this.maxMs;
  }

  /** ServerCnxn.resetStats: lzxid then reads 0xffffffffffffffff, as in ZooKeeper. */
  reset(): void {
    this.lastOp = 'NA';
    this.lastZxid = -1n;
    this.lastResponseMs = 0;
    this.lastLatencyMs = 0;
    this.minMs = Number.MAX_SAFE_INTEGER;
    this.maxMs = 0;
    this.totalMs = 0;
    this.count = 0;
  }
}
