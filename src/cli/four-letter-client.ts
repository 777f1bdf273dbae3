/**
 * A tiny four-letter-word client: connect, send the word, collect the reply until the server
 * closes the connection (ZooKeeper closes after every 4lw reply) or goes quiet.
 * Used by `tszk start` (readiness probe) and `tszk status`.
 */
import { connect } from 'node:net';
import { assert } from '../util/assert.js';
import { TszkError } from '../util/errors.js';

/** The server could not be reached, or did not answer in time. */
export class FourLetterWordError extends TszkError {
  constructor(message: string) {
    super('ERR_FOUR_LETTER_WORD', message);
    this.name = 'FourLetterWordError';
  }
}

export interface FourLetterWordOptions {
  /** Longest silence allowed, connecting included (ZooKeeper's FourLetterWordMain uses 5 s). */
  idleTimeoutMs?: number;
  /** Replies beyond this are cut off; `cons` or `wchp` on a busy server can be large. */
  replyBytesMax?: number;
}

const IDLE_TIMEOUT_MS_DEFAULT = 5_000;
const REPLY_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;

/**
 * Resolves with the reply text. A server that answers and then stays silent without closing
 * still counts as an answer once the idle timeout passes; silence with no answer at all, or a
 * connection error before any byte arrives, rejects with FourLetterWordError.
 */
export function sendFourLetterWord(
  host: string,
  port: number,
  word: string,
  options: FourLetterWordOptions = {},
): Promise<string> {
  assert(/^[a-z]{4}$/.test(word), `not a four-letter word: ${JSON.stringify(word)}`);
  const idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS_DEFAULT;
  const replyBytesMax = options.replyBytesMax ?? REPLY_BYTES_MAX_DEFAULT;

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let replyBytes = 0;
    let settled = false;
    const socket = connect({ host, port });

    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (replyBytes > 0) resolve(Buffer.concat(chunks, replyBytes).toString('utf8'));
      else reject(error ?? new FourLetterWordError(`${host}:${port} closed without answering ${word}`));
    };

    socket.setTimeout(idleTimeoutMs);
    // No half-close after the word: a server that replies asynchronously would see the FIN
    // first and, with Node's default allowHalfOpen=false, end its side before writing.
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk: Buffer) => {
      const room = replyBytesMax - replyBytes;
      const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
      chunks.push(kept);
      replyBytes += kept.length;
      if (replyBytes >= replyBytesMax) finish(null);
    });
    socket.on('timeout', () =>
      finish(new FourLetterWordError(`${host}:${port} did not answer ${word} within ${idleTimeoutMs} ms`)),
    );
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish(new FourLetterWordError(`cannot send ${word} to ${host}:${port}: ${err.code ?? err.message}`)),
    );
    socket.on('close', () => finish(null));
  });
}
