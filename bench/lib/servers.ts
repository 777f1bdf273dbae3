// Servers for benchmarks: a standalone server or an N-member ensemble of either kind (tszk, or
// Debian's ZooKeeper 3.8) on 127.0.0.1 with free ports, fsync on (forceSync defaults to yes in
// both), fresh temp dataDirs. Each member runs in its own process group with its own directory:
//
//   <baseDir>/<kind>-<n>-XXXX/
//     m<sid>/zoo.cfg   m<sid>/log4j.properties (ZooKeeper)   m<sid>/server.log   m<sid>/data/myid
//
// Also: peak RSS and CPU seconds of each member per phase (ResourceSampler, from /proc), kill -9 of
// a member, and the leader as `srvr` reports it.
//
// tszk is this checkout's dist/cli/main.js run by this node. ZooKeeper is Debian's `zookeeper`
// package: `java` from PATH with zookeeper.jar, slf4j-log4j12.jar and log4j-1.2.jar from
// /usr/share/java (TSZK_BENCH_JAVA_DIR names another directory holding those three jars).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverLaunch, usableSnapshot } from '../../src/cli/launch.js';
import { LOG4J_PROPERTIES } from '../../test/support/log4j.js';
import { sendFourLetterWord } from '../../src/cli/four-letter-client.js';
import { JuteReader } from '../../src/jute/reader.js';
import { JuteWriter } from '../../src/jute/writer.js';
import { readConnectResponse, writeConnectRequest } from '../../src/proto/records.js';

export type ServerKind = 'tszk' | 'zookeeper';
export const SERVER_KINDS: readonly ServerKind[] = ['tszk', 'zookeeper'];
export type Mode = 'leader' | 'follower' | 'observer' | 'standalone';

const HOST = '127.0.0.1';

/** What a bench says about how to run tszk's node. */
interface TszkNodeOptions {
  tszkCpuProfDir?: string | undefined;
  tszkNodeOptions?: string | undefined;
}

/** The node options a bench gives tszk: --cpu-prof and --tszk-node-options. */
export function tszkNodeArgs(o: TszkNodeOptions): string[] {
  const prof = o.tszkCpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', o.tszkCpuProfDir];
  return [...prof, ...(o.tszkNodeOptions ?? '').split(/\s+/).filter((x) => x !== '')];
}

/** How the report describes the way tszk was started. */
export function tszkStartedFrom(o: TszkNodeOptions): string {
  const args = tszkNodeArgs(o);
  const from = usableSnapshot(repoRoot(), process.env, args) === null ? 'started from dist/cli/main.js' : 'started from its startup snapshot, as bin/tszk starts it';
  return args.length === 0 ? `Node's defaults, ${from}` : `node ${args.join(' ')}, ${from}`;
}

/** The checkout: the nearest directory above this file whose package.json is tszk's. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tszk') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the tszk checkout above this script');
    dir = up;
  }
}

/** Where Debian puts the jars ZooKeeper runs from. */
export const ZK_JAVA_DIR = process.env['TSZK_BENCH_JAVA_DIR'] ?? '/usr/share/java';
const ZK_JAR_NAMES = ['zookeeper.jar', 'slf4j-log4j12.jar', 'log4j-1.2.jar'];
const ZK_JARS = ZK_JAR_NAMES.map((jar) => join(ZK_JAVA_DIR, jar));
export const ZK_CLASSPATH = ZK_JARS.join(':');
/** What installs them (the zookeeper package pulls in a Java runtime too). */
export const ZK_INSTALL = 'sudo apt-get update && sudo apt-get install -y --no-install-recommends zookeeper libslf4j-java liblog4j1.2-java';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- process groups to clean up

const live = new Set<number>();
function killLive(): void {
  for (const pgid of live) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  live.clear();
}
process.once('exit', killLive);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killLive();
    process.exit(130);
  });
}

// ---------------------------------------------------------------- ports

