// An ensemble of real server processes, all of one kind: the Java reference (Debian's ZooKeeper
// 3.8) or tszk. Every member has its own directory, its own process group and its own log:
//
//   <tmp>/tszk-ensemble-<kind>-XXXX/
//     m<sid>/zoo.cfg            tickTime, initLimit, syncLimit, clientPort, dataDir, server.N lines
//     m<sid>/log4j.properties   (reference) the server logs to stderr, i.e. to server.log
//     m<sid>/server.log         stdout and stderr of every run of that member, appended
//     m<sid>/data/myid
//
// A member's zoo.cfg names every member as `server.N=host:quorumPort:electionPort[:observer]`
// (an observer also says `peerType=observer`). Ports come from freePorts(); a start that fails
// because a port was taken in between is retried with new ports.
//
// Nothing here waits with a sleep: readiness is polled with `srvr` (which names a Mode only while
// the server serves: "This ZooKeeper instance is not currently serving requests" otherwise) and a
// real session (probeSession). Failures quote the members' last modes and log tails;
// TSZK_KEEP_TMP=1 keeps the directory after stop().
//
// After the harness, withMemberClient/syncedChildren read one member alone (RawClient, with sync)
// to compare servers; the tests' workloads use ZkSession (zk-session.ts), a client that fails over.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { fourLetterWord, parseFourLetterFields } from './four-letter.js';
import { freePorts } from './ports.js';
import { detectReference, missingReferenceMessage, ReferenceMissingError } from './reference.js';
import { RawClient } from './raw-client.js';
import { waitFor } from './wait.js';
import {
  LOG4J_PROPERTIES,
  REPO_ROOT,
  tszkServerCommand,
  exited,
  logTail,
  probeSession,
  referenceServerArgs,
  stopGroup,
  trackProcessGroup,
  untrackProcessGroup,
  type TargetKind,
} from './zk-server.js';

export type QuorumRole = 'participant' | 'observer';
/** What `srvr` says after "Mode: " (null when it names none: not serving, or no answer). */
export type ServerMode = 'leader' | 'follower' | 'observer' | 'standalone' | 'read-only';

const LOCALHOST = '127.0.0.1';
const START_ATTEMPTS = 3;
const DEFAULT_QUORUM_TIMEOUT_MS = 60_000;
const DEFAULT_RESTART_TIMEOUT_MS = 60_000;
/** Heap of one reference server: plenty for tests, and four of them fit beside a second test file. */
const REFERENCE_HEAP_MAX_MB = 256;
const FOUR_LETTER_TIMEOUT_MS = 1500;
const LOG_TAIL_CHARS = 2500;

export class EnsembleError extends Error {
  readonly code = 'ENSEMBLE';
  constructor(message: string) {
    super(message);
    this.name = 'EnsembleError';
  }
}

const keepTmp = (): boolean => process.env['TSZK_KEEP_TMP'] === '1';

