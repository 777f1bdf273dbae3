// Txn log test helpers: a file system with fault injection and a promise around the writer's flush.
import { nodeFileSystem, type FileSystem } from '../../src/persist/file-system.js';
import type { TxnLogWriter } from '../../src/persist/txn-log-writer.js';

export interface FaultyFs {
  /** nodeFileSystem, every call counted and open to failNext. */
  fs: FileSystem;
  /** Calls so far, per op. */
  calls: Record<keyof FileSystem, number>;
  /** The next call of each op named here throws this error (once) instead of running. */
  failNext: Partial<Record<keyof FileSystem, Error>>;
  /** Holds every write, before it is counted, until the returned function is called. */
  hold(): () => void;
}

/** nodeFileSystem with call counts, one-shot failures and a gate that holds writes. */
export function faultyFs(): FaultyFs {
  const ops = Object.keys(nodeFileSystem) as (keyof FileSystem)[];
  const calls = Object.fromEntries(ops.map((op) => [op, 0])) as Record<keyof FileSystem, number>;
  const failNext: Partial<Record<keyof FileSystem, Error>> = {};
  let gate: Promise<void> | null = null;
  const wrap = <K extends keyof FileSystem>(op: K): FileSystem[K] =>
    (async (...args: unknown[]) => {
      if (op === 'write' && gate !== null) await gate;
      calls[op]++;
      const err = failNext[op];
      if (err !== undefined) {
        delete failNext[op];
        throw err;
      }
      return (nodeFileSystem[op] as (...a: unknown[]) => unknown)(...args);
    }) as FileSystem[K];
  const fs = Object.fromEntries(ops.map((op) => [op, wrap(op)])) as unknown as FileSystem;
  return {
    fs,
    calls,
    failNext,
    hold() {
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        gate = null;
        release();
      };
    },
  };
}

/** Flushes `w`; resolves with the flush's error, null when it went to disk. */
export const flushP = (w: TxnLogWriter): Promise<Error | null> => new Promise((resolve) => w.flush(resolve));
