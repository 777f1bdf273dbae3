// Drives Debian's zkCli.sh (ZooKeeper 3.8's command-line client) against a test server.
//
// Three ways in:
// - zkCliOneShot: `zkCli.sh -server H:P cmd args...`, plain (no JLine). Results on stdout, `Created /x`
//   and errors on stderr, exit code 1 on an error.
// - zkCliPiped: writes all commands and `quit` to stdin of one JVM, returns the transcript.
// - ZkCliSession: one JVM, one command at a time, each awaited until the next prompt; can wait for
//   watch events.
// The piped modes put JLine 2 on the classpath so zkCli prints `[zk: H:P(STATE) N] ` before reading
// each line, which splits the transcript into per-command outputs; stderr is merged into stdout
// (2>&1) so the two streams keep their order. JLine runs with its "unsupported" terminal
// (jline.terminal=none): it never touches a tty and does not echo input, so the text between two
// prompts is exactly what the command printed. Commands are matched to prompts by position, which
// holds because every line sent produces exactly one prompt.
//
// zkCli's watcher prints `"\nWATCHER::\n"` and `"\nWatchedEvent state:S type:T path:P\n"` from its
// event thread, each as one write that can land anywhere, even inside another command's output.
// They are cut out of the text by exact match and returned separately as events.
import { spawn, type ChildProcess } from 'node:child_process';
import { detectReference, missingReferenceMessage, ReferenceMissingError, type ReferenceInstall } from './reference.js';
import { trackProcessGroup, untrackProcessGroup } from './zk-server.js';
import { waitFor } from './wait.js';

/** A client JVM that starts quickly and stays small. */
const JVM_FLAGS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto -Xmx128m';
const DEFAULT_TIMEOUT_MS = 30_000;
const QUIT_TIMEOUT_MS = 10_000;

function installOrThrow(): ReferenceInstall {
  const install = detectReference();
  if (!install.available) throw new ReferenceMissingError(missingReferenceMessage(install));
  return install;
}

/** Environment for zkCli.sh. The last `-cp` on the java command line wins, so CLIENT_JVMFLAGS
 * replaces zkEnv.sh's classpath; slf4j-nop silences the "no SLF4J binding" banner. */
export function zkCliEnv(options: { jline: boolean }): NodeJS.ProcessEnv {
  const install = installOrThrow();
  const jars = [install.zookeeperJar];
  if (options.jline) {
    jars.push(install.jline2Jar);
    if (install.optionalJars.jansi1) jars.push(install.optionalJars.jansi1);
  }
  if (install.optionalJars.slf4jNop) jars.push(install.optionalJars.slf4jNop);
  // jline.terminal=none: never probe /dev/tty or run stty, and do not echo input.
  const clientFlags = `-cp ${jars.join(':')}${options.jline ? ' -Djline.terminal=none' : ''}`;
  // TZ=UTC: Stat times print the same on every host (the root's ctime is the epoch).
  return { ...process.env, TZ: 'UTC', CLIENT_JVMFLAGS: clientFlags, JVMFLAGS: JVM_FLAGS };
}

// ---------------------------------------------------------------------------------------------
// Parsing

export interface WatchedEventLine {
  state: string;
  type: string;
  /** null when zkCli printed `path:null`. */
  path: string | null;
}

const WATCHER_BANNER = '\nWATCHER::\n';
const WATCHED_EVENT = /\nWatchedEvent state:(\S+) type:(\S+) path:([^\n]*)\n/g;
/** JLine prompt: `[zk: 127.0.0.1:2181(CONNECTED) 3] `. */
const PROMPT = /\[zk: [^\]\n]*\((\w+)\) (\d+)\] /g;

/** Removes the watcher's output from `text` and returns it as events, in order of appearance. */
export function extractWatchEvents(text: string): { text: string; events: WatchedEventLine[] } {
  const events: WatchedEventLine[] = [];
  const withoutEvents = text.replace(WATCHED_EVENT, (_match, state: string, type: string, path: string) => {
    events.push({ state, type, path: path === 'null' ? null : path });
    return '';
  });
  return { text: withoutEvents.split(WATCHER_BANNER).join(''), events };
}

export interface ZkCliStep {
  /** The command sent (matched by position), '' when unknown. */
  command: string;
  /** Everything it printed (stdout and stderr, watcher lines removed), with its final newline. */
  output: string;
}

