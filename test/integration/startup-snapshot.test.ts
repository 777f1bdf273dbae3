import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { MAIN_JS, serverLaunch, SNAPSHOT_BLOB, SNAPSHOT_STAMP, snapshotStamp, usableSnapshot } from '../../src/cli/launch.js';
import { freePort } from '../support/ports.js';
import { probeSession, REPO_ROOT } from '../support/zk-server.js';
import { waitFor } from '../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'tszk-snapshot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the startup snapshot', () => {
  test('the build made one, fit for this node binary and this build', () => {
    expect(usableSnapshot(REPO_ROOT, {})).toBe(join(REPO_ROOT, SNAPSHOT_BLOB));
  });

  /** Runs bin/tszk start-foreground until it serves; returns the server's argv and output. */
  async function startForeground(name: string, nodeOptions: string): Promise<{ argv: string[]; output: string }> {
    const port = await freePort();
    const cfg = join(dir, `${name}.cfg`);
    writeFileSync(cfg, `tickTime=2000\ndataDir=${join(dir, name)}\nclientPort=${port}\nadmin.enableServer=false\n`);
    const env = { ...process.env, NODE_OPTIONS: nodeOptions };
    const child = spawn(join(REPO_ROOT, 'bin', 'tszk'), ['start-foreground', cfg], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    let argv: string[] = [];
    try {
      await waitFor(() => probeSession('127.0.0.1', port, 1000), { timeoutMs: 20_000, what: 'a session from the server', detail: () => output });
      // bin/tszk execs node, so the child is the server itself.
      argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      expect(output).toContain('"msg":"tszk started"');
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    expect(output).toContain('"msg":"tszk stopped"');
    return { argv, output };
  }

  test('bin/tszk start-foreground runs the server from it, and it serves', async () => {
    const { argv } = await startForeground('plain', '');
    expect(argv).toContain('--snapshot-blob');
    expect(argv).not.toContain(join(REPO_ROOT, MAIN_JS));
  });

  test('with NODE_OPTIONS (which node refuses a snapshot under) the server starts from main.js', async () => {
    // Starting from the snapshot here would exit 14: "built with different V8 configurations".
    const { argv } = await startForeground('options', '--max-old-space-size=512');
    expect(argv).not.toContain('--snapshot-blob');
    expect(argv).toContain(join(REPO_ROOT, MAIN_JS));
    expect(serverLaunch(REPO_ROOT, 'z.cfg', [], { NODE_OPTIONS: '--max-old-space-size=512' }).snapshot).toBeNull();
    expect(serverLaunch(REPO_ROOT, 'z.cfg', ['--max-semi-space-size=64'], {}).snapshot).toBeNull();
    expect(serverLaunch(REPO_ROOT, 'z.cfg', [], { NODE_OPTIONS: ' ' }).snapshot).not.toBeNull();
  });

  test('it runs start-foreground only, and says where the rest is', () => {
    const r = spawnSync(process.execPath, ['--snapshot-blob', join(REPO_ROOT, SNAPSHOT_BLOB), 'version'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('runs start-foreground [config] only');
    expect(r.stderr).toContain('dist/cli/main.js');
  });

  test('a snapshot older than the build, or made for another node, is passed over', () => {
    const root = join(dir, 'checkout');
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    mkdirSync(join(root, 'dist', 'snapshot'), { recursive: true });
    writeFileSync(join(root, MAIN_JS), '// a build\n');
    writeFileSync(join(root, SNAPSHOT_BLOB), 'not really a blob');
    expect(usableSnapshot(root, {})).toBeNull(); // no stamp

    writeFileSync(join(root, SNAPSHOT_STAMP), `${snapshotStamp(root)}\n`);
    expect(usableSnapshot(root, {})).toBe(join(root, SNAPSHOT_BLOB));

    // tsc rewrote the build after the snapshot was made.
    utimesSync(join(root, MAIN_JS), new Date(), new Date(Date.now() + 5_000));
    expect(usableSnapshot(root, {})).toBeNull();

    writeFileSync(join(root, SNAPSHOT_STAMP), `${snapshotStamp(root)}\n`);
    expect(usableSnapshot(root, {})).not.toBeNull();
    // Another node binary (any other file stands for one): same build, different stamp.
    const otherNode = join(dir, 'node');
    writeFileSync(otherNode, 'another node\n');
    writeFileSync(join(root, SNAPSHOT_STAMP), `${snapshotStamp(root, otherNode)}\n`);
    expect(usableSnapshot(root, {})).toBeNull();
  });
});