/** `count` distinct free ports on 127.0.0.1, held open together so none repeats. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    await Promise.all(servers.map((s) => new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen({ host: HOST, port: 0, exclusive: true }, () => resolve());
    })));
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
  }
}

// ---------------------------------------------------------------- options

export interface ClusterOptions {
  kind: ServerKind;
  /** 1: standalone (no server.N lines); 3, 5...: an ensemble. */
  size: number;
  /** Where the temp dirs go; default os.tmpdir(). */
  baseDir?: string;
  tickTimeMs?: number;
  initLimit?: number;
  syncLimit?: number;
  /** ZooKeeper's -Xms/-Xmx in MiB; 0: the JVM's default (Debian's zkServer.sh sets none). */
  zkHeapMb?: number;
  /** Extra node options for tszk, on its command line (so --trace-gc and friends work too). */
  tszkNodeOptions?: string;
  /** node --cpu-prof into this dir (tszk). */
  tszkCpuProfDir?: string;
  /** Extra zoo.cfg settings; they override the defaults. */
  extraConfig?: Record<string, string>;
  /** TSZK_LOG_LEVEL; default info. */
  tszkLogLevel?: string;
  /** Fills a member's (empty) dataDir before it starts, e.g. with a prepared snapshot and txn log. */
  initDataDir?: (dataDir: string) => Promise<void>;
}

export interface MemberSpec {
  sid: number;
  clientPort: number;
  quorumPort: number;
  electionPort: number;
  dir: string;
  dataDir: string;
  configFile: string;
  logFile: string;
}

// ---------------------------------------------------------------- one server process

export class Member {
  readonly kind: ServerKind;
  readonly spec: MemberSpec;
  readonly options: ClusterOptions;
  child: ChildProcess | null = null;
  pid = 0;
  /** performance.now() at the last spawn. */
  spawnedAt = 0;
  #exited: Promise<void> = Promise.resolve();
  #running = false;

  constructor(kind: ServerKind, spec: MemberSpec, options: ClusterOptions) {
    this.kind = kind;
    this.spec = spec;
    this.options = options;
  }

  get sid(): number {
    return this.spec.sid;
  }
  get clientPort(): number {
    return this.spec.clientPort;
  }
  get address(): string {
    return `${HOST}:${this.spec.clientPort}`;
  }
  get running(): boolean {
    return this.#running;
  }
  get logFile(): string {
    return this.spec.logFile;
  }

