// Test servers behind one interface: the Java reference (Debian's ZooKeeper 3.8) and tszk, both
// started from a zoo.cfg written the same way into a fresh temp dir, each in its own process group,
// ready only when `ruok` says imok, `srvr` names a Mode and a real session can be opened and closed.
// Their output goes to <tmp>/server.log, quoted in start-up errors; TSZK_KEEP_TMP=1 keeps the temp
// dir after stop(). TSZK_TARGETS=reference (or tszk) narrows which targets describeEachTarget runs;
// TSZK_MAIN points the tszk target at another build than <repo>/dist/cli/main.js.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { serverLaunch } from '../../src/cli/launch.js';
import { LOG4J_PROPERTIES } from './log4j.js';
import { fourLetterWord } from './four-letter.js';
import { freePort } from './ports.js';
import { announceSkipOnce, detectReference, referenceDecision, ReferenceMissingError, missingReferenceMessage } from './reference.js';
import { waitFor } from './wait.js';

export type TargetKind = 'reference' | 'tszk';

export interface TestServer {
  kind: TargetKind;
  host: string;
  clientPort: number;
  /** host:port, as a ZooKeeper client takes it. */
  connectString: string;
  dataDir: string;
  /** The zoo.cfg the server was started with. */
  configFile: string;
  /** The server's stdout and stderr together. */
  logFile: string;
  pid: number;
  /** Stops the whole process group (TERM, then KILL) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartServerOptions {
  /** Extra zoo.cfg lines, e.g. { extendedTypesEnabled: 'true' }; they override the defaults. */
  extraConfig?: Record<string, string>;
  /** Default 30 s. */
  readyTimeoutMs?: number;
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built tszk entry point; TSZK_MAIN=/path/to/main.js runs a build from elsewhere. */
export const TSZK_MAIN = process.env['TSZK_MAIN'] ?? join(REPO_ROOT, 'dist', 'cli', 'main.js');
const HOST = '127.0.0.1';
const STOP_GRACE_MS = 10_000;
const START_ATTEMPTS = 3;

// Process groups this test process started and has not stopped yet (servers here, zkCli clients in
// zkcli.ts). They run detached, so nothing else ends them: they are killed when this process exits
// or is told to stop, even if an afterAll never ran.
const liveGroups = new Set<number>();
// Temp dirs of servers not stopped yet; removed on the same occasions.
const liveDirs = new Set<string>();
const keepTmp = (): boolean => process.env['TSZK_KEEP_TMP'] === '1';

function killLiveGroups(): void {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  liveGroups.clear();
  if (!keepTmp()) {
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
  liveDirs.clear();
}

process.once('exit', killLiveGroups);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killLiveGroups();
    // Keep the signal's usual effect: re-raise it unless someone else (the test runner) handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

/** Registers a detached process group to be killed if this process ends first. */
export function trackProcessGroup(pgid: number): void {
  liveGroups.add(pgid);
}

export function untrackProcessGroup(pgid: number): void {
  liveGroups.delete(pgid);
}

export class ServerStartError extends Error {
  readonly code = 'SERVER_START';
  constructor(message: string) {
    super(message);
    this.name = 'ServerStartError';
  }
}

function zooCfgText(dataDir: string, clientPort: number, extra: Record<string, string>): string {
  const settings = new Map<string, string>([
    ['tickTime', '2000'],
    ['dataDir', dataDir],
    ['clientPort', String(clientPort)],
    ['admin.enableServer', 'false'],
    ['4lw.commands.whitelist', '*'],
  ]);
  for (const [key, value] of Object.entries(extra)) settings.set(key, value);
  return [...settings].map(([key, value]) => `${key}=${value}`).join('\n') + '\n';
}

export { LOG4J_PROPERTIES };

interface Prepared {
  dir: string;
  dataDir: string;
  configFile: string;
  log4jFile: string;
  logFile: string;
  clientPort: number;
}

async function prepare(kind: TargetKind, extra: Record<string, string>): Promise<Prepared> {
  const dir = await mkdtemp(join(tmpdir(), `tszk-test-${kind}-`));
  const dataDir = join(dir, 'data');
  const clientPort = await freePort();
  const configFile = join(dir, 'zoo.cfg');
  const log4jFile = join(dir, 'log4j.properties');
  await writeFile(configFile, zooCfgText(dataDir, clientPort, extra));
  await writeFile(log4jFile, LOG4J_PROPERTIES);
  return { dir, dataDir, configFile, log4jFile, logFile: join(dir, 'server.log'), clientPort };
}

/** The last `chars` characters of a log file, for error messages. */
export function logTail(logFile: string, chars = 4000): string {
  try {
    const text = readFileSync(logFile, 'utf8');
    return text.length > chars ? `...${text.slice(-chars)}` : text;
  } catch {
    return '(no log)';
  }
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** TERM to the child's process group, KILL after a grace period (and always at the end), then
 * forgets the group. Resolves once the child has exited. */
export async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const gone = new Promise<void>((resolveGone) => {
    if (exited(child)) resolveGone();
    else child.once('exit', () => resolveGone());
  });
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-pid, name);
    } catch {
      // group already empty
    }
  };
  signal('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'timeout'>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout('timeout'), STOP_GRACE_MS);
  });
  const outcome = await Promise.race([gone.then(() => 'exited' as const), graceOver]);
  clearTimeout(timer);
  // KILL the group either way: the leader may be gone while a child it started lingers.
  signal('SIGKILL');
  if (outcome === 'timeout') await gone;
  untrackProcessGroup(pid);
}

