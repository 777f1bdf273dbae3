#!/usr/bin/env node
// Builds tszk's startup snapshot from the compiled dist/ (run after tsc; `npm run build` does):
//   1. esbuild bundles dist/cli/snapshot-main.js and everything it imports, pino included, into
//      one CommonJS script, dist/snapshot/tszk.cjs (node builds snapshots from one script only);
//   2. `node --snapshot-blob dist/snapshot/tszk.blob --build-snapshot dist/snapshot/tszk.cjs`;
//   3. the stamp (src/cli/launch.ts says what it holds and why) goes beside the blob.
// Launchers run `node --snapshot-blob dist/snapshot/tszk.blob start-foreground <config>` when the
// stamp matches, else dist/cli/main.js.
//
// Without esbuild (an install without dev dependencies) there is no snapshot and this says so;
// any other failure fails the build. Usage: node scripts/build-snapshot.mjs [--require]
// (--require: a missing esbuild is an error too; CI uses it).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'dist', 'snapshot');
const script = join(dir, 'tszk.cjs');
const blob = join(dir, 'tszk.blob');
const stampPath = join(dir, 'tszk.stamp');
const entry = join(root, 'dist', 'cli', 'snapshot-main.js');

// Whatever happens next, no snapshot from an earlier build survives it.
rmSync(dir, { recursive: true, force: true });

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  const message = 'esbuild is not installed (dev dependency): no startup snapshot; servers start from dist/cli/main.js';
  if (process.argv.includes('--require')) {
    console.error(`build-snapshot: ${message}`);
    process.exit(1);
  }
  console.error(`build-snapshot: note: ${message}`);
  process.exit(0);
}

if (!existsSync(entry)) {
  console.error(`build-snapshot: ${entry} is missing: run tsc -p tsconfig.json first`);
  process.exit(1);
}
mkdirSync(dir, { recursive: true });
await esbuild.build({
  entryPoints: [entry],
  outfile: script,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'error',
  // daemon.ts finds the checkout from its own URL, which a CommonJS bundle lacks; the snapshot
  // prefers TSZK_HOME anyway (snapshot-main.ts), this is the fallback.
  define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(root, 'dist', 'cli', 'daemon.js')).href) },
});

try {
  // --no-warnings: node warns that some built-in modules pino loads (worker_threads for its
  // transports, which tszk does not use) are "not yet fully verified" in snapshots.
  execFileSync(process.execPath, ['--no-warnings', '--snapshot-blob', blob, '--build-snapshot', script], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'pipe'],
  });
} catch (err) {
  rmSync(dir, { recursive: true, force: true });
  console.error(`build-snapshot: node --build-snapshot failed:\n${err.stderr?.toString() ?? err.message}`);
  process.exit(1);
}

// The stamp is written last: a blob without one is never used.
const { snapshotStamp } = await import(pathToFileURL(join(root, 'dist', 'cli', 'launch.js')).href);
writeFileSync(stampPath, `${snapshotStamp(root)}\n`);
console.error(`build-snapshot: ${blob} (start with: node --snapshot-blob ${blob} start-foreground <config>)`);