// Ensemble directories not removed yet: removed when this process exits, even if no afterAll ran
// (zk-server.ts kills the process groups on the same occasion).
const liveDirs = new Set<string>();
process.once('exit', () => {
  if (keepTmp()) return;
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

// ---------------------------------------------------------------------------------------------
// Config

/** Where one member listens and keeps its files. */
export interface MemberSpec {
  sid: number;
  role: QuorumRole;
  /** The address tests reach its client port at. */
  host: string;
  /** The address other members reach its quorum and election ports at (the server.N line). */
  peerHost: string;
  clientPort: number;
  quorumPort: number;
  electionPort: number;
  /** The member's own directory (working directory of its process). */
  dir: string;
  dataDir: string;
  configFile: string;
  logFile: string;
  /** Runs the server under this command, e.g. ['ip', 'netns', 'exec', 'ns1']. */
  commandPrefix?: readonly string[];
}

export interface TimingOptions {
  /** Default 200 ms: elections, syncs and session timeouts all scale with it. */
  tickTimeMs?: number;
  /** In ticks; default 10. */
  initLimitTicks?: number;
  /** In ticks; default 5. */
  syncLimitTicks?: number;
}

/** The `server.N=...` line that names `member` in every member's config. */
export function serverLine(member: Pick<MemberSpec, 'sid' | 'role' | 'peerHost' | 'quorumPort' | 'electionPort'>): string {
  const suffix = member.role === 'observer' ? ':observer' : '';
  return `server.${member.sid}=${member.peerHost}:${member.quorumPort}:${member.electionPort}${suffix}`;
}

/** zoo.cfg of `self` in an ensemble of `members`; `extraConfig` adds or overrides settings. */
export function ensembleConfigText(
  self: MemberSpec,
  members: readonly MemberSpec[],
  timing: TimingOptions = {},
  extraConfig: Record<string, string> = {},
): string {
  const settings = new Map<string, string>([
    ['tickTime', String(timing.tickTimeMs ?? 200)],
    ['initLimit', String(timing.initLimitTicks ?? 10)],
    ['syncLimit', String(timing.syncLimitTicks ?? 5)],
    ['dataDir', self.dataDir],
    ['clientPort', String(self.clientPort)],
    ['admin.enableServer', 'false'],
    ['4lw.commands.whitelist', '*'],
  ]);
  if (self.role === 'observer') settings.set('peerType', 'observer');
  for (const [key, value] of Object.entries(extraConfig)) settings.set(key, value);
  const lines = [...settings].map(([key, value]) => `${key}=${value}`);
  for (const member of members) lines.push(serverLine(member));
  return lines.join('\n') + '\n';
}

/** Writes what a member needs besides its zoo.cfg: dataDir/myid and (for the reference) log4j. */
export async function prepareMemberDir(spec: MemberSpec): Promise<void> {
  await mkdir(spec.dataDir, { recursive: true });
  await writeFile(join(spec.dataDir, 'myid'), `${spec.sid}\n`);
  await writeFile(join(spec.dir, 'log4j.properties'), LOG4J_PROPERTIES);
}

// ---------------------------------------------------------------------------------------------
// One member

function modeOf(srvr: string): ServerMode | null {
  const mode = /^Mode: (\S+)/m.exec(srvr)?.[1];
  switch (mode) {
    case 'leader':
    case 'follower':
    case 'observer':
    case 'standalone':
    case 'read-only':
      return mode;
    default:
      return null;
  }
}

/** `mntr` lines (`zk_key<TAB>value`) into a map. */
export function parseMntr(reply: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of reply.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) fields.set(line.slice(0, tab), line.slice(tab + 1).trim());
  }
  return fields;
}

export class EnsembleMember {
  readonly kind: TargetKind;
  readonly spec: MemberSpec;
  /** What mode() saw last, for diagnostics: undefined before the first look. */
  lastMode: ServerMode | null | undefined;
  #child: ChildProcess | undefined;
  /** True while this member is down on purpose (killed or stopped by the harness). */
  #downOnPurpose = true;
  #runs = 0;

  constructor(kind: TargetKind, spec: MemberSpec) {
    this.kind = kind;
    this.spec = spec;
  }

