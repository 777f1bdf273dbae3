import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { freePort } from '../support/ports.js';
import { REPO_ROOT } from '../support/zk-server.js';
import { isProcessAlive } from '../../src/cli/daemon.js';

const run = promisify(execFile);
const TSZK = join(REPO_ROOT, 'bin', 'tszk');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function tszk(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(TSZK, args, { env: { ...process.env, ZOO_LOG_DIR: logDir }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tszk-cli-'));
const logDir = join(dir, 'logs');
let started = false;

afterAll(async () => {
  if (started) await tszk('stop', join(dir, 'zoo.cfg'));
  rmSync(dir, { recursive: true, force: true });
});

describe('tszk start / status / stop, like zkServer.sh', () => {
  test('start returns once serving, status reports standalone, stop waits for the end', async () => {
    const port = await freePort();
    const cfg = join(dir, 'zoo.cfg');
    writeFileSync(cfg, `tickTime=2000\ndataDir=${join(dir, 'data')}\nclientPort=${port}\nadmin.enableServer=false\n`);

    const start = await tszk('start', cfg);
    started = start.code === 0;
    expect(start.stdout).toContain('STARTED');
    expect(start.code).toBe(0);
    const pidFile = join(dir, 'data', 'zookeeper_server.pid');
    expect(existsSync(pidFile)).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(pid).toBeGreaterThan(0);
    // The daemon starts the server as bin/tszk start-foreground does: from the startup snapshot.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('--snapshot-blob');

    const again = await tszk('start', cfg);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain(`already running as process ${pid}`);

    const status = await tszk('status', cfg);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Mode: standalone');

    const stop = await tszk('stop', cfg);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain('STOPPED');
    started = false;
    expect(existsSync(pidFile)).toBe(false);
    // Gone, or a zombie its (exited) launcher's parent has not reaped yet.
    expect(isProcessAlive(pid)).toBe(false);

    const down = await tszk('status', cfg);
    expect(down.code).toBe(1);
    expect(down.stdout + down.stderr).toContain('It is probably not running');
  });

  test('a bad config names the key and the line and exits non-zero', async () => {
    const cfg = join(dir, 'bad.cfg');
    writeFileSync(cfg, `dataDir=${join(dir, 'bad')}\nclientPort=2181\ntickTime=fast\n`);
    const r = await tszk('start-foreground', cfg);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('tickTime');
    expect(r.stderr).toContain(':3');
  });

  test('version', async () => {
    const r = await tszk('version');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tszk, version \d+\.\d+\.\d+/);
  });
});
