/**
 * The `tszk` server commands, after Apache ZooKeeper's bin/zkServer.sh: start, start-foreground,
 * stop, status, restart, print-cmd. Same files (ZOOPIDFILE or dataDir/zookeeper_server.pid,
 * ZOO_LOG_DIR), same console lines with "tszk" for "zookeeper", same exit codes, except where
 * a comment says why not.
 *
 * Each command returns its exit code. Errors that are the operator's to fix (ConfigError, other
 * TszkErrors) are thrown to the one boundary in main.ts, which prints them without a stack.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  fstatSync,
  writeFileSync,
} from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { pino } from 'pino';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/load-config.js';
import type { RunningServer } from '../server/server.js';
import { ConfigError, TszkError } from '../util/errors.js';
import { sendFourLetterWord } from './four-letter-client.js';
import { MAIN_JS, serverLaunch, type ServerLaunch } from './launch.js';
import { componentLogger, createLogger } from './logger.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
/** ZooKeeper's ExitCode.INVALID_INVOCATION, which QuorumPeerMain uses for a bad config. */
export const EXIT_BAD_CONFIG = 2;

/** The checkout this file belongs to: src/cli/ and dist/cli/ both sit two levels down. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const PID_FILE_NAME = 'zookeeper_server.pid';
const START_WAIT_MS = 30_000;
const PROBE_INTERVAL_MS = 100;
const PROBE_IDLE_TIMEOUT_MS = 1_000;
/** zkServer.sh's whole start check: is the process still there a second later. */
const START_ALIVE_CHECK_MS = 1_000;
const STOP_WAIT_MS = 30_000;
const KILL_WAIT_MS = 5_000;
const EXIT_POLL_MS = 50;
const LOG_TAIL_LINES = 20;
const LOG_TAIL_BYTES = 16 * 1024;
const MYID_MAX = 255;

/** What every command needs from the outside world, passed in so tests can fake it. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** A leading `--config <conf-dir>`, which zkEnv.sh accepts before the command. */
  confDir: string | null;
  projectRoot: string;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function sayPart(text: string): void {
  process.stdout.write(text);
}

