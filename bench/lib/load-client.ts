// A pipelined, asynchronous ZooKeeper load generator that speaks the client wire protocol itself
// (no client library): `sessions` sessions spread over worker threads (load-worker.ts), each with
// up to `depth` requests in flight, session i starting on servers[i % servers.length].
//
//   const load = await LoadGenerator.open({ servers: ['127.0.0.1:2181'], sessions: 16, depth: 64 });
//   await load.setup();                                   // creates the parent of the keys
//   const created = await load.run({ op: 'create', durationMs: 10_000 });
//   const read = await load.run({ op: 'getData', durationMs: 10_000 });
//   await load.close();
//
// A phase issues for warmupMs + durationMs, then waits for the replies still in flight. Latency and
// ops/s count only requests completed inside the window (after the warm-up), with latency from
// encoding the request to reading its reply, on the load generator's clock. Keys: each session
// creates `${prefix}/s<session>-<n>` with n counting up, deletes from the lowest, and setData,
// getData, exists and mix pick uniformly among its live keys.
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Histogram, type LatencySummaryMs } from './histogram.js';
import {
  wallNow,
  type FromWorker,
  type LoadOp,
  type PhaseEvents,
  type PhaseSpec,
  type ReconnectCounts,
  type ReconnectMode,
  type StormReport,
  type ToWorker,
  type WorkerInit,
  type WorkerPhaseReport,
} from './load-protocol.js';

export type { LoadOp, ReconnectMode } from './load-protocol.js';

export interface LoadOptions {
  /** host:port of each server. */
  servers: string[];
  sessions: number;
  /** Requests in flight per session. */
  depth: number;
  /** Worker threads; default min(sessions, cpus). */
  workers?: number;
  /** create/setData payload; default 100 bytes. */
  dataBytes?: number;
  /** Requested session timeout; default 30 s (servers clamp it to 2..20 ticks). */
  sessionTimeoutMs?: number;
  connectTimeoutMs?: number;
  reconnect?: ReconnectMode;
  /** Parent znode of the keys; default /bench. */
  prefix?: string;
}

export interface RunOptions {
  op: LoadOp;
  durationMs: number;
  warmupMs?: number;
  readPercent?: number;
  recordEvents?: boolean;
  drainTimeoutMs?: number;
  maxOpsPerSession?: number;
  dataBytes?: number;
}

export interface PhaseResult {
  op: LoadOp;
  sessions: number;
  depth: number;
  dataBytes: number;
  warmupMs: number;
  durationMs: number;
  /** The window ops/s is computed over: the configured one, or shorter when every session ran out of work. */
  windowMs: number;
  ok: number;
  opsPerSec: number;
  latency: LatencySummaryMs;
  /** By op name (mix: getData and setData; watch: setData and notification). */
  perOp: Record<string, LatencySummaryMs>;
  errors: Record<string, number>;
  errorTotal: number;
  unanswered: number;
  connLosses: number;
  reconnects: ReconnectCounts;
  exhausted: boolean;
  keys: number;
  notifications: number;
  notificationsPerSec: number;
  /** Socket reads and writes of the load threads (requests and replies per syscall, roughly). */
  socketReads: number;
  socketWrites: number;
  /** CPU the load generator's process used during the phase (all threads), ms. */
  clientCpuMs: number;
  startWall: number;
  endWall: number;
}

export interface StormResult {
  ok: number;
  failed: number;
  elapsedMs: number;
  sessionsPerSec: number;
  /** Connect to session granted, and to the closeSession reply. */
  connect: LatencySummaryMs;
  total: LatencySummaryMs;
  clientCpuMs: number;
  histograms: { connect: Histogram; total: Histogram };
}

export interface PhaseRun {
  result: PhaseResult;
  histograms: Map<string, Histogram>;
  events: PhaseEvents | null;
}

const START_DELAY_MS = 50;

export class LoadGenerator {
  readonly options: Required<LoadOptions>;
  readonly #workers: Worker[];
  readonly #pending = new Map<number, (msg: FromWorker) => void>();
  #fatal: string | null = null;