/**
 * Opens a real session with a hand-built ConnectRequest and closes it again (closeSession), so a
 * server counts as ready only once it can serve clients. True when the server answered with a
 * session id and a positive timeout.
 */
export function probeSession(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise<boolean>((resolveProbe) => {
    const socket = connect({ host, port });
    let buffered = Buffer.alloc(0);
    let sessionOpened = false;
    let settled = false;
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolveProbe(ok);
    };
    const timer = setTimeout(() => finish(sessionOpened), timeoutMs);
    socket.on('connect', () => {
      // ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd (16 zero bytes), readOnly.
      const body = Buffer.alloc(4 + 8 + 4 + 8 + 4 + 16 + 1);
      let at = 0;
      at = body.writeInt32BE(0, at);
      at = body.writeBigInt64BE(0n, at);
      at = body.writeInt32BE(10_000, at);
      at = body.writeBigInt64BE(0n, at);
      at = body.writeInt32BE(16, at);
      at += 16;
      body.writeUInt8(0, at);
      const frame = Buffer.alloc(4);
      frame.writeInt32BE(body.length);
      socket.write(Buffer.concat([frame, body]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4) {
        const length = buffered.readInt32BE(0);
        if (length < 0 || buffered.length < 4 + length) return;
        const body = buffered.subarray(4, 4 + length);
        buffered = buffered.subarray(4 + length);
        if (!sessionOpened) {
          // ConnectResponse: protocolVersion, timeOut, sessionId, passwd.
          if (body.length < 16) return finish(false);
          const sessionTimeoutMs = body.readInt32BE(4);
          const sessionId = body.readBigInt64BE(8);
          if (sessionTimeoutMs <= 0 || sessionId === 0n) return finish(false);
          sessionOpened = true;
          const close = Buffer.alloc(12);
          close.writeInt32BE(8, 0);
          close.writeInt32BE(1, 4); // xid
          close.writeInt32BE(-11, 8); // OpCode.closeSession
          socket.write(close);
        } else {
          // ReplyHeader of the closeSession: xid, zxid, err.
          return finish(true);
        }
      }
    });
    socket.on('error', () => finish(sessionOpened));
    socket.on('close', () => finish(sessionOpened));
  });
}

interface LaunchSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

