// Messages between the load generator (main thread, load-client.ts) and its worker threads
// (load-worker.ts). Plain data only: everything here crosses postMessage.
import type { HistogramWire } from './histogram.js';

/** What one phase asks of every session. `mix` is getData/setData at `readPercent`. */
export type LoadOp = 'create' | 'setData' | 'getData' | 'exists' | 'mix' | 'delete' | 'watch';
export const LOAD_OPS: readonly LoadOp[] = ['create', 'setData', 'getData', 'exists', 'mix', 'delete', 'watch'];

/** How a session whose connection dropped gets back: `resume` reconnects to the next server with
 * the same session id and password (as the Java client does); `fresh` opens a new session. */
export type ReconnectMode = 'resume' | 'fresh';

export interface WorkerInit {
  workerIndex: number;
  /** Global session indexes this worker runs. */
  sessionIndexes: number[];
  /** host:port of every server; session i starts on servers[i % servers.length]. */
  servers: string[];
  depth: number;
  dataBytes: number;
  sessionTimeoutMs: number;
  connectTimeoutMs: number;
  reconnect: ReconnectMode;
  /** Parent of the keys: keys are `${prefix}/s${session}-${n}`. */
  prefix: string;
  maxFrameBytes: number;
}

export interface PhaseSpec {
  op: LoadOp;
  /** Wall-clock ms (epoch) at which every worker starts issuing. */
  startWall: number;
  warmupMs: number;
  durationMs: number;
  /** mix: percentage of getData. */
  readPercent: number;
  /** Keep (sent, done, ok) of every request, for timelines (failover). */
  recordEvents: boolean;
  /** After the window ends, how long to wait for replies still outstanding. */
  drainTimeoutMs: number;
  /** Stop a session after this many requests (0: no limit), e.g. to create a fixed key set. */
  maxOpsPerSession: number;
  /** Data size for create/setData in this phase (0: the generator's). */
  dataBytes: number;
}

export type ToWorker =
  | { type: 'connect' }
  | { type: 'setup'; paths: string[] }
  | { type: 'phase'; spec: PhaseSpec }
  | { type: 'storm'; spec: StormSpec }
  /** End the running phase now (its report follows as usual); no reply of its own. */
  | { type: 'abort' }
  | { type: 'close' };

/** Connection storm: `count` sessions opened and closed again, `concurrency` at a time, each on
 * servers[i % servers.length]. */
export interface StormSpec {
  count: number;
  concurrency: number;
  /** Give up on one session after this long. */
  timeoutMs: number;
}

export interface StormReport {
  type: 'stormDone';
  workerIndex: number;
  /** TCP connect to ConnectResponse, and to the closeSession reply, of each successful session. */
  connect: HistogramWire;
  total: HistogramWire;
  ok: number;
  failed: number;
  elapsedMs: number;
}

export interface ReconnectCounts {
  /** Reconnected with the same session id (resume). */
  resumed: number;
  /** Opened a new session (fresh mode, or the old one had expired). */
  fresh: number;
  /** The server refused to resume: session expired. */
  expired: number;
  /** Connection attempts that failed (refused, closed before a ConnectResponse, timed out). */
  failedAttempts: number;
}

export interface PhaseEvents {
  /** Per successful request: wall ms sent and done. */
  okSent: Float64Array;
  okDone: Float64Array;
  /** Wall ms of each failed request's completion (connection loss included). */
  errDone: Float64Array;
  /** Wall ms at which a session lost its connection, and at which it was serving again. */
  lossWall: Float64Array;
  reconnectWall: Float64Array;
}

export interface WorkerPhaseReport {
  type: 'phaseDone';
  workerIndex: number;
  /** Latency of successful requests completed in the window, by op name, plus `all`. */
  hist: Record<string, HistogramWire>;
  windowOk: number;
  /** First and last completion inside the window (wall ms), NaN when none. */
  firstDoneWall: number;
  lastDoneWall: number;
  /** Failed requests of the whole phase by error name (connectionLoss counts requests lost in flight). */
  errors: Record<string, number>;
  /** Requests still unanswered when the drain timed out. */
  unanswered: number;
  connLosses: number;
  reconnects: ReconnectCounts;
  /** True when the phase ended before its time because every session ran out of work. */
  exhausted: boolean;
  /** Keys alive after the phase, all sessions of this worker. */
  keys: number;
  events: PhaseEvents | null;
  /** Watch phase: notifications received (in the window) and their delivery latency is in hist.notification. */
  notifications: number;
  socketReads: number;
  socketWrites: number;
}

export type FromWorker =
  | { type: 'connected'; workerIndex: number; ok: number; failed: number; error: string | null }
  | { type: 'setupDone'; workerIndex: number; codes: number[] }
  | WorkerPhaseReport
  | StormReport
  | { type: 'closed'; workerIndex: number }
  | { type: 'fatal'; workerIndex: number; error: string };

/** Wall-clock ms with sub-ms precision, comparable across threads and with server logs. */
export const wallNow = (): number => performance.timeOrigin + performance.now();
