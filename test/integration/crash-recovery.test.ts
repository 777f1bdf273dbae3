// Crash recovery under load, the "Done when" of the durability work: several sessions pipeline
// writes of unique, self-describing payloads against a real tszk process (forceSync on, a small
// snapCount so snapshots and log rolls happen all the time), which is SIGKILLed at a random moment
// with requests in flight and restarted on the same dataDir, dataLogDir and port. Rounds repeat
// on the same data. After every restart:
//
// - every write acknowledged before the kill is there: per node, the state read back must be the
//   state after some prefix of the ops sent to it this round (from the state verified after the
//   previous round) that includes the last acknowledged op, with the acknowledged data, version,
//   czxid and mzxid; nothing else is accepted, so data that was never sent cannot pass;
// - nothing unsent appears: every child of /, /crash and the writers' parents is a path we sent
//   a create for;
// - each session's applied ops are a prefix of what it sent (FIFO plus a log that is a prefix),
//   and a multi is applied whole or not at all;
// - ephemerals belong to the session that created them, an acknowledged one is there while its
//   session cannot have expired yet, and after the last round all of them go once their sessions
//   time out;
// - the server's zxid (srvr "Zxid:") and the zxid of the next write are above every zxid any
//   reply carried before the kill; new session ids never repeat an old one.
//
// A second test grows a 20k-node tree and kills the server while a snapshot of it is being
// written (snapshot.<zxid>.tmp present), then checks that start-up falls back to the older
// snapshot plus the log, and the same properties as above.
//
// TSZK_CRASH_SEED=<n> replays a seed's choices (op mix, kill moments; not the timing);
// TSZK_CRASH_ROUNDS=<n> changes the number of rounds of the first test. The seed is printed
// with every failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Err, errName } from '../../src/proto/error-codes.js';
import type { MultiOp, MultiResult } from '../../src/proto/multi.js';
import { CreateMode, OpCode } from '../../src/proto/opcodes.js';
import { fourLetterWord, parseFourLetterFields } from '../support/four-letter.js';
import { freePort } from '../support/ports.js';
import { RawClient, RawClientError, WORLD_ANYONE_ALL } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { TSZK_MAIN, trackProcessGroup, untrackProcessGroup } from '../support/zk-server.js';
import { logLines } from '../support/server-log.js';

const HOST = '127.0.0.1';
const SEED = process.env['TSZK_CRASH_SEED'] !== undefined ? Number(process.env['TSZK_CRASH_SEED']) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const ROUNDS = Number(process.env['TSZK_CRASH_ROUNDS'] ?? '10');
const WRITERS = 4;
/** Requests each writer keeps in flight. */
const PIPELINE_DEPTH = 32;
const TICK_TIME_MS = 500;
/** What the writers ask for; within [2, 20] ticks, so granted as asked. */
const SESSION_TIMEOUT_MS = 3000;
/** An ephemeral must be there if its session's server has not been up longer than this. */
const SESSION_SAFE_MS = SESSION_TIMEOUT_MS - 1000;
const READ_BATCH = 1000;
const KEEP = process.env['TSZK_KEEP_TMP'] === '1';

// ---------------------------------------------------------------- seeded randomness

/** mulberry32: small, fast and good enough to pick ops and moments. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function subSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
  }
  return h;
}

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const hex = (z: bigint): string => `0x${z.toString(16)}`;

// ---------------------------------------------------------------- a server we can kill -9 and restart

interface Incarnation {
  child: ChildProcess;
  pid: number;
  logFile: string;
  spawnedMs: number;
  exited: Promise<void>;
}

/**
 * One server directory and port, started as many times as we like: `node dist/cli/main.js
 * start-foreground zoo.cfg` in its own process group (test/support/zk-server.ts makes a new temp
 * dir per start, so it cannot restart on the same files). Each start logs to its own file.
 */