async function launch(kind: TargetKind, options: StartServerOptions, spec: (p: Prepared) => LaunchSpec): Promise<TestServer> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt += 1) {
    const prepared = await prepare(kind, options.extraConfig ?? {});
    liveDirs.add(prepared.dir);
    try {
      return await launchOnce(kind, prepared, spec(prepared), readyTimeoutMs);
    } catch (error) {
      await rm(prepared.dir, { recursive: true, force: true });
      liveDirs.delete(prepared.dir);
      lastError = error as Error;
      // Someone took the port between freePort() and the bind: try another one.
      if (!(error instanceof ServerStartError && /address already in use|EADDRINUSE/i.test(error.message))) throw error;
    }
  }
  throw lastError ?? new ServerStartError(`${kind}: could not start`);
}

async function launchOnce(kind: TargetKind, prepared: Prepared, launchSpec: LaunchSpec, readyTimeoutMs: number): Promise<TestServer> {
  const logFd = openSync(prepared.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(launchSpec.command, launchSpec.args, {
      cwd: prepared.dir,
      detached: true, // own process group, so stop() can kill everything it started
      stdio: ['ignore', logFd, logFd],
      env: launchSpec.env ?? process.env,
    });
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    const spawnError = await new Promise<Error>((resolveError) => child.once('error', resolveError));
    throw new ServerStartError(`${kind}: could not spawn ${launchSpec.command}: ${spawnError.message}`);
  }
  trackProcessGroup(pid);
  child.on('error', () => undefined);
  const where = `${HOST}:${prepared.clientPort}`;
  let lastSrvr = '';
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopGroup(child);
    if (!keepTmp()) await rm(prepared.dir, { recursive: true, force: true });
    liveDirs.delete(prepared.dir);
  };
  try {
    await waitFor(
      async () => {
        if (exited(child)) {
          throw new ServerStartError(
            `${kind} server exited during start-up (code ${String(child.exitCode)}, signal ${String(child.signalCode)}); ` +
              `config ${prepared.configFile}; log:\n${logTail(prepared.logFile)}`,
          );
        }
        const ruok = await fourLetterWord(HOST, prepared.clientPort, 'ruok', { timeoutMs: 1000 }).catch(() => '');
        if (ruok.trim() !== 'imok') return false;
        lastSrvr = await fourLetterWord(HOST, prepared.clientPort, 'srvr', { timeoutMs: 1000 }).catch(() => '');
        if (!/^Mode: \S+/m.test(lastSrvr)) return false;
        return probeSession(HOST, prepared.clientPort, 2000);
      },
      {
        timeoutMs: readyTimeoutMs,
        intervalMs: 100,
        what: `${kind} server on ${where} to answer ruok=imok, srvr with a Mode, and open a session`,
        detail: () => `last srvr reply: ${JSON.stringify(lastSrvr)}\nlog ${prepared.logFile}:\n${logTail(prepared.logFile)}`,
      },
    );
  } catch (error) {
    stopped = true;
    await stopGroup(child);
    if (error instanceof ServerStartError) throw error;
    throw new ServerStartError((error as Error).message);
  }
  return {
    kind,
    host: HOST,
    clientPort: prepared.clientPort,
    connectString: where,
    dataDir: prepared.dataDir,
    configFile: prepared.configFile,
    logFile: prepared.logFile,
    pid,
    stop,
  };
}

/** Starts Debian's ZooKeeper 3.8 standalone (QuorumPeerMain with our zoo.cfg). */
export async function startReferenceServer(options: StartServerOptions = {}): Promise<TestServer> {
  const install = detectReference();
  if (!install.available || install.java === undefined) throw new ReferenceMissingError(missingReferenceMessage(install));
  const java = install.java;
  return launch('reference', options, (prepared) => ({
    command: java,
    args: referenceServerArgs(prepared.configFile, prepared.log4jFile),
  }));
}

/** The java arguments that run Debian's ZooKeeper 3.8 server (QuorumPeerMain) on `configFile`,
 * logging through log4j 1.2 as `log4jFile` says. */