export interface ParsedTranscript {
  /** Text before the first prompt: "Connecting to ...", "Welcome to ZooKeeper!", ... */
  preamble: string;
  /** One per prompt that has been followed by another prompt (i.e. finished commands). */
  steps: ZkCliStep[];
  /** Text after the last prompt (a command still running, or `quit`). */
  tail: string;
  events: WatchedEventLine[];
  promptStates: string[];
}

/** Splits a JLine transcript at its prompts; `commands` names the steps in the order sent. */
export function parseTranscript(raw: string, commands: readonly string[] = []): ParsedTranscript {
  const { text, events } = extractWatchEvents(raw);
  const parts: string[] = [];
  const promptStates: string[] = [];
  let last = 0;
  for (const match of text.matchAll(PROMPT)) {
    parts.push(text.slice(last, match.index));
    promptStates.push(match[1] ?? '');
    last = match.index + match[0].length;
  }
  const tail = text.slice(last);
  const preamble = parts.shift() ?? '';
  const steps = parts.map((output, index): ZkCliStep => ({ command: commands[index] ?? '', output }));
  return { preamble, steps, tail, events, promptStates };
}

/** Output lines without the final empty one. */
export function outputLines(output: string): string[] {
  const lines = output.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** `[a, b, c]` (as zkCli prints a list) into its items. */
export function parseList(line: string): string[] {
  const trimmed = line.trim();
  if (!trimmed.startsWith('[') || !trimmed.endsWith(']')) throw new Error(`not a zkCli list: ${JSON.stringify(line)}`);
  const inner = trimmed.slice(1, -1).trim();
  return inner === '' ? [] : inner.split(', ');
}

export interface ZkCliStat {
  cZxid: bigint;
  ctime: string;
  mZxid: bigint;
  mtime: string;
  pZxid: bigint;
  cversion: number;
  dataVersion: number;
  aclVersion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
}

/** The Stat lines in the order zkCli prints them. */
export const STAT_FIELDS = [
  'cZxid',
  'ctime',
  'mZxid',
  'mtime',
  'pZxid',
  'cversion',
  'dataVersion',
  'aclVersion',
  'ephemeralOwner',
  'dataLength',
  'numChildren',
] as const;

type StatField = (typeof STAT_FIELDS)[number];
const HEX_FIELDS: ReadonlySet<StatField> = new Set(['cZxid', 'mZxid', 'pZxid', 'ephemeralOwner']);
const TIME_FIELDS: ReadonlySet<StatField> = new Set(['ctime', 'mtime']);
/** java.util.Date#toString: `Tue Nov 24 04:07:01 UTC 2026`. */
export const JAVA_DATE = /^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} \S+ \d{4}$/;

/** Parses the eleven `name = value` lines zkCli prints for a Stat; other lines are ignored. Throws
 * when a field is missing or malformed. */
export function parseStat(text: string): ZkCliStat {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^(\w+) = (.*)$/.exec(line);
    if (match && (STAT_FIELDS as readonly string[]).includes(match[1] ?? '')) values.set(match[1] ?? '', match[2] ?? '');
  }
  const get = (field: StatField): string => {
    const value = values.get(field);
    if (value === undefined) throw new Error(`Stat field ${field} missing in:\n${text}`);
    return value;
  };
  const hex = (field: StatField): bigint => {
    const value = get(field);
    if (!/^0x[0-9a-f]+$/.test(value)) throw new Error(`Stat field ${field} is not lower-case hex: ${value}`);
    return BigInt(value);
  };
  const int = (field: StatField): number => {
    const value = get(field);
    if (!/^-?\d+$/.test(value)) throw new Error(`Stat field ${field} is not an integer: ${value}`);
    return Number(value);
  };
  const time = (field: StatField): string => {
    const value = get(field);
    if (!JAVA_DATE.test(value)) throw new Error(`Stat field ${field} is not a Java date: ${value}`);
    return value;
  };
  return {
    cZxid: hex('cZxid'),
    ctime: time('ctime'),
    mZxid: hex('mZxid'),
    mtime: time('mtime'),
    pZxid: hex('pZxid'),
    cversion: int('cversion'),
    dataVersion: int('dataVersion'),
    aclVersion: int('aclVersion'),
    ephemeralOwner: hex('ephemeralOwner'),
    dataLength: int('dataLength'),
    numChildren: int('numChildren'),
  };
}