  start(): void {
    if (this.#running) throw new Error(`${this.kind} ${this.sid} is already running`);
    const out = openSync(this.spec.logFile, 'a');
    let command: string;
    let argv: string[];
    const o = this.options;
    if (this.kind === 'tszk') {
      // As bin/tszk starts it: from the startup snapshot when the build made one (and no node
      // options are given).
      ({ command, args: argv } = serverLaunch(repoRoot(), this.spec.configFile, tszkNodeArgs(o)));
    } else {
      command = 'java';
      const heapMb = o.zkHeapMb ?? 1024;
      const heap = heapMb > 0 ? [`-Xms${heapMb}m`, `-Xmx${heapMb}m`] : [];
      argv = [
        ...heap, '-Duser.timezone=UTC', '-cp', ZK_CLASSPATH, `-Dlog4j.configuration=file:${join(this.spec.dir, 'log4j.properties')}`,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain', this.spec.configFile,
      ];
    }
    this.spawnedAt = performance.now();
    const child = spawn(command, argv, {
      cwd: this.spec.dir,
      detached: true,
      stdio: ['ignore', out, out],
      env: {
        ...process.env, TZ: 'UTC', TSZK_LOG_LEVEL: o.tszkLogLevel ?? 'info',
      },
    });
    closeSync(out);
    if (child.pid === undefined) throw new Error(`could not start ${this.kind} ${this.sid}`);
    this.child = child;
    this.pid = child.pid;
    this.#running = true;
    live.add(child.pid);
    this.#exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        this.#running = false;
        live.delete(child.pid!);
        resolve();
      }),
    );
  }

  get exited(): Promise<void> {
    return this.#exited;
  }

  /** SIGKILL to the process group; resolves when the process is gone. */
  async kill9(): Promise<void> {
    if (!this.#running) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // gone
    }
    await this.#exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.#running) return;
    try {
      process.kill(-this.pid, 'SIGTERM');
    } catch {
      // gone
    }
    const graceful = await Promise.race([this.#exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!graceful) await this.kill9();
  }

  async fourLetter(word: string, timeoutMs = 2000): Promise<string | null> {
    try {
      return await sendFourLetterWord(HOST, this.spec.clientPort, word, { idleTimeoutMs: timeoutMs });
    } catch {
      return null;
    }
  }

  /** What `srvr` says after "Mode: ", null when it names none (not serving, or no answer). */
  async mode(): Promise<Mode | null> {
    const reply = await this.fourLetter('srvr');
    const m = reply === null ? undefined : /^Mode: (\S+)/m.exec(reply)?.[1];
    return m === 'leader' || m === 'follower' || m === 'observer' || m === 'standalone' ? m : null;
  }

  /** Opens a session and closes it again; true when the server granted one. */
  servesSessions(timeoutMs = 3000): Promise<boolean> {
    return probeSession(HOST, this.spec.clientPort, timeoutMs);
  }

  logText(): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** The last `chars` characters of the log, for an error message. */
  logTail(chars = 1500): string {
    const text = this.logText();
    return text.length > chars ? `...${text.slice(-chars)}` : text;
  }
}

// ---------------------------------------------------------------- a session probe

/**
 * Connects, asks for a new session, and closes it (closeSession, then the socket). Resolves true
 * when a session was granted within `timeoutMs`, false otherwise (refused, closed, silent).
 */
export function probeSession(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    let buffered = Buffer.alloc(0);
    const socket = connect({ host, port, noDelay: true });
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (ok) {
        // closeSession: xid 1, type -11, no body; then close without waiting for the reply.
        const w = new JuteWriter(64);
        w.startFrame();
        w.writeInt(1);
        w.writeInt(-11);
        w.endFrame();
        socket.end(w.toBuffer());
        setTimeout(() => socket.destroy(), 500).unref();
      } else socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => {
      const w = new JuteWriter(128);
      w.startFrame();
      writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0n, timeOut: 10_000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false, readOnlyPresent: true });
      w.endFrame();
      socket.write(w.toBuffer());
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      const len = buffered.readInt32BE(0);
      if (buffered.length < 4 + len) return;
      try {
        const resp = readConnectResponse(new JuteReader(buffered, 4, 4 + len));
        finish(resp.timeOut > 0 && resp.sessionId !== 0n);
      } catch {
        finish(false);
      }
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

// ---------------------------------------------------------------- clusters

export class Cluster {
  readonly kind: ServerKind;
  readonly dir: string;
  readonly members: Member[];
  readonly options: ClusterOptions;

  constructor(kind: ServerKind, dir: string, members: Member[], options: ClusterOptions) {
    this.kind = kind;
    this.dir = dir;
    this.members = members;
    this.options = options;
  }

  get standalone(): boolean {
    return this.members.length === 1;
  }

  /** host:port of every member, in sid order. */
  addresses(): string[] {
    return this.members.map((m) => m.address);
  }

  member(sid: number): Member {
    const m = this.members.find((x) => x.sid === sid);
    if (m === undefined) throw new Error(`no member ${sid}`);
    return m;
  }

  running(): Member[] {
    return this.members.filter((m) => m.running);
  }

  /** Modes of the running members, as `srvr` says. */
  async modes(): Promise<Map<number, Mode | null>> {
    const members = this.running();
    const modes = await Promise.all(members.map((m) => m.mode()));
    return new Map(members.map((m, i) => [m.sid, modes[i] ?? null]));
  }

  /**
   * Waits until exactly one running member says leader (or the one says standalone), every
   * other running member says follower, and each of them grants a session. Returns the leader.
   */
  async waitServing(timeoutMs = 60_000): Promise<Member> {
    const deadline = performance.now() + timeoutMs;
    let last = '';
    while (performance.now() < deadline) {
      const crashed = this.members.filter((m) => !m.running && m.child !== null && !this.#downOnPurpose.has(m.sid));
      if (crashed.length > 0) throw new Error(`${this.kind} member(s) ${crashed.map((m) => m.sid).join(',')} exited:\n${this.logTails()}`);
      const modes = await this.modes();
      last = [...modes].map(([sid, mode]) => `${sid}=${String(mode)}`).join(' ');
      const leaders = [...modes].filter(([, mode]) => mode === 'leader' || mode === 'standalone');
      const settled = leaders.length === 1 && [...modes].every(([, mode]) => mode !== null);
      if (settled) {
        const serving = await Promise.all(this.running().map((m) => m.servesSessions()));
        if (serving.every(Boolean)) return this.member(leaders[0]![0]);
      }
      await sleep(100);
    }
    throw new Error(`${this.kind}: no settled leader within ${timeoutMs} ms (modes: ${last})\n${this.logTails()}`);
  }

  /** The member `srvr` names leader (waiting up to timeoutMs for exactly one). */
  async leader(timeoutMs = 30_000): Promise<Member> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const modes = await this.modes();
      const leaders = [...modes].filter(([, mode]) => mode === 'leader' || mode === 'standalone');
      if (leaders.length === 1) return this.member(leaders[0]![0]);
      await sleep(100);
    }
    throw new Error(`${this.kind}: no single leader within ${timeoutMs} ms`);
  }

  readonly #downOnPurpose = new Set<number>();

  async kill9(sid: number): Promise<void> {
    this.#downOnPurpose.add(sid);
    await this.member(sid).kill9();
  }

  /** Starts a member that is down again (same config and data). */
  restart(sid: number): void {
    this.#downOnPurpose.delete(sid);
    this.member(sid).start();
  }

  logTails(chars = 1500): string {
    return this.members.map((m) => `--- ${this.kind} ${m.sid} (${m.running ? 'running' : 'down'}) ${m.logFile}\n${m.logTail(chars)}`).join('\n');
  }

  /** Stops every member (SIGTERM, SIGKILL after `graceMs`) and removes the dirs unless `keep`. */
  async stop(keep = false, graceMs = 10_000): Promise<void> {
    for (const m of this.members) this.#downOnPurpose.add(m.sid);
    await Promise.all(this.members.map((m) => m.stop(graceMs)));
    if (!keep) await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

function configText(o: ClusterOptions, self: MemberSpec, all: readonly MemberSpec[]): string {
  const settings = new Map<string, string>([
    ['tickTime', String(o.tickTimeMs ?? 2000)],
    ['dataDir', self.dataDir],
    ['clientPort', String(self.clientPort)],
    ['clientPortAddress', HOST],
    ['admin.enableServer', 'false'],
    ['4lw.commands.whitelist', '*'],
    ['maxClientCnxns', '0'],
  ]);
  if (all.length > 1) {
    settings.set('initLimit', String(o.initLimit ?? 10));
    settings.set('syncLimit', String(o.syncLimit ?? 5));
  }
  for (const [k, v] of Object.entries(o.extraConfig ?? {})) settings.set(k, v);
  const lines = [...settings].map(([k, v]) => `${k}=${v}`);
  if (all.length > 1) for (const m of all) lines.push(`server.${m.sid}=${HOST}:${m.quorumPort}:${m.electionPort}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Throws, saying what to do, unless every kind can start here: tszk needs a built dist/, ZooKeeper
 * `java` and its three jars. Benches call it before their first run, not minutes into one.
 */
export function requireServers(kinds: readonly ServerKind[]): void {
  const missing: string[] = [];
  if (kinds.includes('tszk') && !existsSync(join(repoRoot(), 'dist', 'cli', 'main.js'))) {
    missing.push('tszk is not built: dist/cli/main.js is missing. Build it with: npx tsc -p tsconfig.json (or npm run bench:build)');
  }
  if (kinds.includes('zookeeper')) {
    const jars = ZK_JARS.filter((jar) => !existsSync(jar));
    let java = true;
    try {
      execFileSync('java', ['-version'], { stdio: 'ignore' });
    } catch {
      java = false;
    }
    if (jars.length > 0 || !java) {
      const what = [...jars, ...(java ? [] : ['java (not on PATH)'])].join(', ');
      missing.push(`ZooKeeper 3.8 (Debian's zookeeper package) is missing: ${what}. Install it with:\n  ${ZK_INSTALL}\n` +
        '(not zookeeperd, which starts a system service on port 2181), or set TSZK_BENCH_JAVA_DIR to a directory holding ' +
        `${ZK_JAR_NAMES.join(', ')}; or run tszk alone with --only tszk.`);
    }
  }
  if (missing.length > 0) throw new MissingServerError(missing.join('\n'));
}

export class MissingServerError extends Error {
  readonly code = 'BENCH_MISSING_SERVER';
}

/** requireServers for a bench's start: says what is missing on stderr, without a stack, and exits 1. */
export function exitUnlessServers(kinds: readonly ServerKind[]): void {
  try {
    requireServers(kinds);
  } catch (error) {
    if (!(error instanceof MissingServerError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

/** Writes the configs and starts every member, without waiting: call waitServing(). */
export async function launchCluster(o: ClusterOptions): Promise<Cluster> {
  requireServers([o.kind]);
  const dir = await mkdtemp(join(o.baseDir ?? tmpdir(), `tszk-bench-${o.kind}-${o.size}-`));
  const ports = await freePorts(o.size * 3);
  const specs: MemberSpec[] = [];
  for (let i = 0; i < o.size; i++) {
    const mdir = join(dir, `m${i + 1}`);
    specs.push({
      sid: i + 1,
      clientPort: ports[i * 3]!,
      quorumPort: ports[i * 3 + 1]!,
      electionPort: ports[i * 3 + 2]!,
      dir: mdir,
      dataDir: join(mdir, 'data'),
      configFile: join(mdir, 'zoo.cfg'),
      logFile: join(mdir, 'server.log'),
    });
  }
  for (const spec of specs) {
    await mkdir(spec.dataDir, { recursive: true });
    if (o.initDataDir !== undefined) await o.initDataDir(spec.dataDir);
    await writeFile(spec.configFile, configText(o, spec, specs));
    await writeFile(join(spec.dir, 'log4j.properties'), LOG4J_PROPERTIES);
    if (o.size > 1) await writeFile(join(spec.dataDir, 'myid'), `${spec.sid}\n`);
  }
  const members = specs.map((spec) => new Member(o.kind, spec, o));
  for (const m of members) m.start();
  return new Cluster(o.kind, dir, members, o);
}

/** Starts a cluster and waits until it serves (retrying on a port taken in between). */
export async function startCluster(o: ClusterOptions, timeoutMs = 90_000): Promise<Cluster> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const cluster = await launchCluster(o);
    try {
      await cluster.waitServing(timeoutMs);
      return cluster;
    } catch (error) {
      lastError = error;
      const taken = cluster.members.some((m) => /address already in use|EADDRINUSE|BindException/i.test(m.logText()));
      await cluster.stop();
      if (!taken) throw error;
    }
  }
  throw lastError;
}

// ---------------------------------------------------------------- resources from /proc

let clockTicksPerSec = 0;

/** User + system CPU time of a process (all threads) so far, ms; NaN when it is gone. */
export function cpuMsOf(pid: number): number {
  if (clockTicksPerSec === 0) clockTicksPerSec = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime is field 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSec;
  } catch {
    return NaN;
  }
}

/** VmRSS and VmHWM (lifetime peak) in MiB; NaN when the process is gone. */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMiB: NaN, hwmMiB: NaN };
  }
}

