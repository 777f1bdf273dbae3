// Bad things on disk, as the real server meets them at start-up (and one while running):
//
// - a dataDir or dataLogDir it cannot create: exit non-zero with one line naming the directory;
// - a damaged newest snapshot: start from the older one plus the log, serve everything, and say
//   which snapshot was skipped;
// - a torn txn log tail (garbage after the last entry, or the last entry cut short): truncate it,
//   say how many bytes went, serve every complete txn;
// - damage in the middle of a log, a log with a foreign version, a snapshot with a foreign magic
//   or version: refuse to start with one line naming the file, and leave the file as it was;
// - a full disk (a 1 MiB tmpfs, when this process may mount one): the server stops taking writes
//   (clients see their connection close, never an acknowledgement of a write that is not
//   durable), and after the files are copied to a roomier disk every acknowledged write is there.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { readAllTxns } from '../../src/persist/txn-log-reader.js';
import { Err, errName } from '../../src/proto/error-codes.js';
import { OpCode } from '../../src/proto/opcodes.js';
import { freePort } from '../support/ports.js';
import { RawClient, RawClientError } from '../support/raw-client.js';
import { startTszkServer, TSZK_MAIN, type TestServer } from '../support/zk-server.js';
import { logLines } from '../support/server-log.js';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 20_000;