class CrashableServer {
  readonly dataDir: string;
  readonly dataLogDir: string;
  readonly configFile: string;
  current: Incarnation | null = null;
  private launches = 0;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.dataDir = join(dir, 'data');
    this.dataLogDir = join(dir, 'datalog');
    this.configFile = join(dir, 'zoo.cfg');
  }

  static async create(extra: Record<string, string>): Promise<CrashableServer> {
    const dir = await mkdtemp(join(tmpdir(), 'tszk-crash-'));
    const server = new CrashableServer(dir, await freePort());
    const settings: Record<string, string> = {
      tickTime: String(TICK_TIME_MS),
      dataDir: server.dataDir,
      dataLogDir: server.dataLogDir,
      clientPort: String(server.port),
      clientPortAddress: HOST,
      'admin.enableServer': 'false',
      '4lw.commands.whitelist': '*',
      forceSync: 'yes',
      ...extra,
    };
    await writeFile(server.configFile, Object.entries(settings).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    return server;
  }

  get snapDir(): string {
    return join(this.dataDir, 'version-2');
  }

  get logDir(): string {
    return join(this.dataLogDir, 'version-2');
  }

  spawn(): Incarnation {
    const logFile = join(this.dir, `server-${++this.launches}.log`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [TSZK_MAIN, 'start-foreground', this.configFile], {
        cwd: this.dir,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not spawn ${TSZK_MAIN}`);
    trackProcessGroup(pid);
    child.on('error', () => undefined);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const inc: Incarnation = { child, pid, logFile, spawnedMs: Date.now(), exited };
    this.current = inc;
    return inc;
  }

  /** Spawns and waits until ruok says imok and srvr names a Mode. */
  async start(): Promise<Incarnation> {
    const inc = this.spawn();
    await waitFor(
      async () => {
        if (inc.child.exitCode !== null || inc.child.signalCode !== null) {
          throw new Error(`server exited during start-up (code ${String(inc.child.exitCode)}); log:\n${tail(inc.logFile)}`);
        }
        const ruok = await fourLetterWord(HOST, this.port, 'ruok', { timeoutMs: 1000 }).catch(() => '');
        if (ruok.trim() !== 'imok') return false;
        const srvr = await fourLetterWord(HOST, this.port, 'srvr', { timeoutMs: 1000 }).catch(() => '');
        return /^Mode: \S+/m.test(srvr);
      },
      { timeoutMs: 30_000, intervalMs: 20, what: `tszk on ${HOST}:${this.port} to start`, detail: () => tail(inc.logFile) },
    );
    return inc;
  }

  /** SIGKILL to the whole group; resolves once the process is gone. */
  async kill(): Promise<void> {
    const inc = this.current;
    if (inc === null) return;
    try {
      process.kill(-inc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await inc.exited;
    untrackProcessGroup(inc.pid);
    this.current = null;
  }

  async remove(): Promise<void> {
    await this.kill();
    if (!KEEP) await rm(this.dir, { recursive: true, force: true });
  }
}

function tail(file: string, chars = 3000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.length > chars ? `...${text.slice(-chars)}` : text;
  } catch {
    return '(no log)';
  }
}


async function srvrZxid(port: number): Promise<bigint> {
  const fields = parseFourLetterFields(await fourLetterWord(HOST, port, 'srvr'));
  const zxid = fields.get('Zxid');
  if (zxid === undefined) throw new Error('srvr has no Zxid line');
  return BigInt(zxid);
}

// ---------------------------------------------------------------- what was sent and acknowledged

type EffectKind = 'create' | 'set' | 'delete';

interface SentOp {
  id: number;
  writer: number;
  round: number;
  kind: 'create' | 'set' | 'delete' | 'multi' | 'ephemeral';
  /** What it does to which nodes, in order (a multi has two). */
  effects: { node: NodeModel; kind: EffectKind; data: string }[];
  acked: boolean;
  zxid: bigint | null;
  /** Versions the reply reported, per effect (set: the new version), when it has a stat. */
  replyVersions: (number | null)[];
}

interface NodeState {
  exists: boolean;
  data: string;
  version: number;
  czxid: bigint;
  mzxid: bigint;
  ephemeralOwner: bigint;
}

const ABSENT: NodeState = { exists: false, data: '', version: -1, czxid: 0n, mzxid: 0n, ephemeralOwner: 0n };

interface NodeModel {
  path: string;
  writer: number;
  ephemeral: boolean;
  /** The state verified after the previous round (ABSENT for a node first sent this round). */
  base: NodeState;
  /** This round's effects on it, in send order (= zxid order: one session per writer). */
  effects: { op: SentOp; kind: EffectKind; data: string }[];
  /** Ephemeral: the session that sent its create. */
  ownerSession: bigint;
  /** Ephemeral: some server incarnation since its create ran long enough for the session to expire. */
  mayHaveExpired: boolean;
  /** Seen absent after a delete or an expiry, or its create was lost: never used again. */
  retired: boolean;
}

interface WriterState {
  index: number;
  /** Next node number; never reused, so paths are unique across rounds. */
  nextNode: number;
  /** Persistent nodes it may setData (exist or created this round, no delete sent). */
  live: NodeModel[];
  /** Ops of the current round in send order. */
  ops: SentOp[];
}

class Model {
  readonly nodes = new Map<string, NodeModel>();
  readonly writers: WriterState[] = [];
  /** Highest zxid any reply carried (writes' zxids are their txns'). */
  maxReplyZxid = 0n;
  maxAckedZxid = 0n;
  acked = 0;
  sent = 0;
  readonly unexpected: string[] = [];
  readonly sessionIds = new Set<bigint>();
  private nextOpId = 1;

  constructor(writers: number) {
    for (let i = 0; i < writers; i++) this.writers.push({ index: i, nextNode: 0, live: [], ops: [] });
  }

  newNode(writer: number, ephemeral: boolean): NodeModel {
    const w = this.writers[writer]!;
    const n = w.nextNode++;
    const path = ephemeral ? `/crash/eph/w${writer}-${n}` : `/crash/w${writer}/n${n}`;
    const node: NodeModel = {
      path, writer, ephemeral, base: ABSENT, effects: [], ownerSession: 0n, mayHaveExpired: false, retired: false,
    };
    this.nodes.set(path, node);
    return node;
  }

  newOp(writer: number, round: number, kind: SentOp['kind']): SentOp {
    const op: SentOp = { id: this.nextOpId++, writer, round, kind, effects: [], acked: false, zxid: null, replyVersions: [] };
    this.writers[writer]!.ops.push(op);
    this.sent++;
    return op;
  }

  addEffect(op: SentOp, node: NodeModel, kind: EffectKind, padding: number): string {
    const data = `${node.path} ${kind} op${op.id} r${op.round}${'.'.repeat(padding)}`;
    op.effects.push({ node, kind, data });
    node.effects.push({ op, kind, data });
    return data;
  }

  /** After a verified restart: what was read back becomes the base of the next round. */
  rebase(observed: Map<string, NodeState>): void {
    for (const w of this.writers) {
      w.ops = [];
      w.live = [];
    }
    for (const node of this.nodes.values()) {
      const state = observed.get(node.path) ?? ABSENT;
      node.base = state;
      node.effects = [];
      if (!state.exists) node.retired = true;
      if (!node.retired && !node.ephemeral) this.writers[node.writer]!.live.push(node);
    }
  }
}

// ---------------------------------------------------------------- the writers

interface LoadOptions {
  round: number;
  /** Stop sending after this many ops per writer (then wait for every reply); default: until the kill. */
  opsPerWriter?: number;
  /** Only plain creates (to build a big tree). */
  createsOnly?: boolean;
  /** Bytes of padding per payload: [0, paddingMax). */
  paddingMax: number;
}

interface Load {
  /** Set right before the kill, so closed connections after it are expected. */
  killing: { value: boolean };
  done: Promise<void>;
  clients: RawClient[];
}

async function startLoad(model: Model, port: number, opts: LoadOptions): Promise<Load> {
  const clients: RawClient[] = [];
  for (let i = 0; i < model.writers.length; i++) {
    const client = await RawClient.connect({ host: HOST, port, timeOutMs: SESSION_TIMEOUT_MS });
    if (!client.sessionAccepted) throw new Error('the server refused a session');
    if (model.sessionIds.has(client.sessionId)) {
      model.unexpected.push(`round ${opts.round}: new session id ${hex(client.sessionId)} repeats an earlier session's id`);
    }
    model.sessionIds.add(client.sessionId);
    clients.push(client);
  }
  const killing = { value: false };
  const done = Promise.all(model.writers.map((w, i) => runWriter(model, w, clients[i]!, killing, opts))).then(() => undefined);
  return { killing, done, clients };
}

async function runWriter(model: Model, w: WriterState, client: RawClient, killing: { value: boolean }, opts: LoadOptions): Promise<void> {
  const rng = prng(subSeed(SEED, opts.round, w.index, 1));
  const inflight = new Set<Promise<void>>();
  let issued = 0;
  const limit = opts.opsPerWriter ?? Infinity;
  while (!client.closed && issued < limit) {
    while (inflight.size < PIPELINE_DEPTH && !client.closed && issued < limit) {
      const p = issueOp(model, w, client, rng, killing, opts);
      issued++;
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    if (inflight.size > 0) await Promise.race(inflight);
  }
  await Promise.allSettled([...inflight]);
}

/**
 * Records one op as sent, sends it, and records its outcome. The mix: 40% create, 30% setData,
 * 10% multi (create + setData), 5% ephemeral create, 15% delete of a node older than the round
 * (a create when there is none).
 */
function issueOp(model: Model, w: WriterState, client: RawClient, rng: () => number, killing: { value: boolean }, opts: LoadOptions): Promise<void> {
  const pad = (): number => Math.floor(rng() * opts.paddingMax);
  const r = opts.createsOnly === true ? 0 : rng();
  const persistent = { flags: CreateMode.persistent, acl: WORLD_ANYONE_ALL };
  let op: SentOp;
  let request: Promise<{ err: number; zxid: bigint; versions: (number | null)[] }>;
  const deletable = (): NodeModel | undefined => {
    // Only nodes that existed before this round: "absent" then can only mean "delete applied".
    for (let tries = 0; tries < 4 && w.live.length > 0; tries++) {
      const node = pick(rng, w.live);
      if (node.base.exists && node.effects.every((e) => e.kind !== 'create')) return node;
    }
    return undefined;
  };
  const target = r < 0.85 ? undefined : deletable();
  if (r >= 0.4 && r < 0.7 && w.live.length > 0) {
    const node = pick(rng, w.live);
    op = model.newOp(w.index, opts.round, 'set');
    const data = model.addEffect(op, node, 'set', pad());
    request = client.setData(node.path, data).then((res) => ({ err: res.err, zxid: res.zxid, versions: [res.response?.stat.version ?? null] }));
  } else if (r >= 0.7 && r < 0.8 && w.live.length > 0) {
    const created = model.newNode(w.index, false);
    const node = pick(rng, w.live);
    op = model.newOp(w.index, opts.round, 'multi');
    const createData = model.addEffect(op, created, 'create', pad());
    const setData = model.addEffect(op, node, 'set', pad());
    w.live.push(created);
    const ops: MultiOp[] = [
      { type: OpCode.create, request: { path: created.path, data: Buffer.from(createData), acl: [...WORLD_ANYONE_ALL], flags: CreateMode.persistent } },
      { type: OpCode.setData, request: { path: node.path, data: Buffer.from(setData), version: -1 } },
    ];
    request = client.multi(ops).then((res) => ({
      err: res.err,
      zxid: res.zxid,
      versions: (res.response?.results ?? []).map((x: MultiResult) => (x.type === OpCode.setData ? x.stat.version : null)),
    }));
  } else if (r >= 0.8 && r < 0.85) {
    const node = model.newNode(w.index, true);
    node.ownerSession = client.sessionId;
    op = model.newOp(w.index, opts.round, 'ephemeral');
    const data = model.addEffect(op, node, 'create', pad());
    request = client.create(node.path, data, { flags: CreateMode.ephemeral }).then((res) => ({ err: res.err, zxid: res.zxid, versions: [null] }));
  } else if (target !== undefined) {
    op = model.newOp(w.index, opts.round, 'delete');
    model.addEffect(op, target, 'delete', 0);
    w.live.splice(w.live.indexOf(target), 1);
    request = client.delete(target.path).then((res) => ({ err: res.err, zxid: res.zxid, versions: [null] }));
  } else {
    const node = model.newNode(w.index, false);
    op = model.newOp(w.index, opts.round, 'create');
    const data = model.addEffect(op, node, 'create', pad());
    w.live.push(node);
    request = client.create(node.path, data, persistent).then((res) => ({ err: res.err, zxid: res.zxid, versions: [null] }));
  }
  return request.then(
    ({ err, zxid, versions }) => {
      if (zxid > model.maxReplyZxid) model.maxReplyZxid = zxid;
      if (err !== Err.ok) {
        model.unexpected.push(`round ${opts.round}: op${op.id} ${op.kind} ${op.effects.map((e) => e.node.path).join(' ')} answered ${errName(err)}`);
        return;
      }
      op.acked = true;
      op.zxid = zxid;
      op.replyVersions = versions;
      model.acked++;
      if (zxid > model.maxAckedZxid) model.maxAckedZxid = zxid;
    },
    (error: unknown) => {
      const closed = error instanceof RawClientError && error.code === 'RAW_CLIENT_CLOSED';
      if (!closed || !killing.value) {
        model.unexpected.push(`round ${opts.round}: op${op.id} ${op.kind} failed before any kill: ${(error as Error).message}`);
      }
    },
  );
}

// ---------------------------------------------------------------- reading back and checking

async function readStates(client: RawClient, paths: readonly string[]): Promise<{ states: Map<string, NodeState>; problems: string[] }> {
  const states = new Map<string, NodeState>();
  const problems: string[] = [];
  for (let at = 0; at < paths.length; at += READ_BATCH) {
    const batch = paths.slice(at, at + READ_BATCH);
    const replies = await Promise.all(batch.map((path) => client.getData(path)));
    batch.forEach((path, i) => {
      const res = replies[i]!;
      if (res.err === Err.noNode) {
        states.set(path, ABSENT);
      } else if (res.err !== Err.ok || res.response === undefined) {
        problems.push(`getData ${path} answered ${errName(res.err)}`);
      } else {
        const { data, stat } = res.response;
        states.set(path, {
          exists: true,
          data: data === null ? '' : data.toString('utf8'),
          version: stat.version,
          czxid: stat.czxid,
          mzxid: stat.mzxid,
          ephemeralOwner: stat.ephemeralOwner,
        });
      }
    });
  }
  return { states, problems };
}

async function children(client: RawClient, path: string): Promise<string[]> {
  const res = await client.getChildren(path);
  if (res.err !== Err.ok || res.response === undefined) throw new Error(`getChildren ${path} answered ${errName(res.err)}`);
  return res.response.children;
}

/** The states a node goes through as its effects apply: states[i] is after the first i. */
function statesAlong(node: NodeModel): NodeState[] {
  const out: NodeState[] = [node.base];
  let s = node.base;
  for (const e of node.effects) {
    if (e.kind === 'create') s = { exists: true, data: e.data, version: 0, czxid: e.op.zxid ?? -1n, mzxid: e.op.zxid ?? -1n, ephemeralOwner: s.ephemeralOwner };
    else if (e.kind === 'set') s = { ...s, data: e.data, version: s.version + 1, mzxid: e.op.zxid ?? -1n };
    else s = ABSENT;
    out.push(s);
  }
  return out;
}

const show = (s: NodeState): string => (s.exists ? `{data ${JSON.stringify(s.data.slice(0, 60))}, version ${s.version}}` : 'absent');

interface VerifyContext {
  /** ms since the current incarnation was spawned, when its ephemerals were read. */
  ephemeralsReadAfterMs: number;
}

/**
 * Checks the states read back from the restarted server against what was sent and acknowledged.
 * Returns every problem found and how many unacknowledged ops turned out to be applied.
 */
async function verify(
  model: Model,
  client: RawClient,
  ctx: VerifyContext,
  statesRead: Map<string, NodeState>,
): Promise<{ problems: string[]; appliedUnacked: number }> {
  const problems: string[] = [];
  /** op id -> applied: true, false, or undefined when it cannot be told (an expired ephemeral). */
  const applied = new Map<number, boolean | undefined>();
  const noteApplied = (op: SentOp, value: boolean | undefined, path: string): void => {
    if (!applied.has(op.id)) {
      applied.set(op.id, value);
      return;
    }
    const before = applied.get(op.id);
    if (before !== undefined && value !== undefined && before !== value) {
      problems.push(`op${op.id} ${op.kind} (a multi) is applied on one node but not on ${path}`);
    }
    if (before === undefined) applied.set(op.id, value);
  };

  for (const node of model.nodes.values()) {
    const observed = statesRead.get(node.path);
    if (observed === undefined) continue; // read failed; reported already
    const along = statesAlong(node);
    let lastAcked = 0;
    node.effects.forEach((e, i) => {
      if (e.op.acked) lastAcked = i + 1;
    });
    if (node.ephemeral && observed.exists && observed.ephemeralOwner !== node.ownerSession) {
      problems.push(`${node.path}: ephemeralOwner ${hex(observed.ephemeralOwner)}, created by session ${hex(node.ownerSession)}`);
    }
    if (node.ephemeral && !observed.exists && node.base.exists === false && node.effects.length === 0) continue;
    if (node.ephemeral && !observed.exists) {
      // Gone: never sent, lost before durable, or its session expired. Only the last is legal
      // for an acknowledged create, and only once the session may have expired.
      const mayExpire = node.mayHaveExpired || ctx.ephemeralsReadAfterMs > SESSION_SAFE_MS;
      if (!mayExpire && (lastAcked > 0 || node.base.exists)) {
        problems.push(`${node.path}: acknowledged ephemeral missing ${ctx.ephemeralsReadAfterMs} ms after the restart (session timeout ${SESSION_TIMEOUT_MS} ms)`);
      }
      for (const e of node.effects) noteApplied(e.op, mayExpire ? undefined : false, node.path);
      continue;
    }
    // Which prefixes of this round's effects give the observed state?
    const matches: number[] = [];
    along.forEach((s, i) => {
      if (s.exists !== observed.exists) return;
      if (!s.exists || (s.data === observed.data && s.version === observed.version)) matches.push(i);
    });
    if (matches.length === 0) {
      problems.push(
        `${node.path}: holds ${show(observed)}, which is no state its ops lead to: base ${show(node.base)}, then ` +
          `${node.effects.map((e) => `op${e.op.id} ${e.kind}${e.op.acked ? ' (acked)' : ''}`).join(', ') || 'nothing'}`,
      );
      continue;
    }
    const prefix = matches[matches.length - 1]!;
    if (matches.length > 1) problems.push(`${node.path}: state ${show(observed)} is ambiguous (prefixes ${matches.join(',')}): test bug`);
    if (prefix < lastAcked) {
      const lost = node.effects[lastAcked - 1]!;
      problems.push(
        `${node.path}: acknowledged op${lost.op.id} ${lost.kind} (zxid ${hex(lost.op.zxid ?? 0n)}) is lost: ` +
          `holds ${show(observed)}, expected ${show(along[lastAcked]!)} or later`,
      );
    }
    const expected = along[prefix]!;
    // Zxids are known for acknowledged ops and for the base; replay must reproduce them.
    if (expected.exists) {
      if (expected.czxid > 0n && observed.czxid !== expected.czxid) {
        problems.push(`${node.path}: czxid ${hex(observed.czxid)}, expected ${hex(expected.czxid)}`);
      }
      if (expected.mzxid > 0n && observed.mzxid !== expected.mzxid) {
        problems.push(`${node.path}: mzxid ${hex(observed.mzxid)}, expected ${hex(expected.mzxid)} (its last applied write)`);
      }
    }
    node.effects.forEach((e, i) => {
      noteApplied(e.op, i < prefix, node.path);
      // The version the reply reported is the version the model gives that state.
      const reported = e.op.replyVersions[e.op.effects.findIndex((x) => x.node === node)];
      if (e.op.acked && e.kind === 'set' && reported !== undefined && reported !== null && reported !== along[i + 1]!.version) {
        problems.push(`${node.path}: op${e.op.id} set acknowledged version ${reported}, expected ${along[i + 1]!.version}`);
      }
    });
  }

  // Per session: what was applied is a prefix of what was sent.
  let appliedUnacked = 0;
  for (const w of model.writers) {
    for (const op of w.ops) if (!op.acked && applied.get(op.id) === true) appliedUnacked++;
    let firstMissing: SentOp | null = null;
    for (const op of w.ops) {
      const a = applied.get(op.id);
      if (a === false && firstMissing === null) firstMissing = op;
      if (a === true && firstMissing !== null) {
        problems.push(`writer ${w.index}: op${op.id} ${op.kind} applied, but op${firstMissing.id} ${firstMissing.kind} sent before it on the same session was not`);
        break;
      }
    }
  }

  // Nothing that was never sent: every child is a path we sent a create for.
  const expectChildren = async (parent: string, allowed: (name: string) => boolean): Promise<void> => {
    for (const name of await children(client, parent)) {
      if (!allowed(name)) problems.push(`${parent === '/' ? '' : parent}/${name} exists but was never created by the test`);
    }
  };
  await expectChildren('/', (name) => name === 'zookeeper' || name === 'crash');
  await expectChildren('/crash', (name) => name === 'eph' || /^w\d+$/.test(name));
  for (const w of model.writers) await expectChildren(`/crash/w${w.index}`, (name) => model.nodes.has(`/crash/w${w.index}/${name}`));
  await expectChildren('/crash/eph', (name) => model.nodes.has(`/crash/eph/${name}`));
  return { problems, appliedUnacked };
}

// ---------------------------------------------------------------- one round

interface RoundPlan {
  round: number;
  /** Kill this long after the load started... */
  killAfterMs: number;
  /** ...or as soon as a snapshot.<zxid>.tmp with zxid above this appears (killAfterMs is then the limit). */
  killOnSnapshotAbove: bigint | null;
  /** With killOnSnapshotAbove: wait until the temp file holds about this share of the newest
   * complete snapshot's size (0: kill as soon as it appears). */
  killAtTmpShare: number;
  /** Kill the next start-up this long after spawning it, before the start that is verified. */
  startupKillMs: number | null;
  paddingMax: number;
}

interface RoundReport {
  round: number;
  sent: number;
  acked: number;
  /** Ops applied after the restart though their reply never came (durable before the kill). */
  appliedUnacked: number;
  /** The snapshot.<zxid>.tmp being written when the kill came, and how many bytes it had. */
  killedDuringSnapshot: string | null;
  tmpBytes: number | null;
  startupKilled: boolean;
  restoredFrom: string;
  replayed: number;
  truncatedBytes: number | null;
}

/** Waits for a snapshot.<zxid>.tmp with zxid > above in dir; resolves its name, or null at the deadline. */
function snapshotTmpAppears(dir: string, above: bigint, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | null = null;
    let poll: NodeJS.Timeout | null = null;
    let settled = false;
    const finish = (name: string | null): void => {
      if (settled) return;
      settled = true;
      watcher?.close();
      if (poll !== null) clearInterval(poll);
      clearTimeout(timer);
      resolve(name);
    };
    const check = (name: string): boolean => {
      const m = /^snapshot\.([0-9a-f]+)\.tmp$/.exec(name);
      if (m !== null && BigInt(`0x${m[1]!}`) > above) {
        finish(name);
        return true;
      }
      return false;
    };
    const scan = (): void => {
      try {
        for (const name of readdirSync(dir)) if (check(name)) return;
      } catch {
        // not there yet
      }
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    try {
      watcher = watch(dir, (_event, name) => {
        if (name !== null) check(name.toString());
      });
    } catch {
      watcher = null;
    }
    poll = setInterval(scan, 2);
    scan();
  });
}

function newestSnapshotBytes(dir: string): number {
  let best: { zxid: bigint; bytes: number } | null = null;
  for (const name of readdirSync(dir)) {
    const m = /^snapshot\.([0-9a-f]+)$/.exec(name);
    if (m === null) continue;
    const zxid = BigInt(`0x${m[1]!}`);
    if (best === null || zxid > best.zxid) best = { zxid, bytes: statSync(join(dir, name)).size };
  }
  return best?.bytes ?? 0;
}

/** Polls until `file` holds at least `bytes` bytes, is gone (renamed) or 5 s passed. */
async function tmpGrows(file: string, bytes: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try {
      if (statSync(file).size >= bytes) return;
    } catch {
      return;
    }
    await sleep(1);
  }
}

