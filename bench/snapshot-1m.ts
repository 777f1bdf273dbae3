// Snapshot of a 1,000,000-znode tree (100-byte data): write time, read time, file size, and how
// long the event loop stalls while the snapshot is written (what a client request would wait).
//
// Run from the repository root (Node 20 cannot run TypeScript directly):
//   npm run bench:build && node bench/out/bench/snapshot-1m.js [--nodes N] [--flat] [--no-fsync] [--dir D]
//
// Default shape: 1,000 parents of 1,000 children each. --flat puts every node under one parent,
// the worst case for the copy of a child list the walk takes when it writes a node.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import { readSnapshot } from '../src/persist/snapshot-reader.js';
import { writeSnapshot } from '../src/persist/snapshot-writer.js';
import { DataTree, OPEN_ACL_UNSAFE } from '../src/tree/data-tree.js';

interface Args {
  nodes: number;
  flat: boolean;
  fsync: boolean;
  dir: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { nodes: 1_000_000, flat: false, fsync: true, dir: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--nodes') args.nodes = Number(argv[++i]);
    else if (arg === '--flat') args.flat = true;
    else if (arg === '--no-fsync') args.fsync = false;
    else if (arg === '--dir') args.dir = argv[++i];
    else throw new Error(`unknown argument ${String(arg)}`);
  }
  return args;
}

function buildTree(count: number, flat: boolean): DataTree {
  const tree = new DataTree();
  const data = Buffer.alloc(100, 0x61);
  let zxid = 0n;
  const create = (path: string): void => {
    zxid++;
    tree.createNode(path, Buffer.from(data), OPEN_ACL_UNSAFE, 0n, -1, zxid, 1_700_000_000_000);
  };
  if (flat) {
    create('/flat');
    for (let i = 1; i < count; i++) create(`/flat/n${String(i).padStart(7, '0')}`);
  } else {
    const fanOut = Math.ceil(Math.sqrt(count));
    let made = 0;
    for (let p = 0; made < count; p++) {
      const parent = `/p${String(p).padStart(4, '0')}`;
      create(parent);
      made++;
      for (let c = 0; c < fanOut - 1 && made < count; c++, made++) create(`${parent}/c${String(c).padStart(4, '0')}`);
    }
  }
  tree.lastProcessedZxid = zxid;
  return tree;
}

/** Largest gap between consecutive setImmediate callbacks: the longest a queued I/O callback waited. */
class TickProbe {
  maxGapMs = 0;
  ticks = 0;
  private last = 0;
  private running = false;

  start(): void {
    this.running = true;
    this.last = performance.now();
    const tick = (): void => {
      const now = performance.now();
      this.maxGapMs = Math.max(this.maxGapMs, now - this.last);
      this.last = now;
      this.ticks++;
      if (this.running) setImmediate(tick);
    };
    setImmediate(tick);
  }

  stop(): void {
    this.running = false;
  }
}

/** Lateness of a 1 ms interval timer: what a timer-driven task (session expiry, pings) sees. */
class IntervalProbe {
  maxLateMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private expected = 0;

  start(): void {
    this.expected = performance.now() + 1;
    this.timer = setInterval(() => {
      const now = performance.now();
      this.maxLateMs = Math.max(this.maxLateMs, now - this.expected);
      this.expected = now + 1;
    }, 1);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const ms = (value: number): string => `${value.toFixed(1)} ms`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = args.dir ?? (await mkdtemp(join(tmpdir(), 'tszk-bench-snapshot-')));
  try {
    let t0 = performance.now();
    let tree: DataTree | null = buildTree(args.nodes, args.flat);
    const nodeCount = tree.nodeCount;
    const digest = tree.digest;
    const shape = args.flat ? 'flat' : 'two levels';
    console.log(`built ${nodeCount.toLocaleString()} nodes (${shape}) in ${ms(performance.now() - t0)}; heap ${mb(process.memoryUsage().heapUsed)}`);

    // Garbage-collector pauses while writing: V8 stops the whole thread for them, snapshot or not.
    let gcPauseMaxMs = 0;
    let gcPauseTotalMs = 0;
    let collecting = false;
    const gcObserver = new PerformanceObserver((list) => {
      if (!collecting) return;
      for (const entry of list.getEntries()) {
        gcPauseMaxMs = Math.max(gcPauseMaxMs, entry.duration);
        gcPauseTotalMs += entry.duration;
      }
    });
    gcObserver.observe({ entryTypes: ['gc'] });

    const ticks = new TickProbe();
    const interval = new IntervalProbe();
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    ticks.start();
    interval.start();
    collecting = true;
    let slices = 0;
    t0 = performance.now();
    const written = await writeSnapshot(dir, tree, [[0x100n, 30_000]], tree.lastProcessedZxid, {
      fsync: args.fsync,
      onSlice: () => slices++,
    });
    const writeMs = performance.now() - t0;
    // Let the observer deliver the last entries.
    await new Promise((resolve) => setTimeout(resolve, 50));
    collecting = false;
    gcObserver.disconnect();
    ticks.stop();
    interval.stop();
    histogram.disable();
    console.log(
      `write: ${ms(writeMs)} for ${mb(written.bytes)} (${(written.bytes / 1024 / 1024 / (writeMs / 1000)).toFixed(0)} MiB/s), ` +
        `${written.nodes.toLocaleString()} nodes, fsync ${args.fsync ? 'on' : 'off'}, ${slices.toLocaleString()} slices`,
    );
    console.log(
      `event loop while writing: max gap between setImmediate ticks ${ms(ticks.maxGapMs)} (${ticks.ticks.toLocaleString()} ticks), ` +
        `max 1 ms timer lateness ${ms(interval.maxLateMs)}, delay p50 ${ms(histogram.percentile(50) / 1e6)} ` +
        `p99 ${ms(histogram.percentile(99) / 1e6)} max ${ms(histogram.max / 1e6)}`,
    );
    console.log(`garbage collection while writing: longest pause ${ms(gcPauseMaxMs)}, ${ms(gcPauseTotalMs)} in all`);
    // Read into a heap without the original tree, as at start-up.
    tree = null;

    t0 = performance.now();
    const loaded = await readSnapshot(written.path, { extendedTypesEnabled: false });
    const readMs = performance.now() - t0;
    console.log(`read: ${ms(readMs)}, ${loaded.tree.nodeCount.toLocaleString()} nodes; heap ${mb(process.memoryUsage().heapUsed)}`);
    if (loaded.tree.digest !== digest || loaded.tree.nodeCount !== nodeCount) throw new Error('the tree differs after the round trip');
    console.log(`digest matches: ${loaded.tree.digest}`);
  } finally {
    if (args.dir === undefined) await rm(dir, { recursive: true, force: true });
  }
}

await main();