let work: string;
let server: TestServer | null = null;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'tszk-durability-errors-'));
});
afterEach(async () => {
  await server?.stop();
  server = null;
  await rm(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------- helpers

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `tszk start-foreground <cfg>` expecting it to give up; a server that starts is killed
 * after START_TIMEOUT_MS and shows up as signal SIGKILL. `as` runs it as another user. */
function startForegroundToExit(configFile: string, as?: { uid: number; gid: number }, timeoutMs = START_TIMEOUT_MS): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TSZK_MAIN, 'start-foreground', configFile],
      { cwd: work, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, ...as },
      (error, stdout, stderr) => {
        const e = error as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
          signal: e?.signal ?? null,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

async function writeConfig(settings: Record<string, string>): Promise<string> {
  const file = join(work, 'zoo.cfg');
  const all: Record<string, string> = {
    tickTime: '2000',
    clientPort: String(await freePort()),
    clientPortAddress: HOST,
    'admin.enableServer': 'false',
    '4lw.commands.whitelist': '*',
    ...settings,
  };
  await writeFile(file, Object.entries(all).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  return file;
}

/** The refusal we want: a non-zero exit (not our timeout), and one line on stderr, no stack. */
function expectRefusal(exit: Exit, mentions: string): void {
  const context = `exit ${String(exit.code)} signal ${String(exit.signal)}\nstderr:\n${exit.stderr}\nstdout (tail):\n${exit.stdout.slice(-2000)}`;
  expect(exit.signal, `the server started instead of refusing: ${context}`).toBeNull();
  expect(exit.code, context).not.toBe(0);
  expect(exit.stderr, context).toContain(mentions);
  expect(exit.stderr, `a stack trace on stderr: ${context}`).not.toMatch(/\n\s+at \S/);
}


function sha(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

async function withClient<T>(srv: TestServer, body: (c: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.connect({ host: srv.host, port: srv.clientPort, timeOutMs: 30_000 });
  try {
    return await body(client);
  } finally {
    await client.closeQuietly();
  }
}

/** Expected contents: path -> data and version, as acknowledged. */
type Expected = Map<string, { data: string; version: number }>;

async function mustOk(what: string, p: Promise<{ err: number }>): Promise<void> {
  const res = await p;
  if (res.err !== Err.ok) throw new Error(`${what}: ${errName(res.err)}`);
}

/** Creates /d/<prefix><i> for i < count (pipelined, all acknowledged). */
async function createNodes(c: RawClient, expected: Expected, prefix: string, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const path = `/d/${prefix}${i}`;
      const data = `${path} created`;
      expected.set(path, { data, version: 0 });
      return mustOk(`create ${path}`, c.create(path, data));
    }),
  );
}

async function setNodes(c: RawClient, expected: Expected, paths: string[], tag: string): Promise<void> {
  await Promise.all(
    paths.map((path) => {
      const before = expected.get(path)!;
      const data = `${path} ${tag}`;
      expected.set(path, { data, version: before.version + 1 });
      return mustOk(`setData ${path}`, c.setData(path, data));
    }),
  );
}

/** Every expected node with its data and version, and nothing else under /d. */
async function expectContents(srv: TestServer, expected: Expected): Promise<void> {
  await withClient(srv, async (c) => {
    const kids = await c.getChildren('/d');
    expect(kids.err).toBe(Err.ok);
    const present = new Set((kids.response?.children ?? []).map((n) => `/d/${n}`));
    expect([...present].sort()).toEqual([...expected.keys()].sort());
    const paths = [...expected.keys()];
    const replies = await Promise.all(paths.map((p) => c.getData(p)));
    const wrong: string[] = [];
    paths.forEach((path, i) => {
      const res = replies[i]!;
      const want = expected.get(path)!;
      const got = res.response;
      if (res.err !== Err.ok || got === undefined) wrong.push(`${path}: ${errName(res.err)}`);
      else if (got.data?.toString() !== want.data || got.stat.version !== want.version) {
        wrong.push(`${path}: ${JSON.stringify(got.data?.toString())} v${got.stat.version}, expected ${JSON.stringify(want.data)} v${want.version}`);
      }
    });
    expect(wrong).toEqual([]);
  });
}

async function startOn(dataDir: string, extra: Record<string, string> = {}): Promise<TestServer> {
  server = await startTszkServer({ extraConfig: { dataDir, preAllocSize: '64', ...extra } });
  return server;
}

/** SIGKILL, as a crash: the server gets no chance to write anything more. */
async function crash(srv: TestServer): Promise<void> {
  try {
    process.kill(-srv.pid, 'SIGKILL');
  } catch {
    // gone already
  }
  await srv.stop();
  if (server === srv) server = null;
}

async function stopGracefully(srv: TestServer): Promise<void> {
  await srv.stop();
  if (server === srv) server = null;
}

function snapshotsIn(dir: string): { name: string; zxid: bigint }[] {
  return readdirSync(dir)
    .map((name) => ({ name, m: /^snapshot\.([0-9a-f]+)$/.exec(name) }))
    .filter((x) => x.m !== null)
    .map((x) => ({ name: x.name, zxid: BigInt(`0x${x.m![1]!}`) }))
    .sort((a, b) => (a.zxid < b.zxid ? -1 : a.zxid > b.zxid ? 1 : 0));
}

function logsIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /^log\.[0-9a-f]+$/.test(n))
    .sort((a, b) => {
      const x = BigInt(`0x${a.slice(4)}`);
      const y = BigInt(`0x${b.slice(4)}`);
      return x < y ? -1 : x > y ? 1 : 0;
    });
}

/** A fresh server with /d and `count` nodes under it, killed right after the last ack: one log file. */
async function oneLogWith(count: number): Promise<{ dataDir: string; logDir: string; logFile: string; expected: Expected }> {
  const dataDir = join(work, 'data');
  const srv = await startOn(dataDir);
  const expected: Expected = new Map();
  const c = await RawClient.connect({ host: srv.host, port: srv.clientPort, timeOutMs: 30_000 });
  await mustOk('create /d', c.create('/d', ''));
  // One at a time: one txn per entry, in a known order, the last one a create.
  for (let i = 0; i < count; i++) {
    const path = `/d/n${i}`;
    expected.set(path, { data: `${path} created`, version: 0 });
    await mustOk(`create ${path}`, c.create(path, `${path} created`));
  }
  await crash(srv);
  c.destroy();
  const logDir = join(dataDir, 'version-2');
  const logs = logsIn(logDir);
  expect(logs).toHaveLength(1);
  return { dataDir, logDir, logFile: join(logDir, logs[0]!), expected };
}

/** The file offset where each entry starts and where the last one ends. */
async function entryLayout(logDir: string): Promise<{ offsets: number[]; end: number; paths: (string | null)[] }> {
  const { txns } = await readAllTxns(logDir, 0n);
  const offsets = txns.map((t) => t.offset);
  const paths = txns.map((t) => (t.body.type === OpCode.create ? t.body.record.path : null));
  const buf = await readFile(txns[txns.length - 1]!.file);
  const last = offsets[offsets.length - 1]!;
  return { offsets, end: last + 12 + buf.readInt32BE(last + 8) + 1, paths };
}

// ---------------------------------------------------------------- the tests

describe('a data directory the server cannot use', () => {
  test('dataDir below a regular file: exit non-zero, naming the directory', async () => {
    const file = join(work, 'not-a-dir');
    await writeFile(file, 'x');
    const dataDir = join(file, 'data');
    const exit = await startForegroundToExit(await writeConfig({ dataDir }));
    expectRefusal(exit, dataDir);
  });

  test('dataLogDir below a regular file: exit non-zero, naming the directory', async () => {
    const file = join(work, 'not-a-dir');
    await writeFile(file, 'x');
    const dataLogDir = join(file, 'datalog');
    const exit = await startForegroundToExit(await writeConfig({ dataDir: join(work, 'data'), dataLogDir }));
    expectRefusal(exit, dataLogDir);
  });

  test('dataDir in a directory without write permission: exit non-zero, naming the directory', async (ctx) => {
    // Mode bits do not stop root (CAP_DAC_OVERRIDE): as root, run the server as nobody.
    const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
    const parent = join(work, 'read-only');
    await mkdir(parent);
    chmodSync(work, 0o755);
    chmodSync(parent, 0o555);
    try {
      const probe = spawnSync('mkdir', [join(parent, 'probe')], { ...as });
      if (probe.error !== undefined || probe.status === 0) {
        ctx.skip(`mode 555 does not stop this user (${probe.error?.message ?? 'mkdir succeeded'}); the regular-file cases stand in`);
        return;
      }
      const runs = spawnSync(process.execPath, [TSZK_MAIN, 'version'], { cwd: work, ...as });
      if (runs.status !== 0) {
        ctx.skip(`tszk does not run as uid ${String(as?.uid)} here: ${String(runs.stderr).trim()}`);
        return;
      }
      const dataDir = join(parent, 'data');
      const configFile = await writeConfig({ dataDir });
      chmodSync(configFile, 0o644);
      const exit = await startForegroundToExit(configFile, as);
      expectRefusal(exit, dataDir);
      expect(exit.stderr).toMatch(/EACCES|permission denied/i);
    } finally {
      chmodSync(parent, 0o755);
    }
  });
});

describe('a damaged newest snapshot', () => {
  // Three starts on one dataDir, each with writes: the second and third start each take a
  // snapshot (the log had txns to replay), so there are two snapshots after snapshot.0.
  async function twoSnapshots(): Promise<{ dataDir: string; snapDir: string; expected: Expected; older: string; newest: string }> {
    const dataDir = join(work, 'data');
    const expected: Expected = new Map();
    let srv = await startOn(dataDir);
    await withClient(srv, async (c) => {
      await mustOk('create /d', c.create('/d', ''));
      await createNodes(c, expected, 'a', 50);
    });
    await stopGracefully(srv);
    srv = await startOn(dataDir);
    await withClient(srv, async (c) => {
      await createNodes(c, expected, 'b', 50);
      await setNodes(c, expected, ['/d/a1', '/d/a2', '/d/a3'], 'set in phase b');
    });
    await stopGracefully(srv);
    srv = await startOn(dataDir);
    await withClient(srv, async (c) => {
      await createNodes(c, expected, 'c', 50);
      await setNodes(c, expected, ['/d/a1', '/d/b1'], 'set in phase c');
      await mustOk('delete /d/a4', c.delete('/d/a4'));
      expected.delete('/d/a4');
    });
    await crash(srv);
    const snapDir = join(dataDir, 'version-2');
    const snaps = snapshotsIn(snapDir);
    expect(snaps.length).toBeGreaterThanOrEqual(3);
    return { dataDir, snapDir, expected, older: snaps[snaps.length - 2]!.name, newest: snaps[snaps.length - 1]!.name };
  }

  const damages: [string, (file: string) => Promise<void>][] = [
    [
      'a checksum byte flipped',
      async (file) => {
        // The file ends: seal (checksum:long "/"), ZxidDigest (long int long), seal. Flip the low
        // byte of the first seal's checksum.
        const buf = await readFile(file);
        const at = buf.length - 13 - 20 - 13 + 7;
        buf[at] = buf[at]! ^ 0xff;
        await writeFile(file, buf);
      },
    ],
    [
      'a data byte flipped',
      async (file) => {
        const buf = await readFile(file);
        const at = buf.indexOf('/d/b1 created');
        expect(at).toBeGreaterThan(0);
        buf[at + 4] = buf[at + 4]! ^ 0x01;
        await writeFile(file, buf);
      },
    ],
    ['cut in half', async (file) => truncate(file, Math.floor((await stat(file)).size / 2))],
  ];

  for (const [how, damage] of damages) {
    test(`newest snapshot with ${how}: start from the older one plus the log, serve everything, log the skip`, async () => {
      const { dataDir, snapDir, expected, older, newest } = await twoSnapshots();
      await damage(join(snapDir, newest));
      const srv = await startOn(dataDir);
      await expectContents(srv, expected);
      const lines = logLines(srv.logFile);
      const skipped = lines.find((l) => /skipping a damaged snapshot/.test(l.msg));
      expect(skipped, `no line about the skipped snapshot in:\n${readFileSync(srv.logFile, 'utf8')}`).toBeDefined();
      expect(String(skipped!['snapshot'])).toBe(join(snapDir, newest));
      const restored = lines.find((l) => l.msg === 'database restored');
      expect(restored?.['snapshotZxid']).toBe(`0x${older.slice('snapshot.'.length)}`);
      expect(Number(restored?.['replayedTxns'])).toBeGreaterThan(0);
    });
  }
});

describe('a torn txn log tail', () => {
  test('garbage after the last entry: truncated, the log line says how much, every txn served', async () => {
    const { dataDir, logDir, logFile, expected } = await oneLogWith(30);
    const { end } = await entryLayout(logDir);
    const garbage = Buffer.alloc(100, 0xa5);
    const fh = await open(logFile, 'r+');
    await fh.write(garbage, 0, garbage.length, end);
    await fh.close();

    const srv = await startOn(dataDir);
    await expectContents(srv, expected);
    const torn = logLines(srv.logFile).find((l) => /torn write/.test(l.msg));
    expect(torn, readFileSync(srv.logFile, 'utf8')).toBeDefined();
    expect(torn!['file']).toBe(logFile);
    expect(torn!['offset']).toBe(end);
    expect(torn!['droppedBytes']).toBe(garbage.length);
    expect((await stat(logFile)).size).toBe(end);
    // And the next start is clean.
    await crash(srv);
    const again = await startOn(dataDir);
    await expectContents(again, expected);
    expect(logLines(again.logFile).some((l) => /torn write/.test(l.msg))).toBe(false);
  });

  test('the last entry cut short: truncated, every complete txn served, the cut one gone', async () => {
    const { dataDir, logDir, logFile, expected } = await oneLogWith(30);
    const { offsets, paths } = await entryLayout(logDir);
    const last = offsets[offsets.length - 1]!;
    expect(paths[paths.length - 1]).toBe('/d/n29');
    await truncate(logFile, last + 20);
    expected.delete('/d/n29');

    const srv = await startOn(dataDir);
    await expectContents(srv, expected);
    const torn = logLines(srv.logFile).find((l) => /torn write/.test(l.msg));
    expect(torn, readFileSync(srv.logFile, 'utf8')).toBeDefined();
    expect(torn!['offset']).toBe(last);
    expect(torn!['droppedBytes']).toBe(20);
    expect((await stat(logFile)).size).toBe(last);
  });
});

describe('damage the server must not start on', () => {
  test('a byte flipped in an early entry of a multi-entry log: refuse, naming the file, change nothing', async () => {
    const { dataDir, logDir, logFile } = await oneLogWith(30);
    const { offsets } = await entryLayout(logDir);
    expect(offsets.length).toBeGreaterThan(20);
    const buf = await readFile(logFile);
    const at = offsets[3]! + 12 + 30; // inside the payload of the fourth entry
    buf[at] = buf[at]! ^ 0x10;
    await writeFile(logFile, buf);
    const before = sha(buf);

    const exit = await startForegroundToExit(await writeConfig({ dataDir }));
    expectRefusal(exit, logFile);
    expect(exit.stderr).toMatch(/offset \d+/);
    expect(sha(await readFile(logFile)), 'the refused start changed the log').toBe(before);
  });

  test("a log whose FileHeader version is not 2: refuse, naming the file", async () => {
    const { dataDir, logFile } = await oneLogWith(5);
    const buf = await readFile(logFile);
    buf.writeInt32BE(3, 4);
    await writeFile(logFile, buf);
    const before = sha(buf);
    const exit = await startForegroundToExit(await writeConfig({ dataDir }));
    expectRefusal(exit, logFile);
    expect(exit.stderr).toMatch(/version 3/);
    expect(sha(await readFile(logFile))).toBe(before);
  });

  test('a log with a foreign magic: refuse, naming the file', async () => {
    const { dataDir, logFile } = await oneLogWith(5);
    const buf = await readFile(logFile);
    buf.write('NOPE', 0, 'latin1');
    await writeFile(logFile, buf);
    const exit = await startForegroundToExit(await writeConfig({ dataDir }));
    expectRefusal(exit, logFile);
  });

  for (const [what, patch, mentions] of [
    ['a foreign magic', (b: Buffer) => void b.write('JUNK', 0, 'latin1'), /magic/],
    ['format version 3', (b: Buffer) => void b.writeInt32BE(3, 4), /version 3/],
  ] as const) {
    test(`the newest snapshot with ${what}: refuse (no silent fallback past data we cannot read), naming the file`, async () => {
      const { dataDir, logDir } = await oneLogWith(5);
      const snaps = snapshotsIn(logDir);
      const newest = join(logDir, snaps[snaps.length - 1]!.name);
      const buf = await readFile(newest);
      patch(buf);
      await writeFile(newest, buf);
      const exit = await startForegroundToExit(await writeConfig({ dataDir }));
      expectRefusal(exit, newest);
      expect(exit.stderr).toMatch(mentions);
    });
  }
});

// ---------------------------------------------------------------- a full disk

/** Mounts a tmpfs of `size` on a new dir, or says why it cannot. */
function mountTmpfs(dir: string, size: string): string | null {
  const res = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (res.error !== undefined) return res.error.message;
  return res.status === 0 ? null : (res.stderr.trim() || `mount exited ${String(res.status)}`);
}

describe('a full disk', () => {
  let mountDir: string | null = null;
  let mounted = false;
  let cannotMount: string | null = null;
  beforeAll(async () => {
    mountDir = await mkdtemp(join(tmpdir(), 'tszk-full-disk-'));
    cannotMount = process.platform !== 'linux' ? 'not Linux' : mountTmpfs(mountDir, '1m');
    mounted = cannotMount === null;
  });
  afterAll(async () => {
    if (mountDir === null) return;
    if (mounted) spawnSync('umount', ['-l', mountDir]);
    await rm(mountDir, { recursive: true, force: true });
  });

  test('writes stop with closed connections, and every acknowledged write survives on a bigger disk', async (ctx) => {
    if (cannotMount !== null) {
      ctx.skip(`cannot mount a 1 MiB tmpfs here (${cannotMount}); the unit tests inject write and fsync errors instead`);
      return;
    }
    const dataDir = join(mountDir!, 'data');
    const srv = await startOn(dataDir, { preAllocSize: '16' });
    const acked = new Map<string, string>();
    const sent = new Set<string>();
    const outcomes = new Map<string, number>();
    const client = await RawClient.connect({ host: srv.host, port: srv.clientPort, timeOutMs: 30_000 });
    await mustOk('create /d', client.create('/d', ''));
    const payload = 'x'.repeat(2000);
    // Pipelined creates of 2 KB until the server stops answering: 1 MiB cannot hold 1000 of them.
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 1000 && !client.closed; i++) {
      const path = `/d/n${i}`;
      const data = `${path} ${payload}`;
      sent.add(path);
      pending.push(
        client.create(path, data).then(
          (res) => {
            if (res.err === Err.ok) acked.set(path, data);
            else outcomes.set(`error ${errName(res.err)}`, (outcomes.get(`error ${errName(res.err)}`) ?? 0) + 1);
          },
          (error: unknown) => {
            const key = error instanceof RawClientError ? error.code : String(error);
            outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
          },
        ),
      );
      if (pending.length % 16 === 0) await Promise.race([Promise.all(pending.slice(-16)), client.closedPromise]);
    }
    await Promise.all(pending);
    const closedInTime = await client.waitClosed(10_000);
    const log = readFileSync(srv.logFile, 'utf8');
    expect(closedInTime, `the server kept the connection open on a full disk; log:\n${log.slice(-3000)}`).toBe(true);
    // Every write not acknowledged ended with the connection, none with a reply that lied.
    expect([...outcomes.keys()]).toEqual(['RAW_CLIENT_CLOSED']);
    expect(acked.size).toBeGreaterThan(0);
    expect(acked.size).toBeLessThan(sent.size);
    const fatal = logLines(srv.logFile).find((l) => l.level >= 60);
    expect(fatal, log.slice(-3000)).toBeDefined();
    expect(JSON.stringify(fatal)).toMatch(/ENOSPC|no space/i);
    await crash(srv); // it has exited already; this reaps it and removes its temp dir
    console.log(
      `full disk: ${acked.size} of ${sent.size} creates acknowledged before the server stopped: ` +
        `${String(fatal!['msg'])}: ${String((fatal!['err'] as { message?: string } | undefined)?.message)}`,
    );

    // A start on the still-full disk: whether it gets as far as serving depends on the few bytes
    // left (the pid file, the start-up snapshot); either way it must not damage the files.
    const onFull = await startForegroundToExit(await writeConfig({ dataDir, preAllocSize: '16' }), undefined, 3000);
    expect(onFull.stderr, 'a stack trace on stderr').not.toMatch(/\n\s+at \S/);
    console.log(
      `full disk, restart on it: ${onFull.signal === null ? `exit ${String(onFull.code)}: ${onFull.stderr.trim().split('\n').pop()}` : 'started (killed after 3 s)'}`,
    );
    // A roomier disk: copy the files over and start there.
    const bigDataDir = join(work, 'copied');
    await cp(dataDir, bigDataDir, { recursive: true });
    const again = await startOn(bigDataDir);
    await withClient(again, async (c) => {
      const kids = await c.getChildren('/d');
      const present = new Set((kids.response?.children ?? []).map((n) => `/d/${n}`));
      const lost = [...acked.keys()].filter((p) => !present.has(p));
      expect(lost, 'acknowledged creates missing after the full disk').toEqual([]);
      const unsent = [...present].filter((p) => !sent.has(p));
      expect(unsent).toEqual([]);
      const replies = await Promise.all([...present].map((p) => c.getData(p)));
      const wrong = [...present].filter((p, i) => replies[i]!.response?.data?.toString() !== `${p} ${payload}`);
      expect(wrong).toEqual([]);
    });
  });
});