async function crashRound(server: CrashableServer, model: Model, plan: RoundPlan): Promise<RoundReport> {
  const { round } = plan;
  const sentBefore = model.sent;
  const ackedBefore = model.acked;
  const tmpBefore = new Set(readdirSync(server.snapDir).filter((n) => n.endsWith('.tmp')));
  const load = await startLoad(model, server.port, { round, paddingMax: plan.paddingMax });
  let killedDuringSnapshot: string | null = null;
  if (plan.killOnSnapshotAbove !== null) {
    killedDuringSnapshot = await snapshotTmpAppears(server.snapDir, plan.killOnSnapshotAbove, plan.killAfterMs);
    if (killedDuringSnapshot !== null && plan.killAtTmpShare > 0) {
      await tmpGrows(join(server.snapDir, killedDuringSnapshot), plan.killAtTmpShare * newestSnapshotBytes(server.snapDir));
    }
  } else {
    await sleep(plan.killAfterMs);
  }
  load.killing.value = true;
  markUptime(model, server.current);
  await server.kill();
  if (killedDuringSnapshot !== null && !existsSync(join(server.snapDir, killedDuringSnapshot))) {
    killedDuringSnapshot = null; // the rename won the race: the kill came just after the snapshot
  }
  if (killedDuringSnapshot === null) {
    killedDuringSnapshot = readdirSync(server.snapDir).find((n) => n.endsWith('.tmp') && !tmpBefore.has(n)) ?? null;
  }
  const tmpBytes = killedDuringSnapshot === null ? null : statSync(join(server.snapDir, killedDuringSnapshot)).size;
  await load.done;
  for (const c of load.clients) c.destroy();

  let startupKilled = false;
  if (plan.startupKillMs !== null) {
    server.spawn();
    await sleep(plan.startupKillMs);
    markUptime(model, server.current);
    await server.kill();
    startupKilled = true;
  }
  const inc = await server.start();
  const verifier = await RawClient.connect({ host: HOST, port: server.port, timeOutMs: 30_000 });
  try {
    // Ephemerals first, while their sessions cannot have expired yet.
    const ephemerals = [...model.nodes.values()].filter((n) => n.ephemeral).map((n) => n.path);
    const persistent = [...model.nodes.values()].filter((n) => !n.ephemeral).map((n) => n.path);
    const eph = await readStates(verifier, ephemerals);
    const ephemeralsReadAfterMs = Date.now() - inc.spawnedMs;
    const rest = await readStates(verifier, persistent);
    const states = new Map([...eph.states, ...rest.states]);
    const problems = [...eph.problems, ...rest.problems];
    const checked = await verify(model, verifier, { ephemeralsReadAfterMs }, states);
    problems.push(...checked.problems);

    const zxidAfter = await srvrZxid(server.port);
    if (zxidAfter < model.maxReplyZxid) {
      problems.push(`srvr Zxid after restart is ${hex(zxidAfter)}, below ${hex(model.maxReplyZxid)} that a reply before the kill carried`);
    }
    const probe = await verifier.setData('/crash', `after round ${round}`);
    if (probe.err !== Err.ok) problems.push(`setData /crash after restart: ${errName(probe.err)}`);
    else if (probe.zxid <= model.maxReplyZxid) {
      problems.push(`the first write after restart got zxid ${hex(probe.zxid)}, not above ${hex(model.maxReplyZxid)} acknowledged before the kill`);
    } else model.maxReplyZxid = probe.zxid;

    const restored = logLines(inc.logFile).find((l) => l.msg === 'database restored');
    const truncated = logLines(inc.logFile).find((l) => /torn write/.test(l.msg));
    if (restored === undefined) problems.push(`no "database restored" line in ${inc.logFile}`);
    if (logLines(inc.logFile).some((l) => l.msg === 'tree digest mismatch after restore')) {
      problems.push(`the restored tree's digest differs from the snapshot's (see ${inc.logFile})`);
    }
    else if (BigInt(String(restored['lastZxid'])) < model.maxAckedZxid) {
      problems.push(`restore ended at zxid ${String(restored['lastZxid'])}, below ${hex(model.maxAckedZxid)} acknowledged before the kill`);
    }
    if (problems.length > 0) {
      throw new Error(
        `round ${round}: ${problems.length} problem(s) after kill and restart ` +
          `(sent ${model.sent - sentBefore}, acked ${model.acked - ackedBefore}; server dir ${server.dir}` +
          `${KEEP ? '' : ', removed after the test unless TSZK_KEEP_TMP=1'}):\n  ` +
          problems.slice(0, 25).join('\n  '),
      );
    }
    model.rebase(states);
    return {
      round,
      sent: model.sent - sentBefore,
      acked: model.acked - ackedBefore,
      appliedUnacked: checked.appliedUnacked,
      killedDuringSnapshot,
      tmpBytes,
      startupKilled,
      restoredFrom: String(restored?.['snapshotZxid'] ?? 'none'),
      replayed: Number(restored?.['replayedTxns'] ?? 0),
      truncatedBytes: truncated === undefined ? null : Number(truncated['droppedBytes'] ?? 0),
    };
  } finally {
    await verifier.closeQuietly();
  }
}

