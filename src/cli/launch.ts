import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

/*
 * How a server process is started: `node <entry> start-foreground <config>`, where the entry is
 * the startup snapshot when one was built for this node binary and this build, else
 * dist/cli/main.js.
 *
 * The snapshot (scripts/build-snapshot.mjs, run by `npm run build`) is a V8 heap with every
 * module of the server already loaded and evaluated. Node takes about 100 ms to boot here
 * either way, but loading and evaluating ~150 modules (pino among them) from dist/ takes
 * another 100-150 ms that the snapshot skips: process start to first session went from about
 * 265 ms to about 125 ms. It only runs `start-foreground`; every other command runs from
 * dist/cli/main.js.
 *
 * A snapshot only loads into the node binary that built it, and it holds the code of the build
 * that made it, so the stamp beside it records both: the node binary (real path, size, mtime)
 * and the mtime of dist/cli/main.js, which tsc rewrites on every build. A stale or foreign
 * snapshot is passed over, never run. bin/tszk makes the same check in bash (stat -c). So is
 * a snapshot when node gets options (NODE_OPTIONS or arguments): see usableSnapshot.
 */

export const SNAPSHOT_DIR = join('dist', 'snapshot');
export const SNAPSHOT_BLOB = join(SNAPSHOT_DIR, 'tszk.blob');
export const SNAPSHOT_STAMP = join(SNAPSHOT_DIR, 'tszk.stamp');
export const MAIN_JS = join('dist', 'cli', 'main.js');
/** Set for a server started from the snapshot: where the checkout is (main.js knows by its URL). */
export const HOME_ENV = 'TSZK_HOME';

/** mtime as `stat -c %.9Y` prints it: seconds, a dot, nine digits of nanoseconds. */
function mtimeText(path: string): string {
  const ns = statSync(path, { bigint: true }).mtimeNs;
  return `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
}

/** What the stamp must say for a snapshot built by `nodePath` from the build in `projectRoot`. */
export function snapshotStamp(projectRoot: string, nodePath = process.execPath): string {
  const node = realpathSync(nodePath);
  return `${node} ${statSync(node).size} ${mtimeText(node)} ${mtimeText(join(projectRoot, MAIN_JS))}`;
}

/**
 * The snapshot to start a server from, or null when there is none fit for this node and build,
 * or when node is given options (NODE_OPTIONS, or `nodeArgs`): a snapshot holds V8's settings
 * too, and node refuses it, exit code 14, when a V8 option differs (--max-old-space-size does).
 */
export function usableSnapshot(projectRoot: string, env: NodeJS.ProcessEnv = process.env, nodeArgs: readonly string[] = []): string | null {
  if (nodeArgs.length > 0 || (env['NODE_OPTIONS'] ?? '').trim() !== '') return null;
  const blob = join(projectRoot, SNAPSHOT_BLOB);
  const stampPath = join(projectRoot, SNAPSHOT_STAMP);
  if (!existsSync(blob) || !existsSync(stampPath)) return null;
  try {
    return readFileSync(stampPath, 'utf8').trim() === snapshotStamp(projectRoot) ? blob : null;
  } catch {
    return null;
  }
}

export interface ServerLaunch {
  command: string;
  args: string[];
  /** Variables to add to the child's environment. */
  env: Record<string, string>;
  /** The snapshot it runs from, or null for dist/cli/main.js. */
  snapshot: string | null;
}

/**
 * `start-foreground <configPath>` in a new node process with environment `env`; `nodeArgs` go
 * before the entry (and, like NODE_OPTIONS in `env`, rule the snapshot out).
 */
export function serverLaunch(
  projectRoot: string,
  configPath: string,
  nodeArgs: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): ServerLaunch {
  const snapshot = usableSnapshot(projectRoot, env, nodeArgs);
  const entry = snapshot === null ? [join(projectRoot, MAIN_JS)] : ['--snapshot-blob', snapshot];
  return {
    command: process.execPath,
    args: [...nodeArgs, ...entry, 'start-foreground', configPath],
    env: { [HOME_ENV]: projectRoot },
    snapshot,
  };
}
