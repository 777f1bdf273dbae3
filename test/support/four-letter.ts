// Four-letter words ("ruok", "srvr", "stat", "mntr", ...) over a plain TCP connection.
// ZooKeeper 3.8 answers and closes, except during start-up, when it may answer without closing:
// so the reply ends at EOF or after a short quiet period once some data has arrived.
import { connect } from 'node:net';

export interface FourLetterOptions {
  /** Whole exchange, connect included; default 3000 ms. */
  timeoutMs?: number;
  /** Quiet time after the last chunk that counts as the end of the reply; default 200 ms. */
  idleAfterDataMs?: number;
}

export class FourLetterError extends Error {
  readonly code: 'FOUR_LETTER_CONNECT' | 'FOUR_LETTER_TIMEOUT';
  constructor(code: FourLetterError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FourLetterError';
    this.code = code;
  }
}

/**
 * Sends `word` to host:port and returns the reply text. Rejects with FourLetterError when the
 * connection fails, or when nothing at all arrives before the timeout and the server keeps the
 * socket open. An empty reply closed by the server resolves to ''.
 */
export function fourLetterWord(host: string, port: number, word: string, options: FourLetterOptions = {}): Promise<string> {
  const { timeoutMs = 3000, idleAfterDataMs = 200 } = options;
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    let idleTimer: NodeJS.Timeout | undefined;
    const socket = connect({ host, port });
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(overallTimer);
      if (idleTimer) clearTimeout(idleTimer);
      socket.destroy();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const overallTimer = setTimeout(() => {
      if (chunks.length > 0) finish();
      else finish(new FourLetterError('FOUR_LETTER_TIMEOUT', `no reply to '${word}' from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => finish(), idleAfterDataMs);
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (error: Error) => {
      // A reset after the reply was read still leaves a complete reply.
      if (chunks.length > 0) finish();
      else finish(new FourLetterError('FOUR_LETTER_CONNECT', `'${word}' to ${host}:${port} failed: ${error.message}`, { cause: error }));
    });
  });
}

/** Parses `srvr`/`stat`-style "Key: value" lines into a map (first occurrence wins). */
export function parseFourLetterFields(reply: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of reply.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    if (!fields.has(key)) fields.set(key, line.slice(colon + 1).trim());
  }
  return fields;
}