/** Called as an incarnation dies: if it lived long enough, any session may have expired in it. */
function markUptime(model: Model, inc: Incarnation | null): void {
  if (inc === null) return;
  if (Date.now() - inc.spawnedMs > SESSION_SAFE_MS) {
    for (const node of model.nodes.values()) if (node.ephemeral) node.mayHaveExpired = true;
  }
}

async function setUp(server: CrashableServer, model: Model): Promise<void> {
  await server.start();
  const client = await RawClient.connect({ host: HOST, port: server.port });
  try {
    for (const path of ['/crash', '/crash/eph', ...model.writers.map((w) => `/crash/w${w.index}`)]) {
      const res = await client.create(path, '');
      if (res.err !== Err.ok) throw new Error(`create ${path}: ${errName(res.err)}`);
      if (res.zxid > model.maxReplyZxid) model.maxReplyZxid = res.zxid;
    }
  } finally {
    await client.closeQuietly();
  }
}

function withSeed<T>(body: () => Promise<T>): Promise<T> {
  return body().catch((error: unknown) => {
    const err = error instanceof Error ? error : new Error(String(error));
    err.message = `[TSZK_CRASH_SEED=${SEED}] ${err.message}`;
    throw err;
  });
}

// ---------------------------------------------------------------- the tests