function warn(line: string): void {
  process.stderr.write(`${line}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

// ---- config file location -------------------------------------------------------------------

/**
 * The config file, as zkEnv.sh and zkServer.sh find it: the directory is `--config <dir>`, else
 * $ZOOCFGDIR, else <root>/conf. A command-line name without a slash is looked up in that
 * directory, one with a slash is a path from the working directory. Without an argument the file
 * is $ZOOCFG (a name in the directory, or an absolute path) or zoo.cfg.
 */
export function resolveConfigPath(arg: string | undefined, ctx: CliContext): string {
  const confDir = resolve(ctx.cwd, ctx.confDir ?? (nonEmpty(ctx.env['ZOOCFGDIR']) || join(ctx.projectRoot, 'conf')));
  if (arg !== undefined && arg !== '') {
    return arg.includes('/') ? resolve(ctx.cwd, arg) : join(confDir, arg);
  }
  return resolve(confDir, nonEmpty(ctx.env['ZOOCFG']) || 'zoo.cfg');
}

function nonEmpty(value: string | undefined): string {
  return value?.trim() ?? '';
}

/** zkServer.sh prints this for every command, on stderr so stdout stays parseable. */
function announceConfig(arg: string | undefined, ctx: CliContext): string {
  const configPath = resolveConfigPath(arg, ctx);
  warn(`Using config: ${configPath}`);
  return configPath;
}

// ---- myid seeding for the bundled configs ---------------------------------------------------

const SEED_CONFIG_NAME = /^z([1-9][0-9]{0,2})\.conf$/;

/**
 * The server id of a bundled seed config: conf/z<N>.conf in this checkout's own conf/ directory.
 * Those configs are committed but their dataDirs (data/z<N>) are not (data/ is git-ignored), so a
 * fresh checkout has no myid file and a quorum config without one cannot start. For these files
 * alone the id is certain from the name. Anywhere else a missing myid is a real mistake that
 * ZooKeeper reports, and guessing could give two servers the same id.
 */
export function inferSeedMyid(configPath: string, projectRoot: string): number | null {
  if (resolve(dirname(configPath)) !== join(resolve(projectRoot), 'conf')) return null;
  const digits = SEED_CONFIG_NAME.exec(basename(configPath))?.[1];
  if (digits === undefined) return null;
  const myid = Number(digits);
  return myid <= MYID_MAX ? myid : null;
}

export interface LoadedConfig {
  config: Config;
  /** The myid file written for a bundled seed config, when one was. */
  seededMyidPath: string | null;
}

/**
 * Loads the config; for a bundled seed config whose dataDir has no myid yet, loads it again as
 * if MYID=<N> were set and, when `writeMyid`, creates dataDir/myid so the data directory
 * describes itself from then on (as a real ZooKeeper dataDir does).
 */
export function loadCliConfig(configPath: string, ctx: CliContext, options: { writeMyid: boolean }): LoadedConfig {
  // An id from the environment (loadConfig reads MYID, then ZOO_MY_ID) is the operator's choice.
  const idFromEnv = nonEmpty(ctx.env['MYID']) !== '' || nonEmpty(ctx.env['ZOO_MY_ID']) !== '';
  const seedId = idFromEnv ? null : inferSeedMyid(configPath, ctx.projectRoot);

  let plain: Config | null = null;
  let plainError: unknown = null;
  try {
    plain = loadConfig(configPath, ctx.env);
  } catch (err) {
    if (!(err instanceof ConfigError) || seedId === null) throw err;
    plainError = err;
  }
  const lacksMyid = plain === null || (plain.distributed && plain.myid === null);
  if (seedId === null || !lacksMyid) return { config: orThrow(plain, plainError), seededMyidPath: null };

  let seeded: Config;
  try {
    seeded = loadConfig(configPath, { ...ctx.env, MYID: String(seedId) });
  } catch {
    return { config: orThrow(plain, plainError), seededMyidPath: null };
  }
  const dataDir = resolve(ctx.cwd, seeded.dataDir);
  const myidPath = join(dataDir, 'myid');
  const isSeedCase =
    seeded.myid === seedId && seeded.servers.some((s) => s.id === seedId) && !existsSync(myidPath);
  // A myid file that exists but did not load is broken, not missing: report the plain error.
  if (!isSeedCase) return { config: orThrow(plain, plainError), seededMyidPath: null };
  if (!options.writeMyid) return { config: seeded, seededMyidPath: null };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(myidPath, `${seedId}\n`);
  return { config: seeded, seededMyidPath: myidPath };
}

function orThrow(config: Config | null, error: unknown): Config {
  if (config === null) throw error;
  return config;
}

// ---- pid file ---------------------------------------------------------------------------------

/** $ZOOPIDFILE, else dataDir/zookeeper_server.pid. */
export function pidFilePath(dataDir: string | null, ctx: CliContext): string {
  const fromEnv = nonEmpty(ctx.env['ZOOPIDFILE']);
  if (fromEnv !== '') return resolve(ctx.cwd, fromEnv);
  if (dataDir === null) {
    throw new TszkError('ERR_NO_PID_FILE', 'no dataDir and no ZOOPIDFILE: cannot locate the pid file');
  }
  return join(resolve(ctx.cwd, dataDir), PID_FILE_NAME);
}

/** The pid in the file, or null when the file is absent or holds no pid. */
export function readPidFile(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new TszkError('ERR_PID_FILE', `cannot read the pid file ${path} (is dataDir ${dirname(path)} a usable directory?): ${code ?? (err as Error).message}`);
  }
  const match = /^\s*([0-9]{1,10})\s*$/.exec(text);
  const pid = match?.[1] === undefined ? 0 : Number(match[1]);
  return pid > 0 ? pid : null;
}

/** Written like zkServer.sh does (digits, no newline), via rename so readers never see half. */
export function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, String(pid));
    renameSync(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TszkError('ERR_PID_FILE', `cannot write the pid file ${path} in dataDir ${dirname(path)}: ${code ?? (err as Error).message}`);
  }
}

/** Removes the pid file only when it still names `pid`: a newer server may have replaced it. */
export function removePidFileIfOwned(path: string, pid: number): boolean {
  if (readPidFile(path) !== pid) return false;
  rmSync(path, { force: true });
  return true;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still accepts signal 0, but it has exited; only its parent has not reaped it yet
  // (a test runner that spawned start-foreground, for instance). Linux only; elsewhere, trust kill.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

/** The live process the pid file names, or null. */
export function livePid(pidFile: string): number | null {
  const pid = readPidFile(pidFile);
  return pid !== null && isProcessAlive(pid) ? pid : null;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(EXIT_POLL_MS);
  }
  return true;
}

// ---- daemon output file -----------------------------------------------------------------------

/**
 * zkServer.sh's _ZOO_DAEMON_OUT, in $ZOO_LOG_DIR or <root>/logs. Configs other than zoo.cfg add
 * their name (tszk-<user>-server-<host>-z1.out): zkServer.sh would send z1, z2 and z3 on one host
 * to the same file, each start truncating the others' output.
 */
export function daemonOutPath(configPath: string, ctx: CliContext, user: string, host: string): string {
  const dir = resolve(ctx.cwd, nonEmpty(ctx.env['ZOO_LOG_DIR']) || join(ctx.projectRoot, 'logs'));
  const stem = basename(configPath).replace(/\.(cfg|conf)$/, '');
  const suffix = stem === 'zoo' ? '' : `-${stem}`;
  return join(dir, `tszk-${user}-server-${host}${suffix}.out`);
}

function currentUser(env: NodeJS.ProcessEnv): string {
  const fromEnv = nonEmpty(env['USER']);
  if (fromEnv !== '') return fromEnv;
  try {
    return userInfo().username;
  } catch {
    return 'unknown'; // no passwd entry, as in some containers
  }
}

function outPathFor(configPath: string, ctx: CliContext): string {
  return daemonOutPath(configPath, ctx, currentUser(ctx.env), hostname());
}

/** The last lines of a file, reading at most LOG_TAIL_BYTES of it. */
export function tailOfFile(path: string, linesMax: number = LOG_TAIL_LINES): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-linesMax).join('\n');
  } finally {
    closeSync(fd);
  }
}

// ---- client port --------------------------------------------------------------------------------

export type ClientTarget =
  | { type: 'found'; port: number; address: string; connectHost: string }
  | { type: 'missing'; lines: string[] };

/**
 * Where status and the start probe connect, as zkServer.sh status finds it: clientPort (with
 * clientPortAddress, else localhost), else the `;[addr:]port` of this server's server.<myid> line.
 * The `missing` lines are what zkServer.sh prints in the same cases.
 */
export function findClientTarget(config: Config): ClientTarget {
  if (config.clientPort > 0) return target(config.clientPort, config.clientPortAddress);
  if (config.servers.length > 0) {
    if (config.myid === null) {
      const line = 'myid could not be determined, so the client port cannot be found in the server lines.';
      return { type: 'missing', lines: [line] };
    }
    const self = config.servers.find((s) => s.id === config.myid);
    if (self?.clientPort !== undefined && self.clientPort > 0) return target(self.clientPort, self.clientAddress ?? '');
  }
  const lines = ['Client port not found. Looking for secureClientPort in the static config.'];
  if (config.secureClientPort !== undefined) {
    lines.push(`secureClientPort ${config.secureClientPort} needs SSL, which tszk status does not speak.`);
  } else {
    lines.push('Unable to find either secure or unsecure client port in any configs. Terminating.');
  }
  return { type: 'missing', lines };
}

function target(port: number, address: string): ClientTarget {
  // A wildcard listener is reached on loopback; zkServer.sh calls that "localhost".
  if (address === '' || address === '0.0.0.0') {
    return { type: 'found', port, address: 'localhost', connectHost: '127.0.0.1' };
  }
  if (address === '::' || address === '[::]') return { type: 'found', port, address: 'localhost', connectHost: '::1' };
  return { type: 'found', port, address, connectHost: address };
}

/**
 * The start probe: ruok, unless the whitelist allows srvr but not ruok (ZooKeeper's default
 * whitelist is srvr alone). Any answer counts: a quorum member that is still electing a leader
 * answers srvr with "not currently serving requests", yet it is up and accepting connections.
 */
function probeWord(config: Config): string {
  const allowed = config.fourLetterWordWhitelist;
  return allowed.has('*') || allowed.has('ruok') || !allowed.has('srvr') ? 'ruok' : 'srvr';
}

async function answers(host: string, port: number, word: string): Promise<boolean> {
  try {
    const reply = await sendFourLetterWord(host, port, word, { idleTimeoutMs: PROBE_IDLE_TIMEOUT_MS });
    return reply.length > 0;
  } catch {
    return false;
  }
}

// ---- start ----------------------------------------------------------------------------------------

type StartOutcome =
  | { type: 'serving' }
  | { type: 'exited'; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'timeout' };

export async function runStart(arg: string | undefined, ctx: CliContext): Promise<number> {
  const configPath = announceConfig(arg, ctx);
  const { config } = loadCliConfig(configPath, ctx, { writeMyid: true });
  const pidFile = pidFilePath(config.dataDir, ctx);
  mkdirSync(dirname(pidFile), { recursive: true });

  sayPart('Starting tszk ... ');
  const running = livePid(pidFile);
  if (running !== null) {
    say(`already running as process ${running}.`);
    return EXIT_FAILED;
  }
  const client = findClientTarget(config);
  const word = probeWord(config);
  // Without this, a server already on the port would answer the probe while ours dies on EADDRINUSE.
  if (client.type === 'found' && (await answers(client.connectHost, client.port, word))) {
    say('FAILED TO START');
    warn(`another server already answers on ${client.address}:${client.port}`);
    return EXIT_FAILED;
  }
  const mainJs = join(ctx.projectRoot, MAIN_JS);
  if (!existsSync(mainJs)) {
    say('FAILED TO START');
    warn(`${mainJs} is missing: build it with npm run build in ${ctx.projectRoot}`);
    return EXIT_FAILED;
  }

  const outPath = outPathFor(configPath, ctx);
  const child = await spawnServer(serverLaunch(ctx.projectRoot, configPath, [], ctx.env), outPath, ctx);
  if (child instanceof Error) {
    say('FAILED TO START');
    warn(`cannot run ${process.execPath}: ${child.message}`);
    return EXIT_FAILED;
  }
  const pid = child.pid;
  if (pid === undefined) throw new TszkError('ERR_SPAWN', 'spawned server has no pid');
  try {
    writePidFile(pidFile, pid);
  } catch (err) {
    say('FAILED TO WRITE PID');
    warn(`${pidFile}: ${(err as Error).message}`);
    process.kill(pid, 'SIGTERM'); // nothing could stop it later without the pid file
    return EXIT_FAILED;
  }

  const outcome = await waitUntilServing(child, client, word);
  if (outcome.type === 'serving') {
    say('STARTED');
    return EXIT_OK;
  }
  say('FAILED TO START');
  if (outcome.type === 'exited') {
    removePidFileIfOwned(pidFile, pid);
    const how = outcome.signal !== null ? `signal ${outcome.signal}` : `code ${outcome.code}`;
    warn(`tszk exited with ${how}; last lines of ${outPath}:`);
    warn(tailOfFile(outPath));
  } else {
    const where = client.type === 'found' ? `${client.address}:${client.port}` : 'the client port';
    warn(`no answer on ${where} within ${START_WAIT_MS} ms; process ${pid} is still running`);
    warn(`(output in ${outPath}; tszk stop ends it)`);
  }
  return EXIT_FAILED;
}

/** The server, detached into its own session with stdout and stderr in `outPath` (truncated). */
async function spawnServer(launch: ServerLaunch, outPath: string, ctx: CliContext): Promise<ChildProcess | Error> {
  mkdirSync(dirname(outPath), { recursive: true });
  const fd = openSync(outPath, 'w');
  let child: ChildProcess;
  try {
    child = spawn(launch.command, launch.args, {
      cwd: ctx.cwd,
      env: { ...ctx.env, ...launch.env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd); // the child holds its own copy
  }
  if (child.pid === undefined) {
    const [err] = (await once(child, 'error')) as [Error];
    return err;
  }
  child.unref();
  return child;
}

async function waitUntilServing(child: ChildProcess, client: ClientTarget, word: string): Promise<StartOutcome> {
  const state: { exited: StartOutcome | null } = { exited: null };
  child.once('exit', (code, signal) => {
    state.exited = { type: 'exited', code, signal };
  });
  if (client.type === 'missing') {
    // No port to probe (quorum config without a client port): fall back to zkServer.sh's check.
    await sleep(START_ALIVE_CHECK_MS);
    return state.exited ?? { type: 'serving' };
  }
  const deadline = Date.now() + START_WAIT_MS;
  for (;;) {
    if (state.exited !== null) return state.exited;
    if (await answers(client.connectHost, client.port, word)) return state.exited ?? { type: 'serving' };
    if (Date.now() >= deadline) return state.exited ?? { type: 'timeout' };
    await sleep(PROBE_INTERVAL_MS);
  }
}

// ---- stop -----------------------------------------------------------------------------------------

/**
 * SIGTERM, wait for the process to end, SIGKILL after STOP_WAIT_MS. Unlike zkServer.sh (which
 * signals, sleeps a second and always says STOPPED, exit 0) this fails with exit 1 when the
 * process could not be signalled or outlived SIGKILL: a script that goes on to delete the data
 * directory must not be told a live server has stopped.
 */
export async function runStop(arg: string | undefined, ctx: CliContext): Promise<number> {
  const configPath = announceConfig(arg, ctx);
  // With ZOOPIDFILE the config is not needed: stop still works after the config was broken.
  const dataDir =
    nonEmpty(ctx.env['ZOOPIDFILE']) !== '' ? null : loadCliConfig(configPath, ctx, { writeMyid: false }).config.dataDir;
  const pidFile = pidFilePath(dataDir, ctx);

  sayPart('Stopping tszk ... ');
  const pid = readPidFile(pidFile);
  if (pid === null) {
    if (!existsSync(pidFile)) {
      say(`no tszk to stop (could not find file ${pidFile})`);
      return EXIT_OK;
    }
    rmSync(pidFile, { force: true });
    say(`no tszk to stop (${pidFile} held no process id; removed it)`);
    return EXIT_OK;
  }
  if (!isProcessAlive(pid)) {
    rmSync(pidFile, { force: true });
    say(`no tszk to stop (process ${pid} is not running; removed ${pidFile})`);
    return EXIT_OK;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH') {
      say('FAILED TO STOP');
      warn(`cannot signal process ${pid}: ${code ?? (err as Error).message}`);
      return EXIT_FAILED;
    }
  }
  if (!(await waitForExit(pid, STOP_WAIT_MS))) {
    warn(`process ${pid} still running ${STOP_WAIT_MS} ms after SIGTERM; sending SIGKILL`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone in the meantime, or not ours: waitForExit tells which
    }
    if (!(await waitForExit(pid, KILL_WAIT_MS))) {
      say('FAILED TO STOP');
      warn(`process ${pid} is still running`);
      return EXIT_FAILED;
    }
  }
  removePidFileIfOwned(pidFile, pid);
  say('STOPPED');
  return EXIT_OK;
}

// ---- status ---------------------------------------------------------------------------------------

export async function runStatus(arg: string | undefined, ctx: CliContext): Promise<number> {
  const configPath = announceConfig(arg, ctx);
  const { config } = loadCliConfig(configPath, ctx, { writeMyid: false });
  const client = findClientTarget(config);
  if (client.type === 'missing') {
    for (const line of client.lines) say(line);
    return EXIT_FAILED;
  }
  say(`Client port found: ${client.port}. Client address: ${client.address}. Client SSL: false.`);
  let reply = '';
  try {
    reply = await sendFourLetterWord(client.connectHost, client.port, 'srvr');
  } catch {
    // reported below, in zkServer.sh's words
  }
  const mode = reply.split('\n').find((line) => line.startsWith('Mode:'));
  if (mode === undefined) {
    say('Error contacting service. It is probably not running.');
    return EXIT_FAILED;
  }
  say(mode.trimEnd());
  return EXIT_OK;
}

// ---- restart, print-cmd -----------------------------------------------------------------------------

/** stop, then start. No pause between: stop has already waited for the process to end. */
export async function runRestart(arg: string | undefined, ctx: CliContext): Promise<number> {
  const stopped = await runStop(arg, ctx);
  if (stopped !== EXIT_OK) return stopped;
  return runStart(arg, ctx);
}

export function runPrintCmd(arg: string | undefined, ctx: CliContext): number {
  const configPath = announceConfig(arg, ctx);
  const launch = serverLaunch(ctx.projectRoot, configPath, [], ctx.env);
  const outPath = outPathFor(configPath, ctx);
  const env = Object.entries(launch.env).map(([k, v]) => `${k}="${v}" `).join('');
  say(`${env}"${launch.command}" ${launch.args.map((a) => `"${a}"`).join(' ')} &>"${outPath}" </dev/null`);
  return EXIT_OK;
}

// ---- start-foreground -------------------------------------------------------------------------------

/**
 * Runs the server in this process until SIGTERM or SIGINT, then closes it and exits 0. Unlike
 * zkServer.sh start-foreground it writes the pid file too, so `tszk stop` and a later `tszk start`
 * see a server started either way (and `start` can hand the file over to the child it spawns).
 */
export async function runStartForeground(arg: string | undefined, ctx: CliContext): Promise<number> {
  const configPath = announceConfig(arg, ctx);
  const { config, seededMyidPath } = loadCliConfig(configPath, ctx, { writeMyid: true });
  const rootLogger = createLogger(ctx.env);
  const log = componentLogger(rootLogger, 'cli');
  if (seededMyidPath !== null) log.info({ myidPath: seededMyidPath }, 'wrote myid for a bundled seed config');
  // Config findings are logged here, once, by the code that loaded the config.
  for (const warning of config.warnings) log.warn({ configPath }, warning);
  if (config.ignoredKeys.length > 0) log.warn({ keys: config.ignoredKeys }, 'config keys accepted but not acted on');

  const pidFile = pidFilePath(config.dataDir, ctx);
  const other = livePid(pidFile);
  if (other !== null && other !== process.pid) {
    warn(`already running as process ${other}.`);
    return EXIT_FAILED;
  }
  writePidFile(pidFile, process.pid);

  let server: RunningServer;
  try {
    // Loaded here, not at the top: stop and status should not pay for loading the whole server.
    const { startServer } = await import('../server/server.js');
    server = await startServer(config, rootLogger);
  } catch (err) {
    removePidFileIfOwned(pidFile, process.pid);
    log.fatal({ err }, 'server failed to start');
    throw err;
  }
  log.info({ configPath, clientPort: server.clientPort, mode: server.mode(), pidFile }, 'tszk started');

  const signal = await shutdownSignal(log);
  log.info({ signal }, 'shutting down');
  await server.close();
  removePidFileIfOwned(pidFile, process.pid);
  log.info('tszk stopped');
  return EXIT_OK;
}

/** The first SIGTERM or SIGINT. A second one while closing exits at once, with 1. */
function shutdownSignal(log: pino.Logger): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const first = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGTERM', first);
      process.removeListener('SIGINT', first);
      const again = (next: NodeJS.Signals): void => {
        log.warn({ signal: next }, 'second signal while closing; exiting without waiting');
        process.exit(EXIT_FAILED);
      };
      process.once('SIGTERM', again);
      process.once('SIGINT', again);
      resolveSignal(signal);
    };
    process.on('SIGTERM', first);
    process.on('SIGINT', first);
  });
}