export interface MemberUsage {
  sid: number;
  pid: number;
  /** CPU used during the phase, ms (up to the kill for a member killed in it). */
  cpuMs: number;
  /** Highest VmRSS seen while sampling, MiB. */
  peakRssMiB: number;
  /** VmHWM at the end (lifetime peak), MiB. */
  hwmMiB: number;
}

/** Samples every running member's CPU and RSS while a phase runs. */
export class ResourceSampler {
  readonly #members: { sid: number; pid: number; cpu0: number; lastCpu: number; peakRss: number; hwm: number }[];
  readonly #timer: NodeJS.Timeout;

  constructor(members: readonly Member[], intervalMs = 100) {
    this.#members = members
      .filter((m) => m.running)
      .map((m) => ({ sid: m.sid, pid: m.pid, cpu0: cpuMsOf(m.pid), lastCpu: cpuMsOf(m.pid), peakRss: memoryOf(m.pid).rssMiB, hwm: NaN }));
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  #sample(): void {
    for (const m of this.#members) {
      const cpu = cpuMsOf(m.pid);
      if (Number.isNaN(cpu)) continue; // killed: keep the last reading
      m.lastCpu = cpu;
      const mem = memoryOf(m.pid);
      // A process that just died reads as NaN: keep what was seen before.
      if (!Number.isNaN(mem.rssMiB) && !(mem.rssMiB <= m.peakRss)) m.peakRss = mem.rssMiB;
      if (!Number.isNaN(mem.hwmMiB)) m.hwm = mem.hwmMiB;
    }
  }

