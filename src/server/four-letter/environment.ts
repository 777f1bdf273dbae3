import { arch, homedir, hostname, release, tmpdir, type as osType, userInfo } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { FULL_VERSION } from './stat.js';

/** Node's process.arch as the JVM names it in os.arch. */
const JAVA_ARCH: Record<string, string> = { x64: 'amd64', ia32: 'x86', arm64: 'aarch64', ppc64: 'ppc64le' };

const MB = 1024 * 1024;

function orNA(read: () => string): string {
  try {
    const value = read();
    return value === '' ? '<NA>' : value;
  } catch {
    return '<NA>';
  }
}

/**
 * `envi`: ZooKeeper's Environment.list, "key=value" lines under "Environment:". The java.* lines
 * become node.* lines (the runtime's version, executable and main script, and its temp dir);
 * the os.* and user.* lines keep their keys; os.memory.* report the V8 heap, as ZooKeeper's
 * report the JVM heap (free and total of the current heap, max of its limit). host.name is the
 * OS host name: the JVM asks DNS for the canonical name, which would block the event loop.
 */
export function environmentText(): string {
  const heap = getHeapStatistics();
  const entries: [string, string][] = [
    ['zookeeper.version', FULL_VERSION],
    ['host.name', orNA(hostname)],
    ['node.version', process.version],
    ['node.execPath', orNA(() => process.execPath)],
    ['node.main', orNA(() => process.argv[1] ?? '')],
    ['node.tmpdir', orNA(tmpdir)],
    ['os.name', orNA(osType)],
    ['os.arch', JAVA_ARCH[arch()] ?? arch()],
    ['os.version', orNA(release)],
    ['user.name', orNA(() => userInfo().username)],
    ['user.home', orNA(homedir)],
    ['user.dir', orNA(() => process.cwd())],
    ['os.memory.free', `${Math.floor((heap.total_heap_size - heap.used_heap_size) / MB)}MB`],
    ['os.memory.max', `${Math.floor(heap.heap_size_limit / MB)}MB`],
    ['os.memory.total', `${Math.floor(heap.total_heap_size / MB)}MB`],
  ];
  return `Environment:\n${entries.map(([key, value]) => `${key}=${value}\n`).join('')}`;
}
