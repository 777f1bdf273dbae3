import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fourLetterWord } from '../support/four-letter.js';
import { freePort } from '../support/ports.js';
import { RawClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';
import { TSZK_MAIN } from '../support/zk-server.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tszk-tools-'));
const cfg = join(dir, 'zoo.cfg');
const versionDir = join(dir, 'data', 'version-2');
let server: ChildProcess | null = null;

async function tszk(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [TSZK_MAIN, ...args], { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '' };
  }
}

beforeAll(async () => {
  const port = await freePort();
  // snapCount 2: a snapshot (and a new log file) every one or two txns.
  writeFileSync(cfg, `tickTime=2000\ndataDir=${join(dir, 'data')}\nclientPort=${port}\nsnapCount=2\npreAllocSize=64\nadmin.enableServer=false\n4lw.commands.whitelist=*\n`);
  server = spawn(process.execPath, [TSZK_MAIN, 'start-foreground', cfg], { stdio: 'ignore' });
  await waitFor(async () => (await fourLetterWord('127.0.0.1', port, 'ruok').catch(() => '')) === 'imok', { timeoutMs: 20_000, what: 'tszk to answer ruok' });
  const client = await RawClient.connect({ host: '127.0.0.1', port });
  for (let i = 0; i < 12; i++) expect((await client.create(`/n${i}`, `value-${i}`)).err).toBe(0);
  expect((await client.setData('/n0', 'changed')).err).toBe(0);
  // Snapshots are written between requests: wait until the last txn's is on disk.
  await waitFor(() => readdirSync(versionDir).filter((f) => /^snapshot\.[0-9a-f]+$/.test(f)).length >= 6, { timeoutMs: 10_000, what: 'snapshots' });
  await client.closeQuietly();
  server.kill('SIGTERM');
  await once(server, 'exit');
  server = null;
});

afterAll(() => {
  server?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('offline data tools', () => {
  test('txnlog prints every txn of a log file and verifies checksums', async () => {
    const logs = readdirSync(versionDir).filter((f) => f.startsWith('log.'));
    let all = '';
    for (const log of logs) {
      const r = await tszk('txnlog', join(versionDir, log));
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/EOF reached after \d+ txns\./);
      all += r.stdout;
    }
    for (let i = 0; i < 12; i++) expect(all).toContain(`"path":"/n${i}"`);
    expect(all).toMatch(/zxid 0x[0-9a-f]+ setData \{"path":"\/n0"/);
    expect(all).toContain(' createSession ');
  });

  test('txnlog reports damage instead of printing garbage', async () => {
    const logs = readdirSync(versionDir).filter((f) => f.startsWith('log.'));
    const { readFileSync } = await import('node:fs');
    const buf = readFileSync(join(versionDir, logs[0]!));
    buf[16 + 20] ^= 0xff; // inside the first entry's payload
    const damaged = join(dir, 'log.damaged');
    writeFileSync(damaged, buf);
    const r = await tszk('txnlog', damaged);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Stopped after 0 txns at offset 16: checksum/);
  });

  test('snapshot prints nodes, sessions and digest; --json is machine readable', async () => {
    const snaps = readdirSync(versionDir).filter((f) => /^snapshot\.[0-9a-f]+$/.test(f));
    const newest = snaps.sort((a, b) => Number.parseInt(b.slice(9), 16) - Number.parseInt(a.slice(9), 16))[0]!;
    const text = await tszk('snapshot', join(versionDir, newest));
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ZNode Details \(count=\d+\):/);
    expect(text.stdout).toContain('\n/n0\n');
    const json = await tszk('snapshot', join(versionDir, newest), '--json');
    const doc = JSON.parse(json.stdout) as { nodes: Array<{ path: string; stat: { dataLength: number } }> };
    const paths = doc.nodes.map((n) => n.path);
    expect(paths).toEqual(expect.arrayContaining(['/', '/zookeeper', '/n0', '/n11']));
    expect(doc.nodes.find((n) => n.path === '/n0')?.stat.dataLength).toBe('changed'.length);
  });

  test('purge keeps the newest snapshots and the logs they need, and the server still restores', async () => {
    const before = readdirSync(versionDir).filter((f) => /^snapshot\.[0-9a-f]+$/.test(f)).length;
    expect(before).toBeGreaterThan(3);
    const r = await tszk('purge', cfg, '-n', '3');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`removed ${before - 3} snapshots`);
    expect(readdirSync(versionDir).filter((f) => /^snapshot\.[0-9a-f]+$/.test(f))).toHaveLength(3);
    const refused = await tszk('purge', cfg, '-n', '2');
    expect(refused.code).toBe(1);

    // Restart on the purged directory: every node is still there.
    const port = Number(/clientPort=(\d+)/.exec((await import('node:fs')).readFileSync(cfg, 'utf8'))![1]);
    server = spawn(process.execPath, [TSZK_MAIN, 'start-foreground', cfg], { stdio: 'ignore' });
    await waitFor(async () => (await fourLetterWord('127.0.0.1', port, 'ruok').catch(() => '')) === 'imok', { timeoutMs: 20_000, what: 'tszk to restart' });
    const client = await RawClient.connect({ host: '127.0.0.1', port });
    expect((await client.getData('/n0')).response?.data?.toString()).toBe('changed');
    expect((await client.getChildren('/')).response?.children.sort()).toEqual(
      ['zookeeper', ...Array.from({ length: 12 }, (_, i) => `n${i}`)].sort(),
    );
    await client.closeQuietly();
  });
});
