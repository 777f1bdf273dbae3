import { join } from 'node:path';
import { TszkError } from '../util/errors.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';

/**
 * The quorum epoch files ZooKeeper keeps in dataDir/version-2: `acceptedEpoch` and
 * `currentEpoch`, each the decimal text of one long (no newline). They are replaced atomically:
 * write <name>.tmp, fsync it, rename over <name>, fsync the directory, so a crash leaves either
 * the old value or the new one, never a torn file.
 */
export const ACCEPTED_EPOCH = 'acceptedEpoch';
export const CURRENT_EPOCH = 'currentEpoch';

export class EpochFileError extends TszkError {
  constructor(message: string) {
    super('ERR_EPOCH_FILE', message);
    this.name = 'EpochFileError';
  }
}

/** The epoch in dir/name, or null when the file does not exist. */
export async function readEpoch(dir: string, name: string, fs: FileSystem = nodeFileSystem): Promise<bigint | null> {
  const path = join(dir, name);
  if (!(await fs.exists(path))) return null;
  const line = (await fs.readFile(path)).toString('utf8').split('\n', 1)[0] ?? '';
  if (!/^-?\d+$/.test(line.trim())) throw new EpochFileError(`Found ${JSON.stringify(line)} in ${path}`);
  return BigInt(line.trim());
}

export async function writeEpoch(dir: string, name: string, epoch: bigint, fs: FileSystem = nodeFileSystem): Promise<void> {
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  const text = Buffer.from(epoch.toString(), 'utf8');
  const fd = await fs.open(tmp, 'w');
  try {
    await fs.write(fd, text, 0, text.length, 0);
    await fs.fsync(fd);
  } finally {
    await fs.close(fd);
  }
  await fs.rename(tmp, path);
  await fs.syncDir(dir);
}