  stop(): MemberUsage[] {
    this.#sample();
    clearInterval(this.#timer);
    return this.#members.map((m) => ({ sid: m.sid, pid: m.pid, cpuMs: m.lastCpu - m.cpu0, peakRssMiB: m.peakRss, hwmMiB: m.hwm }));
  }
}

// ---------------------------------------------------------------- what the servers log

export interface LogLine {
  sid: number;
  level: 'warn' | 'error' | 'fatal';
  /** Wall ms, NaN when the line has no time. */
  time: number;
  text: string;
}

/** WARN and worse lines of a member's log since byte `from`: tszk's pino JSON, ZooKeeper's log4j. */
export function problemLines(member: Member, from = 0): LogLine[] {
  const text = member.logText().slice(from);
  const out: LogLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    if (member.kind === 'tszk') {
      if (!line.startsWith('{')) {
        // Not pino: the CLI's "Using config:" banner, or an uncaught exception / Node warning on stderr.
        if (!line.startsWith('Using config:')) out.push({ sid: member.sid, level: 'warn', time: NaN, text: line.slice(0, 400) });
        continue;
      }
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const level = Number(rec['level']);
      if (level < 40) continue;
      out.push({ sid: member.sid, level: level >= 60 ? 'fatal' : level >= 50 ? 'error' : 'warn', time: typeof rec['time'] === 'number' ? rec['time'] : Date.parse(String(rec['time'])), text: line.slice(0, 600) });
    } else {
      const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3}) (WARN|ERROR|FATAL) /.exec(line);
      if (m === null) continue;
      // An ERROR's exception (e.g. java.lang.OutOfMemoryError) is on the next, untimed line.
      const next = lines[i + 1] ?? '';
      const cause = m[4] !== 'WARN' && next !== '' && !/^\d{4}-\d\d-\d\d /.test(next) ? ` | ${next.trim().slice(0, 200)}` : '';
      out.push({
        sid: member.sid,
        level: m[4] === 'WARN' ? 'warn' : m[4] === 'ERROR' ? 'error' : 'fatal',
        time: Date.parse(`${m[1]}T${m[2]}.${m[3]}Z`),
        text: line.slice(0, 400) + cause,
      });
    }
  }
  return out;
}