  get sid(): number {
    return this.spec.sid;
  }
  get role(): QuorumRole {
    return this.spec.role;
  }
  get host(): string {
    return this.spec.host;
  }
  get clientPort(): number {
    return this.spec.clientPort;
  }
  get connectString(): string {
    return `${this.spec.host}:${this.spec.clientPort}`;
  }
  get dataDir(): string {
    return this.spec.dataDir;
  }
  get configFile(): string {
    return this.spec.configFile;
  }
  get logFile(): string {
    return this.spec.logFile;
  }
  /** The pid of the running server process (its process group), undefined when down. */
  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }
  get running(): boolean {
    return this.#child !== undefined && !exited(this.#child);
  }
  /** True when the process ended without the harness ending it. */
  get crashed(): boolean {
    return !this.#downOnPurpose && !this.running;
  }

  #command(): { command: string; args: string[] } {
    let command: string;
    let args: string[];
    if (this.kind === 'reference') {
      const install = detectReference();
      if (!install.available || install.java === undefined) throw new ReferenceMissingError(missingReferenceMessage(install));
      command = install.java;
      args = referenceServerArgs(this.spec.configFile, join(this.spec.dir, 'log4j.properties'), { heapMaxMb: REFERENCE_HEAP_MAX_MB });
    } else {
      ({ command, args } = tszkServerCommand(this.spec.configFile));
    }
    const prefix = this.spec.commandPrefix ?? [];
    const [first, ...rest] = prefix;
    return first === undefined ? { command, args } : { command: first, args: [...rest, command, ...args] };
  }

  /** Starts the server process (not waiting for it to serve). */
  start(): void {
    if (this.running) throw new EnsembleError(`server ${this.sid} is already running (pid ${String(this.pid)})`);
    this.#runs += 1;
    appendFileSync(this.spec.logFile, `\n--- tszk-test: run ${this.#runs} of server ${this.sid} starts at ${new Date().toISOString()} ---\n`);
    const { command, args } = this.#command();
    const logFd = openSync(this.spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, { cwd: this.spec.dir, detached: true, stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    child.on('error', (error) => appendFileSync(this.spec.logFile, `--- tszk-test: spawn failed: ${error.message} ---\n`));
    if (child.pid !== undefined) trackProcessGroup(child.pid);
    this.#child = child;
    this.#downOnPurpose = false;
  }

  /** SIGKILL to the whole process group; resolves once the server has exited. */
  async kill9(): Promise<void> {
    const child = this.#child;
    this.#downOnPurpose = true;
    if (child?.pid === undefined) return;
    const pid = child.pid;
    const gone = exited(child) ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await gone;
    untrackProcessGroup(pid);
    appendFileSync(this.spec.logFile, `\n--- tszk-test: server ${this.sid} killed with SIGKILL at ${new Date().toISOString()} ---\n`);
  }

  /** SIGTERM, SIGKILL after a grace period; resolves once the server has exited. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#downOnPurpose = true;
    if (child === undefined) return;
    await stopGroup(child);
  }

  /** The reply to a four-letter word, '' when there is none. */
  fourLetter(word: string, timeoutMs = FOUR_LETTER_TIMEOUT_MS): Promise<string> {
    return fourLetterWord(this.spec.host, this.spec.clientPort, word, { timeoutMs }).catch(() => '');
  }

  /** The Mode `srvr` names, or null (not serving, or no answer). */
  async mode(): Promise<ServerMode | null> {
    const mode = modeOf(await this.fourLetter('srvr'));
    this.lastMode = mode;
    return mode;
  }

  /** `srvr` as fields ("Zxid" -> "0x100000003", "Mode" -> "leader", ...). */
  async srvr(): Promise<Map<string, string>> {
    return parseFourLetterFields(await this.fourLetter('srvr'));
  }

  /** `mntr` as fields ("zk_server_state" -> "leader", ...). */
  async mntr(): Promise<Map<string, string>> {
    return parseMntr(await this.fourLetter('mntr'));
  }

  /** True when the member serves a real session (open and close one). */
  servesSessions(): Promise<boolean> {
    return probeSession(this.spec.host, this.spec.clientPort, 2000);
  }

  logTail(chars = LOG_TAIL_CHARS): string {
    return logTail(this.spec.logFile, chars);
  }

  describe(chars = LOG_TAIL_CHARS): string {
    const state = this.running ? `pid ${String(this.pid)}` : this.crashed ? 'EXITED ON ITS OWN' : 'down';
    return `--- server ${this.sid} (${this.role}, ${this.connectString}, ${state}, last mode ${String(this.lastMode)}) log ${this.spec.logFile}:\n${this.logTail(chars)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The ensemble

export interface WaitOptions {
  timeoutMs?: number;
}

export interface Convergence {
  zxid: string;
  nodeCount: string;
}

export class Ensemble {
  readonly kind: TargetKind;
  /** The directory holding every member's directory. */
  readonly dir: string;
  readonly servers: readonly EnsembleMember[];
  #ownsDir: boolean;
  #stopped = false;

  constructor(kind: TargetKind, dir: string, servers: readonly EnsembleMember[], options: { ownsDir: boolean }) {
    this.kind = kind;
    this.dir = dir;
    this.servers = servers;
    this.#ownsDir = options.ownsDir;
    if (options.ownsDir) liveDirs.add(dir);
  }

  /** Every member, observers included: host:port,host:port,... */
  get connectString(): string {
    return this.servers.map((member) => member.connectString).join(',');
  }

  get participants(): EnsembleMember[] {
    return this.servers.filter((member) => member.role === 'participant');
  }

  get observers(): EnsembleMember[] {
    return this.servers.filter((member) => member.role === 'observer');
  }

  member(sid: number): EnsembleMember {
    const found = this.servers.find((member) => member.sid === sid);
    if (!found) throw new EnsembleError(`no server ${sid} in this ensemble (servers ${this.servers.map((m) => m.sid).join(', ')})`);
    return found;
  }

  running(): EnsembleMember[] {
    return this.servers.filter((member) => member.running);
  }

  #checkNoCrash(): void {
    const crashed = this.servers.filter((member) => member.crashed);
    if (crashed.length > 0) {
      throw new EnsembleError(
        `${this.kind} server(s) ${crashed.map((m) => m.sid).join(', ')} exited on their own\n${crashed.map((m) => m.describe()).join('\n')}`,
      );
    }
  }

  /**
   * Waits until the running members form a quorum that serves: exactly one says Mode: leader,
   * every other running participant says follower, every running observer says observer, and
   * each opens a real session. Returns the leader. Fails at once when a member exits on its own
   * or says Mode: standalone (a member of an ensemble must never run alone).
   */
  async waitForQuorum(options: WaitOptions = {}): Promise<EnsembleMember> {
    let lastModes = '';
    return waitFor(
      async () => {
        this.#checkNoCrash();
        const members = this.running();
        const modes = await Promise.all(members.map((member) => member.mode()));
        lastModes = members.map((member, i) => `${member.sid}=${String(modes[i])}`).join(' ');
        const standalone = members.filter((_, i) => modes[i] === 'standalone');
        if (standalone.length > 0) {
          throw new EnsembleError(
            `${this.kind} server(s) ${standalone.map((m) => m.sid).join(', ')} say Mode: standalone although their config names an ensemble (modes: ${lastModes})\n` +
              standalone.map((m) => m.describe()).join('\n'),
          );
        }
        const leaders = members.filter((_, i) => modes[i] === 'leader');
        const [leader] = leaders;
        if (leaders.length !== 1 || leader === undefined || leader.role !== 'participant') return undefined;
        const settled = members.every((member, i) => {
          if (member === leader) return true;
          return modes[i] === (member.role === 'observer' ? 'observer' : 'follower');
        });
        if (!settled) return undefined;
        const serving = await Promise.all(members.map((member) => member.servesSessions()));
        return serving.every(Boolean) ? leader : undefined;
      },
      {
        timeoutMs: options.timeoutMs ?? DEFAULT_QUORUM_TIMEOUT_MS,
        intervalMs: 100,
        what: `the ${this.kind} ensemble (${this.running().length} running of ${this.servers.length}) to elect one leader and serve`,
        detail: () => `last modes: ${lastModes}\n${this.diagnostics()}`,
      },
    );
  }

  /** The member that says Mode: leader, waiting until exactly one running member does. */
  async leader(options: WaitOptions = {}): Promise<EnsembleMember> {
    let lastModes = '';
    return waitFor(
      async () => {
        this.#checkNoCrash();
        const members = this.running();
        const modes = await Promise.all(members.map((member) => member.mode()));
        lastModes = members.map((member, i) => `${member.sid}=${String(modes[i])}`).join(' ');
        const leaders = members.filter((_, i) => modes[i] === 'leader');
        return leaders.length === 1 ? leaders[0] : undefined;
      },
      {
        timeoutMs: options.timeoutMs ?? DEFAULT_QUORUM_TIMEOUT_MS,
        intervalMs: 100,
        what: `exactly one ${this.kind} server to say Mode: leader`,
        detail: () => `last modes: ${lastModes}\n${this.diagnostics()}`,
      },
    );
  }

  /** Running members that say Mode: follower (observers excluded). */
  async followers(): Promise<EnsembleMember[]> {
    const members = this.running();
    const modes = await Promise.all(members.map((member) => member.mode()));
    return members.filter((_, i) => modes[i] === 'follower');
  }

  /** kill -9 of the member's process group; resolves once it has exited. */
  async kill9(sid: number): Promise<void> {
    await this.member(sid).kill9();
  }

  /** Stops one member with SIGTERM (SIGKILL after a grace period). */
  async stopMember(sid: number): Promise<void> {
    await this.member(sid).stop();
  }

  /**
   * Starts a member that is down again, with the same config and data dir, and (unless
   * `waitServing` is false) waits until it has rejoined: it names its Mode (follower or observer,
   * or leader if the others were waiting for it) and opens a session.
   */
  async restart(sid: number, options: WaitOptions & { waitServing?: boolean } = {}): Promise<EnsembleMember> {
    const member = this.member(sid);
    if (member.running) await member.stop();
    member.start();
    if (options.waitServing === false) return member;
    await waitFor(
      async () => {
        this.#checkNoCrash();
        const mode = await member.mode();
        if (mode === 'standalone') throw new EnsembleError(`restarted ${this.kind} server ${sid} says Mode: standalone\n${member.describe()}`);
        return mode !== null && (await member.servesSessions());
      },
      {
        timeoutMs: options.timeoutMs ?? DEFAULT_RESTART_TIMEOUT_MS,
        intervalMs: 100,
        what: `restarted ${this.kind} server ${sid} to rejoin the ensemble and serve`,
        detail: () => this.diagnostics(),
      },
    );
    return member;
  }

  /**
   * Starts every member that is down (left so by an earlier test that failed half-way) and waits
   * for the quorum. Returns the leader.
   */
  async heal(options: WaitOptions = {}): Promise<EnsembleMember> {
    for (const member of this.servers) {
      if (!member.running) member.start();
    }
    return this.waitForQuorum(options);
  }

  /**
   * Waits until every running member reports the same `srvr` Zxid and Node count, and returns
   * them. Write something first: after an election a leader reports the new epoch's zxid
   * (0x<epoch>00000000) while followers report the last txn they applied, until the next write.
   */
  async waitForConvergence(options: WaitOptions = {}): Promise<Convergence> {
    let last = '';
    return waitFor(
      async () => {
        this.#checkNoCrash();
        const members = this.running();
        const fields = await Promise.all(members.map((member) => member.srvr()));
        last = members.map((member, i) => `${member.sid}: Zxid ${String(fields[i]?.get('Zxid'))}, Node count ${String(fields[i]?.get('Node count'))}`).join('; ');
        const zxids = new Set(fields.map((f) => f.get('Zxid')));
        const counts = new Set(fields.map((f) => f.get('Node count')));
        const zxid = fields[0]?.get('Zxid');
        const nodeCount = fields[0]?.get('Node count');
        if (zxids.size !== 1 || counts.size !== 1 || zxid === undefined || nodeCount === undefined) return undefined;
        return { zxid, nodeCount };
      },
      {
        timeoutMs: options.timeoutMs ?? 30_000,
        intervalMs: 100,
        what: `every running ${this.kind} server to report the same srvr Zxid and Node count`,
        detail: () => `last: ${last}\n${this.diagnostics()}`,
      },
    );
  }

  /** Each member's state, last mode and log tail: for failure messages. */
  diagnostics(chars = LOG_TAIL_CHARS): string {
    return this.servers.map((member) => member.describe(chars)).join('\n');
  }

  /** Stops every member and removes the directory (kept with TSZK_KEEP_TMP=1). Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(this.servers.map((member) => member.stop()));
    if (this.#ownsDir) {
      if (keepTmp()) console.log(`[tszk tests] kept ${this.kind} ensemble files in ${this.dir}`);
      else await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
      liveDirs.delete(this.dir);
    }
  }
}

/**
 * Starts members whose config files are already written (see prepareMemberDir for myid), all at
 * once, without waiting for them: call waitForQuorum(). `ownsDir` hands `dir` to the ensemble,
 * which removes it in stop().
 */
export function launchEnsemble(
  kind: TargetKind, dir: string, specs: readonly MemberSpec[], options: { ownsDir: boolean; memberKinds?: readonly TargetKind[] },
): Ensemble {
  const servers = specs.map((spec, i) => new EnsembleMember(options.memberKinds?.[i] ?? kind, spec));
  const ensemble = new Ensemble(kind, dir, servers, options);
  for (const member of servers) member.start();
  return ensemble;
}

export interface EnsembleOptions extends TimingOptions {
  kind: TargetKind;
  /** Voting members: server ids 1..participants. */
  participants: number;
  /** Observers: the server ids after the participants. */
  observers?: number;
  /** Extra zoo.cfg lines for every member; they override the defaults. */
  extraConfig?: Record<string, string>;
  /** How long the first election may take; default 60 s. */
  quorumTimeoutMs?: number;
  /** A mixed ensemble: the kind of each member in sid order (default: all `kind`). */
  memberKinds?: readonly TargetKind[];
}

async function prepareEnsemble(options: EnsembleOptions): Promise<{ dir: string; specs: MemberSpec[] }> {
  const count = options.participants + (options.observers ?? 0);
  const dir = await mkdtemp(join(tmpdir(), `tszk-ensemble-${options.kind}-`));
  const ports = await freePorts(count * 3);
  const specs: MemberSpec[] = [];
  for (let index = 0; index < count; index += 1) {
    const sid = index + 1;
    const memberDir = join(dir, `m${sid}`);
    const port = (slot: number): number => {
      const value = ports[index * 3 + slot];
      if (value === undefined) throw new EnsembleError('freePorts returned too few ports');
      return value;
    };
    specs.push({
      sid,
      role: sid <= options.participants ? 'participant' : 'observer',
      host: LOCALHOST,
      peerHost: LOCALHOST,
      clientPort: port(0),
      quorumPort: port(1),
      electionPort: port(2),
      dir: memberDir,
      dataDir: join(memberDir, 'data'),
      configFile: join(memberDir, 'zoo.cfg'),
      logFile: join(memberDir, 'server.log'),
    });
  }
  for (const spec of specs) {
    await mkdir(spec.dir, { recursive: true });
    await writeFile(spec.configFile, ensembleConfigText(spec, specs, options, options.extraConfig));
    await prepareMemberDir(spec);
  }
  return { dir, specs };
}

const PORT_TAKEN = /address already in use|EADDRINUSE/i;

/**
 * Starts `participants` voting members and `observers` observers of one kind on 127.0.0.1 and
 * waits until they have elected a leader and serve sessions.
 */
export async function startEnsemble(options: EnsembleOptions): Promise<Ensemble> {
  if (options.kind === 'reference' || options.memberKinds?.includes('reference')) {
    const install = detectReference();
    if (!install.available) throw new ReferenceMissingError(missingReferenceMessage(install));
  }
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt += 1) {
    const { dir, specs } = await prepareEnsemble(options);
    const ensemble = launchEnsemble(options.kind, dir, specs, { ownsDir: true, memberKinds: options.memberKinds });
    try {
      await ensemble.waitForQuorum({ timeoutMs: options.quorumTimeoutMs ?? DEFAULT_QUORUM_TIMEOUT_MS });
      return ensemble;
    } catch (error) {
      lastError = error;
      const portTaken = ensemble.servers.some((member) => PORT_TAKEN.test(member.logTail(20_000)));
      await ensemble.stop();
      // Someone took a port between freePorts() and the bind: try other ports.
      if (!portTaken) throw error;
    }
  }
  throw lastError;
}

/**
 * In a describe block: after each failed test, prints what `diagnostics` returns (typically
 * `ensemble?.diagnostics()`: each server's state, last mode and log tail).
 */
export function quoteOnFailure(diagnostics: () => string | undefined): void {
  afterEach((context) => {
    if (context.task.result?.state !== 'fail') return;
    const text = diagnostics();
    if (text !== undefined) console.log(`[servers after the failed test "${context.task.name}"]\n${text}`);
  });
}

/** `bin/tszk` of this checkout, for tests that drive start/status/stop like zkServer.sh. */
export const TSZK_BIN = join(REPO_ROOT, 'bin', 'tszk');

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// Reading one member directly (RawClient: no failover, so the answer is that member's)

/** Where a server listens for clients: an EnsembleMember, or any server with an id. */
export interface MemberAddress {
  sid: number;
  host: string;
  clientPort: number;
}

/** A session on `member` alone for `body`, closed afterwards. */
export async function withMemberClient<T>(member: MemberAddress, body: (client: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.connect({ host: member.host, port: member.clientPort, timeOutMs: 10_000 });
  if (!client.sessionAccepted) {
    await client.closeQuietly();
    throw new EnsembleError(`server ${member.sid} (${member.host}:${member.clientPort}) refused a session`);
  }
  try {
    return await body(client);
  } finally {
    await client.closeQuietly();
  }
}

/** What one member holds under `parent` after sync(parent): children sorted, and the data of the
 * children named in `dataOf` (as UTF-8). */
export async function syncedChildren(
  member: MemberAddress,
  parent: string,
  dataOf: readonly string[] = [],
): Promise<{ children: string[]; data: Map<string, string | null> }> {
  return withMemberClient(member, async (client) => {
    const synced = await client.sync(parent);
    if (synced.err !== 0) throw new EnsembleError(`sync(${parent}) on server ${member.sid} failed with ${synced.err}`);
    const listed = await client.getChildren(parent);
    if (listed.err !== 0) throw new EnsembleError(`getChildren(${parent}) on server ${member.sid} failed with ${listed.err}`);
    const data = new Map<string, string | null>();
    for (const name of dataOf) {
      const got = await client.getData(`${parent}/${name}`);
      data.set(name, got.err === 0 ? (got.response?.data?.toString('utf8') ?? '') : null);
    }
    return { children: [...(listed.response?.children ?? [])].sort(), data };
  });
}