const servers: CrashableServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.remove();
});

describe('crash recovery under load', () => {
  test(`${ROUNDS} rounds of kill -9 under load, restart, verify`, { timeout: 120_000 }, () =>
    withSeed(async () => {
      const server = await CrashableServer.create({ snapCount: '200', preAllocSize: '64' });
      servers.push(server);
      const model = new Model(WRITERS);
      await setUp(server, model);
      const rng = prng(subSeed(SEED, 0xc0ffee));
      const reports: RoundReport[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const killOnSnapshot = rng() < 0.25;
        const plan: RoundPlan = {
          round,
          killAfterMs: killOnSnapshot ? 3000 : 50 + Math.floor(rng() * 700),
          killOnSnapshotAbove: killOnSnapshot ? model.maxReplyZxid : null,
          killAtTmpShare: 0,
          startupKillMs: rng() < 0.3 ? Math.floor(rng() * 400) : null,
          paddingMax: 1 + Math.floor(rng() * 300),
        };
        reports.push(await crashRound(server, model, plan));
      }
      // After the last round: every ephemeral goes once its session times out.
      const verifier = await RawClient.connect({ host: HOST, port: server.port, timeOutMs: 30_000 });
      try {
        await waitFor(async () => (await children(verifier, '/crash/eph')).length === 0, {
          timeoutMs: SESSION_TIMEOUT_MS * 2 + 4 * TICK_TIME_MS + 2000,
          what: 'the ephemerals of the killed sessions to go after their session timeout',
          detail: () => `ephemerals: ${[...model.nodes.values()].filter((n) => n.ephemeral && !n.retired).length} in the model`,
        });
      } finally {
        await verifier.closeQuietly();
      }
      console.log(
        `crash recovery, seed ${SEED}: ${reports.length} rounds, ${model.sent} ops sent, ${model.acked} acked, ` +
          `${model.nodes.size} paths\n` +
          reports
            .map(
              (r) =>
                `  round ${r.round}: sent ${r.sent} acked ${r.acked} applied-unacked ${r.appliedUnacked}` +
                `${r.killedDuringSnapshot !== null ? `, killed while writing ${r.killedDuringSnapshot} (${r.tmpBytes} bytes)` : ''}` +
                `${r.startupKilled ? ', a start-up killed too' : ''}` +
                `, restored from snapshot ${r.restoredFrom} + ${r.replayed} txns` +
                `${r.truncatedBytes !== null ? `, torn tail of ${r.truncatedBytes} bytes cut` : ''}`,
            )
            .join('\n'),
      );
      expect(model.unexpected).toEqual([]);
      expect(model.acked).toBeGreaterThan(0);
    }),
  );

  test('kill -9 while a snapshot of a 20k-node tree is being written: start-up falls back to the older snapshot and the log', { timeout: 120_000 }, () =>
    withSeed(async () => {
      // snapCount high enough that building the tree takes a few snapshots, not hundreds.
      const server = await CrashableServer.create({ snapCount: '6000', preAllocSize: '4096' });
      servers.push(server);
      const model = new Model(WRITERS);
      await setUp(server, model);
      const build = await startLoad(model, server.port, { round: 1, opsPerWriter: 5000, createsOnly: true, paddingMax: 400 });
      await build.done;
      for (const c of build.clients) await c.closeQuietly();
      expect(model.unexpected).toEqual([]);
      // Everything acked, no kill: the base for the round that kills.
      const reader = await RawClient.connect({ host: HOST, port: server.port, timeOutMs: 30_000 });
      const { states, problems } = await readStates(reader, [...model.nodes.keys()]);
      await reader.closeQuietly();
      expect(problems).toEqual([]);
      expect([...states.values()].filter((s) => s.exists).length).toBe(WRITERS * 5000);
      model.rebase(states);

      // Two kills inside a snapshot of the whole tree: as its temp file appears, and part-way
      // through writing it. A kill that misses (the rename won) is simply another crash round.
      const rng = prng(subSeed(SEED, 0x5a4b534e));
      const wanted = [0, 0.2 + rng() * 0.6];
      const caught: RoundReport[] = [];
      for (let round = 2; round <= 9 && caught.length < wanted.length; round++) {
        const share = wanted[caught.length]!;
        const report = await crashRound(server, model, {
          round,
          killAfterMs: 20_000,
          killOnSnapshotAbove: model.maxReplyZxid,
          killAtTmpShare: share,
          startupKillMs: null,
          paddingMax: 1 + Math.floor(rng() * 200),
        });
        if (report.killedDuringSnapshot === null) continue;
        caught.push(report);
        const tmpZxid = BigInt(`0x${/^snapshot\.([0-9a-f]+)\.tmp$/.exec(report.killedDuringSnapshot)![1]!}`);
        // The snapshot being written was never taken for one: start-up used an older snapshot
        // and replayed the log past the zxid the unfinished one would have covered.
        expect(report.restoredFrom).not.toBe('none');
        expect(BigInt(report.restoredFrom)).toBeLessThan(tmpZxid);
        expect(BigInt(report.restoredFrom) + BigInt(report.replayed)).toBeGreaterThan(tmpZxid);
        console.log(
          `kill during snapshot, seed ${SEED}, round ${round}: killed while writing ${report.killedDuringSnapshot} ` +
            `(${report.tmpBytes} bytes written, aimed at ${Math.round(share * 100)}%); restored from snapshot ` +
            `${report.restoredFrom} + ${report.replayed} txns; sent ${report.sent}, acked ${report.acked}, ` +
            `applied-unacked ${report.appliedUnacked}`,
        );
      }
      expect(caught.length, 'kills that landed inside a snapshot write').toBe(wanted.length);
      expect(caught[1]!.tmpBytes, 'the second kill should come part-way through the write').toBeGreaterThan(0);
      expect(model.unexpected).toEqual([]);
    }),
  );
});