/** Splits output such as `get -s`, `ls -s` or `getAcl -s` into what precedes the Stat and the
 * Stat. Throws if the output does not end with exactly the eleven Stat lines. */
export function splitStat(output: string): { before: string; stat: ZkCliStat; statText: string } {
  const lines = outputLines(output);
  const start = lines.findIndex((line) => line.startsWith('cZxid = '));
  if (start < 0) throw new Error(`no Stat in output:\n${output}`);
  const statLines = lines.slice(start);
  const names = statLines.map((line) => line.split(' = ')[0]);
  if (names.join(',') !== STAT_FIELDS.join(',')) throw new Error(`Stat lines out of order or extra:\n${output}`);
  const before = lines.slice(0, start).map((line) => `${line}\n`).join('');
  const statText = statLines.map((line) => `${line}\n`).join('');
  return { before, stat: parseStat(statText), statText };
}

/** Replaces what varies between runs in Stat lines: zxids become <zxid> (0x0 stays), times <time>,
 * a non-zero ephemeralOwner <session>. */
export function normalizeStat(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const match = /^(\w+) = (.*)$/.exec(line);
      if (!match) return line;
      const field = match[1] as StatField;
      const value = match[2] ?? '';
      if (TIME_FIELDS.has(field) && JAVA_DATE.test(value)) return `${field} = <time>`;
      if (HEX_FIELDS.has(field) && /^0x[0-9a-f]+$/.test(value) && value !== '0x0') {
        return `${field} = ${field === 'ephemeralOwner' ? '<session>' : '<zxid>'}`;
      }
      return line;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Processes

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function spawnClient(args: string[], env: NodeJS.ProcessEnv, mergeStderr: boolean): ChildProcess {
  const install = installOrThrow();
  // bash -c 'exec "$@" 2>&1' runs zkCli.sh with stderr on the stdout pipe, preserving order.
  const child = mergeStderr
    ? spawn('bash', ['-c', 'exec "$@" 2>&1', 'zkcli', install.zkCli, ...args], {
        env,
        detached: true,
        stdio: ['pipe', 'pipe', 'ignore'],
      })
    : spawn(install.zkCli, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pgid = child.pid;
  if (pgid !== undefined) {
    trackProcessGroup(pgid);
    child.once('exit', () => {
      // zkCli.sh runs java as a child; make sure nothing of the group outlives the script.
      killGroup(child);
      untrackProcessGroup(pgid);
    });
  }
  child.on('error', () => undefined);
  return child;
}

function exitOf(child: ChildProcess, timeoutMs: number, what: string): Promise<number | null> {
  return new Promise<number | null>((resolveExit, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolveExit(child.exitCode);
      return;
    }
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`${what}: zkCli did not exit within ${timeoutMs} ms (killed)`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveExit(code);
    });
  });
}

export interface ZkCliResult {
  stdout: string;
  stderr: string;
  code: number | null;
  /** stdout without the "Connecting to ..." line and the watcher's lines: the command's result. */
  output: string;
  events: WatchedEventLine[];
}

/** `zkCli.sh -server <connectString> <args...>` in plain mode. */
export async function zkCliOneShot(connectString: string, args: string[], options: { timeoutMs?: number } = {}): Promise<ZkCliResult> {
  const child = spawnClient(['-server', connectString, ...args], zkCliEnv({ jline: false }), false);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<void>((resolveClosed) => child.once('close', () => resolveClosed()));
  const code = await exitOf(child, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, `zkCli ${args.join(' ')}`);
  await closed;
  const { text, events } = extractWatchEvents(stdout);
  const output = text.replace(/^Connecting to [^\n]*\n/, '');
  return { stdout, stderr, code, output, events };
}

export interface ZkCliTranscript extends ParsedTranscript {
  raw: string;
  code: number | null;
}

/** Runs `commands` then `quit` in one zkCli, all written to stdin at once. Throws when the
 * transcript does not hold one finished step per command. */