/** Characters in a member's log now: pass to problemLines to read only what came after. */
export function logSize(member: Member): number {
  return member.logText().length;
}

// ---------------------------------------------------------------- cold start

/**
 * Spawn to the first granted session, ms. A new probe starts every `pollMs` without waiting for
 * earlier ones: ZooKeeper 3.8 accepts connections while it starts and may leave one hanging (closing
 * it fails before the database exists), so waiting for each attempt to fail would measure the
 * probe's timeout, not the server. At most `maxPending` probes are open at once.
 */
export async function firstSessionMs(member: Member, o: { timeoutMs?: number; pollMs?: number; maxPending?: number } = {}): Promise<number> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const deadline = member.spawnedAt + timeoutMs;
  let grantedAt: number | null = null;
  const attempts: Promise<void>[] = [];
  let pending = 0;
  while (grantedAt === null && performance.now() < deadline && member.running) {
    if (pending < (o.maxPending ?? 200)) {
      pending++;
      attempts.push(
        probeSession(HOST, member.clientPort, 3000).then((ok) => {
          pending--;
          if (ok && grantedAt === null) grantedAt = performance.now();
        }),
      );
    }
    await sleep(o.pollMs ?? 10);
  }
  await Promise.all(attempts);
  if (grantedAt === null) {
    const why = member.running ? `gave no session within ${timeoutMs} ms` : 'exited during start-up';
    throw new Error(`${member.kind} ${member.sid} ${why}; log:\n${member.logTail(3000)}`);
  }
  return grantedAt - member.spawnedAt;
}