  private constructor(options: Required<LoadOptions>, workers: Worker[]) {
    this.options = options;
    this.#workers = workers;
    workers.forEach((worker, index) => {
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'fatal') this.#fatal = `load worker ${msg.workerIndex}: ${msg.error}`;
        const waiter = this.#pending.get(index);
        this.#pending.delete(index);
        waiter?.(msg);
      });
      worker.on('error', (error) => {
        this.#fatal = `load worker ${index}: ${String(error.stack ?? error)}`;
        const waiter = this.#pending.get(index);
        this.#pending.delete(index);
        waiter?.({ type: 'fatal', workerIndex: index, error: this.#fatal });
      });
    });
  }

  /** Starts the workers and connects every session. */
  static async open(o: LoadOptions): Promise<LoadGenerator> {
    const options: Required<LoadOptions> = {
      servers: o.servers,
      sessions: o.sessions,
      depth: o.depth,
      workers: Math.max(1, o.sessions === 0 ? (o.workers ?? cpus().length) : Math.min(o.sessions, o.workers ?? cpus().length)),
      dataBytes: o.dataBytes ?? 100,
      sessionTimeoutMs: o.sessionTimeoutMs ?? 30_000,
      connectTimeoutMs: o.connectTimeoutMs ?? 3_000,
      reconnect: o.reconnect ?? 'resume',
      prefix: o.prefix ?? '/bench',
    };
    if (options.servers.length === 0) throw new Error('LoadGenerator needs at least one server');
    const shared = new SharedArrayBuffer(32);
    new Int32Array(shared, 0, 4)[2] = options.sessions - 1; // watchers in the watch phase
    const workers: Worker[] = [];
    for (let w = 0; w < options.workers; w++) {
      const sessionIndexes: number[] = [];
      for (let i = w; i < options.sessions; i += options.workers) sessionIndexes.push(i);
      const init: WorkerInit & { shared: SharedArrayBuffer } = {
        workerIndex: w,
        sessionIndexes,
        servers: options.servers,
        depth: options.depth,
        dataBytes: options.dataBytes,
        sessionTimeoutMs: options.sessionTimeoutMs,
        connectTimeoutMs: options.connectTimeoutMs,
        reconnect: options.reconnect,
        prefix: options.prefix,
        maxFrameBytes: Math.max(4 * 1024 * 1024, options.dataBytes * 2 + 65536),
        shared,
      };
      workers.push(new Worker(new URL('./load-worker.js', import.meta.url), { workerData: init }));
    }
    const load = new LoadGenerator(options, workers);
    const replies = await load.#all({ type: 'connect' });
    const failed = replies.reduce((n, r) => n + (r.type === 'connected' ? r.failed : 1), 0);
    if (failed > 0) {
      await load.close();
      throw new Error(`load generator: ${failed} of ${options.sessions} sessions could not connect to ${options.servers.join(',')}`);
    }
    return load;
  }

  async #all(msg: ToWorker): Promise<FromWorker[]> {
    const replies = await Promise.all(
      this.#workers.map(
        (worker, index) =>
          new Promise<FromWorker>((resolve) => {
            this.#pending.set(index, resolve);
            worker.postMessage(msg);
          }),
      ),
    );
    if (this.#fatal !== null) throw new Error(this.#fatal);
    return replies;
  }

  /** Creates the keys' parent (and `extra` paths, in order) from one session; NodeExists is fine. */
  async setup(extra: readonly string[] = []): Promise<void> {
    const worker = this.#workers[0];
    if (worker === undefined) return;
    const paths = [...ancestors(this.options.prefix), ...extra];
    const reply = await new Promise<FromWorker>((resolve) => {
      this.#pending.set(0, resolve);
      worker.postMessage({ type: 'setup', paths } satisfies ToWorker);
    });
    if (reply.type !== 'setupDone') throw new Error(`setup failed: ${JSON.stringify(reply)}`);
    const bad = reply.codes.map((code, i) => [paths[i], code] as const).filter(([, code]) => code !== 0 && code !== -110);
    if (bad.length > 0) throw new Error(`setup: could not create ${bad.map(([p, c]) => `${String(p)} (${c})`).join(', ')}`);
  }

  async run(o: RunOptions): Promise<PhaseRun> {
    const spec: PhaseSpec = {
      op: o.op,
      startWall: wallNow() + START_DELAY_MS,
      warmupMs: o.warmupMs ?? 0,
      durationMs: o.durationMs,
      readPercent: o.readPercent ?? 90,
      recordEvents: o.recordEvents ?? false,
      drainTimeoutMs: o.drainTimeoutMs ?? 15_000,
      maxOpsPerSession: o.maxOpsPerSession ?? 0,
      dataBytes: o.dataBytes ?? 0,
    };
    const cpu0 = process.cpuUsage();
    const replies = await this.#all({ type: 'phase', spec });
    const cpu = process.cpuUsage(cpu0);
    const endWall = wallNow();
    const reports = replies.filter((r): r is WorkerPhaseReport => r.type === 'phaseDone');
    return merge(spec, this.options, reports, (cpu.user + cpu.system) / 1000, endWall);
  }

  /** Ends the running phase early (run() then resolves with what it measured so far). */
  abort(): void {
    for (const worker of this.#workers) worker.postMessage({ type: 'abort' } satisfies ToWorker);
  }

  /**
   * Connection storm: every worker opens and closes `countPerWorker` sessions, `concurrency` at a
   * time (a generator opened with sessions: 0 has no long-lived sessions to get in the way).
   */
  async storm(countPerWorker: number, concurrency: number, timeoutMs = 10_000): Promise<StormResult> {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const replies = await this.#all({ type: 'storm', spec: { count: countPerWorker, concurrency, timeoutMs } });
    const elapsedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const reports = replies.filter((r): r is StormReport => r.type === 'stormDone');
    const connect = new Histogram();
    const total = new Histogram();
    let ok = 0;
    let failed = 0;
    for (const r of reports) {
      connect.add(Histogram.fromWire(r.connect));
      total.add(Histogram.fromWire(r.total));
      ok += r.ok;
      failed += r.failed;
    }
    return {
      ok, failed, elapsedMs, sessionsPerSec: (ok / elapsedMs) * 1000, connect: connect.summaryMs(), total: total.summaryMs(),
      clientCpuMs: (cpu.user + cpu.system) / 1000, histograms: { connect, total },
    };
  }

  async close(): Promise<void> {
    await Promise.race([this.#all({ type: 'close' }).catch(() => undefined), new Promise((r) => setTimeout(r, 10_000))]);
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

function ancestors(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

function merge(spec: PhaseSpec, o: Required<LoadOptions>, reports: WorkerPhaseReport[], clientCpuMs: number, endWall: number): PhaseRun {
  const histograms = new Map<string, Histogram>();
  const errors: Record<string, number> = {};
  const reconnects: ReconnectCounts = { resumed: 0, fresh: 0, expired: 0, failedAttempts: 0 };
  let ok = 0;
  let unanswered = 0;
  let connLosses = 0;
  let keys = 0;
  let notifications = 0;
  let socketReads = 0;
  let socketWrites = 0;
  let lastDone = -Infinity;
  for (const r of reports) {
    for (const [name, wire] of Object.entries(r.hist)) {
      const h = histograms.get(name) ?? new Histogram();
      h.add(Histogram.fromWire(wire));
      histograms.set(name, h);
    }
    for (const [name, n] of Object.entries(r.errors)) errors[name] = (errors[name] ?? 0) + n;
    for (const k of Object.keys(reconnects) as (keyof ReconnectCounts)[]) reconnects[k] += r.reconnects[k];
    ok += r.windowOk;
    unanswered += r.unanswered;
    connLosses += r.connLosses;
    keys += r.keys;
    notifications += r.notifications;
    socketReads += r.socketReads;
    socketWrites += r.socketWrites;
    if (!Number.isNaN(r.lastDoneWall)) lastDone = Math.max(lastDone, r.lastDoneWall);
  }
  const windowStart = spec.startWall + spec.warmupMs;
  const exhausted = reports.length > 0 && reports.every((r) => r.exhausted);
  // A phase whose sessions all ran out of work early (delete) is measured up to its last reply.
  const windowMs = exhausted && lastDone > windowStart ? lastDone - windowStart : spec.durationMs;
  const all = histograms.get('all') ?? new Histogram();
  const perOp: Record<string, LatencySummaryMs> = {};
  for (const [name, h] of histograms) if (name !== 'all') perOp[name] = h.summaryMs();
  const result: PhaseResult = {
    op: spec.op,
    sessions: o.sessions,
    depth: o.depth,
    dataBytes: spec.dataBytes > 0 ? spec.dataBytes : o.dataBytes,
    warmupMs: spec.warmupMs,
    durationMs: spec.durationMs,
    windowMs,
    ok,
    opsPerSec: windowMs > 0 ? (ok / windowMs) * 1000 : NaN,
    latency: all.summaryMs(),
    perOp,
    errors,
    errorTotal: Object.values(errors).reduce((a, b) => a + b, 0),
    unanswered,
    connLosses,
    reconnects,
    exhausted,
    keys,
    notifications,
    notificationsPerSec: windowMs > 0 ? (notifications / windowMs) * 1000 : NaN,
    socketReads,
    socketWrites,
    clientCpuMs,
    startWall: spec.startWall,
    endWall,
  };
  return { result, histograms, events: mergeEvents(reports) };
}

function mergeEvents(reports: WorkerPhaseReport[]): PhaseEvents | null {
  const evs = reports.map((r) => r.events).filter((e): e is PhaseEvents => e !== null);
  if (evs.length === 0) return null;
  const cat = (pick: (e: PhaseEvents) => Float64Array): Float64Array => {
    const total = evs.reduce((n, e) => n + pick(e).length, 0);
    const out = new Float64Array(total);
    let at = 0;
    for (const e of evs) {
      out.set(pick(e), at);
      at += pick(e).length;
    }
    return out;
  };
  return {
    okSent: cat((e) => e.okSent),
    okDone: cat((e) => e.okDone),
    errDone: cat((e) => e.errDone),
    lossWall: cat((e) => e.lossWall),
    reconnectWall: cat((e) => e.reconnectWall),
  };
}