export async function zkCliPiped(connectString: string, commands: string[], options: { timeoutMs?: number } = {}): Promise<ZkCliTranscript> {
  for (const command of commands) {
    if (command.includes('\n')) throw new Error(`zkCli command contains a newline: ${JSON.stringify(command)}`);
  }
  const child = spawnClient(['-server', connectString], zkCliEnv({ jline: true }), true);
  let raw = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk));
  const closed = new Promise<void>((resolveClosed) => child.once('close', () => resolveClosed()));
  child.stdin?.on('error', () => undefined);
  child.stdin?.end([...commands, 'quit'].map((command) => `${command}\n`).join(''));
  const code = await exitOf(child, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'zkCli piped session');
  await closed;
  const parsed = parseTranscript(raw, commands);
  // The prompt after the last command is the one `quit` was read at.
  if (parsed.steps.length < commands.length) {
    throw new Error(`zkCli finished ${parsed.steps.length} of ${commands.length} commands (exit code ${String(code)}); output:\n${raw}`);
  }
  return { ...parsed, steps: parsed.steps.slice(0, commands.length), raw, code };
}

/** One zkCli JVM driven a command at a time. Always close() it (or kill()) in a finally/afterAll. */
export class ZkCliSession {
  #child: ChildProcess;
  #raw = '';
  #busy = false;
  readonly connectString: string;

  private constructor(child: ChildProcess, connectString: string) {
    this.#child = child;
    this.connectString = connectString;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.#raw += chunk));
    child.stdin?.on('error', () => undefined);
  }

  /** Starts zkCli and waits for its first prompt. */
  static async open(connectString: string, options: { timeoutMs?: number } = {}): Promise<ZkCliSession> {
    const child = spawnClient(['-server', connectString], zkCliEnv({ jline: true }), true);
    const session = new ZkCliSession(child, connectString);
    try {
      await session.#waitForPrompts(1, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'the first zkCli prompt');
    } catch (error) {
      session.kill();
      throw error;
    }
    return session;
  }

  /** Everything zkCli printed so far. */
  get raw(): string {
    return this.#raw;
  }

  transcript(): ParsedTranscript {
    return parseTranscript(this.#raw);
  }

  events(): WatchedEventLine[] {
    return extractWatchEvents(this.#raw).events;
  }

  #exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  async #waitForPrompts(count: number, timeoutMs: number, what: string): Promise<ParsedTranscript> {
    return waitFor(
      () => {
        const parsed = this.transcript();
        if (parsed.promptStates.length >= count) return parsed;
        if (this.#exited()) throw new Error(`zkCli exited while waiting for ${what}; output:\n${this.#raw}`);
        return undefined;
      },
      { timeoutMs, intervalMs: 10, what, detail: () => `zkCli output so far:\n${this.#raw}` },
    );
  }

  /** Sends one command, waits for the next prompt, and returns what the command printed (stdout
   * and stderr, watcher lines removed). */
  async run(command: string, options: { timeoutMs?: number } = {}): Promise<string> {
    if (command.includes('\n')) throw new Error(`zkCli command contains a newline: ${JSON.stringify(command)}`);
    if (this.#busy) throw new Error('ZkCliSession.run called while another command is running');
    this.#busy = true;
    try {
      const before = this.transcript().promptStates.length;
      this.#child.stdin?.write(`${command}\n`);
      const parsed = await this.#waitForPrompts(before + 1, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, `zkCli to finish '${command}'`);
      const step = parsed.steps[before - 1];
      if (step === undefined) throw new Error(`no zkCli output for ${JSON.stringify(command)}; output:\n${this.#raw}`);
      return step.output;
    } finally {
      this.#busy = false;
    }
  }

  /** Waits until zkCli has printed an event matching `match` and returns it. */
  async waitForEvent(
    match: (event: WatchedEventLine) => boolean,
    options: { timeoutMs?: number; what: string },
  ): Promise<WatchedEventLine> {
    return waitFor(() => this.events().find(match), {
      timeoutMs: options.timeoutMs ?? 10_000,
      intervalMs: 10,
      what: options.what,
      detail: () => `events so far: ${JSON.stringify(this.events())}`,
    });
  }

  /** Sends `quit`, waits for the exit, returns the whole output. */
  async close(): Promise<string> {
    if (!this.#exited()) {
      this.#child.stdin?.end('quit\n');
      await exitOf(this.#child, QUIT_TIMEOUT_MS, 'zkCli quit');
    }
    return this.#raw;
  }

  /** Kills the client without a goodbye (its session then lingers until it expires). */
  kill(): void {
    killGroup(this.#child);
  }
}

/** Opens a session, runs `body`, and always closes the session. */
export async function withZkCli<T>(connectString: string, body: (cli: ZkCliSession) => Promise<T>): Promise<T> {
  const cli = await ZkCliSession.open(connectString);
  try {
    return await body(cli);
  } finally {
    await cli.close().catch(() => cli.kill());
  }
}