export function referenceServerArgs(configFile: string, log4jFile: string, options: { heapMaxMb?: number } = {}): string[] {
  const install = detectReference();
  const classpath = [install.zookeeperJar, install.optionalJars.slf4jLog4j12, install.optionalJars.log4j12]
    .filter((jar): jar is string => jar !== undefined)
    .join(':');
  return [
    '-Xms32m',
    `-Xmx${options.heapMaxMb ?? 512}m`,
    '-XX:+UseSerialGC',
    '-cp',
    classpath,
    `-Dlog4j.configuration=file:${log4jFile}`,
    'org.apache.zookeeper.server.quorum.QuorumPeerMain',
    configFile,
  ];
}

/**
 * How tszk's server is started on `configFile`, as its launchers start it (src/cli/launch.ts):
 * from the startup snapshot when the build made one, else `node dist/cli/main.js
 * start-foreground`. TSZK_MAIN names another build's main.js, run as it is.
 */
export function tszkServerCommand(configFile: string): { command: string; args: string[] } {
  if (process.env['TSZK_MAIN'] !== undefined) return { command: process.execPath, args: [TSZK_MAIN, 'start-foreground', configFile] };
  const { command, args } = serverLaunch(REPO_ROOT, configFile);
  return { command, args };
}

/** Starts tszk from the built tree (tszkServerCommand). */
export async function startTszkServer(options: StartServerOptions = {}): Promise<TestServer> {
  if (!existsSync(TSZK_MAIN)) {
    throw new ServerStartError(`tszk is not built: ${TSZK_MAIN} is missing (run \`npm run build\` in ${REPO_ROOT})`);
  }
  return launch('tszk', options, (prepared) => tszkServerCommand(prepared.configFile));
}

export interface ServerTarget {
  kind: TargetKind;
  start(options?: StartServerOptions): Promise<TestServer>;
}

export interface TargetPlan {
  run: ServerTarget[];
  skipped: { kind: TargetKind; reason: string }[];
}

const ALL_KINDS: readonly TargetKind[] = ['tszk', 'reference'];

/** TSZK_TARGETS=reference,tszk (comma-separated) narrows the targets; default: both. */
export function selectedKinds(): TargetKind[] {
  const raw = process.env['TSZK_TARGETS'];
  if (raw === undefined || raw.trim() === '') return [...ALL_KINDS];
  const kinds = raw.split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const kind of kinds) {
    if (!ALL_KINDS.includes(kind as TargetKind)) {
      throw new Error(`TSZK_TARGETS: unknown target '${kind}' (expected a comma-separated subset of ${ALL_KINDS.join(', ')})`);
    }
  }
  return ALL_KINDS.filter((kind) => kinds.includes(kind));
}

/** Which targets run in this process and which are skipped (the reference when it is missing and
 * TSZK_REQUIRE_REFERENCE is not 1; when it is 1, the reference stays in and fails to start). */
export function targetPlan(): TargetPlan {
  const plan: TargetPlan = { run: [], skipped: [] };
  for (const kind of selectedKinds()) {
    if (kind === 'tszk') {
      plan.run.push({ kind, start: startTszkServer });
      continue;
    }
    const decision = referenceDecision();
    if (decision.type === 'skip') plan.skipped.push({ kind, reason: decision.reason });
    else plan.run.push({ kind, start: startReferenceServer });
  }
  return plan;
}

/** The launchers to run per test file: tszk always, the reference when available. */
export function targets(): ServerTarget[] {
  return targetPlan().run;
}

/** `describe` once per target, named "<name> [<kind>]" (so `-t '\[reference\]'` picks one);
 * skipped targets show up as skipped blocks whose name says why. */
export function describeEachTarget(name: string, body: (target: ServerTarget) => void): void {
  const plan = targetPlan();
  for (const target of plan.run) describe(`${name} [${target.kind}]`, () => body(target));
  for (const { kind, reason } of plan.skipped) {
    announceSkipOnce(`${name} [${kind}]`, reason);
    describe.skip(`${name} [${kind}] (skipped: ${reason})`, () => {
      it('runs against this target', () => undefined);
    });
  }
}
