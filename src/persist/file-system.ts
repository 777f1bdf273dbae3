import * as fs from 'node:fs';
import { promisify } from 'node:util';

/**
 * The file operations the durability layer uses, behind one interface so tests can inject a
 * full disk or a failing fsync. Callback-free and promise-based; the hot path (txn log
 * group commit) awaits at most one write and one fsync per batch.
 */
export interface FileSystem {
  open(path: string, flags: string): Promise<number>;
  /** Writes all of buf[offset, offset+length) at `position`. */
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<void>;
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** fdatasync: the data and the size, not the timestamps. */
  datasync(fd: number): Promise<void>;
  fsync(fd: number): Promise<void>;
  truncate(fd: number, length: number): Promise<void>;
  size(fd: number): Promise<number>;
  close(fd: number): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  mkdir(dir: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  exists(path: string): Promise<boolean>;
  /** fsync a directory, so a rename or a new file in it survives a crash. */
  syncDir(dir: string): Promise<void>;
}

const write = promisify(fs.write);
const read = promisify(fs.read);
const fdatasync = promisify(fs.fdatasync);
const fsyncP = promisify(fs.fsync);
const ftruncate = promisify(fs.ftruncate);
const fstat = promisify(fs.fstat);
const closeP = promisify(fs.close);
const openP = promisify(fs.open);

export const nodeFileSystem: FileSystem = {
  open: (path, flags) => openP(path, flags, 0o644),
  async write(fd, buf, offset, length, position) {
    let done = 0;
    while (done < length) {
      const { bytesWritten } = await write(fd, buf, offset + done, length - done, position + done);
      done += bytesWritten;
    }
  },
  async read(fd, buf, offset, length, position) {
    return (await read(fd, buf, offset, length, position)).bytesRead;
  },
  datasync: (fd) => fdatasync(fd),
  fsync: (fd) => fsyncP(fd),
  truncate: (fd, length) => ftruncate(fd, length),
  size: async (fd) => (await fstat(fd)).size,
  close: (fd) => closeP(fd),
  readdir: (dir) => fs.promises.readdir(dir),
  mkdir: async (dir) => {
    await fs.promises.mkdir(dir, { recursive: true });
  },
  rename: (from, to) => fs.promises.rename(from, to),
  unlink: (path) => fs.promises.unlink(path),
  readFile: (path) => fs.promises.readFile(path),
  exists: async (path) => {
    try {
      await fs.promises.access(path);
      return true;
    } catch {
      return false;
    }
  },
  async syncDir(dir) {
    const fd = await openP(dir, 'r');
    try {
      await fsyncP(fd);
    } finally {
      await closeP(fd);
    }
  },
};
