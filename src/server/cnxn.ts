import type { JuteWriter } from '../jute/writer.js';
import type { Id } from '../proto/data.js';
import type { Watcher } from '../tree/watch-manager.js';
import type { ResponseStats } from './response-stats.js';

/** What the request pipeline needs of a client connection. */
export interface ServerCnxn extends Watcher {
  readonly id: number;
  sessionId: bigint;
  /** The negotiated session timeout. */
  sessionTimeoutMs: number;
  readonly authInfo: Id[];
  /** Replies and notifications accumulate here and leave in one socket write per pass. */
  readonly out: JuteWriter;
  readonly closed: boolean;
  /** For cons/stat: per-connection reply statistics, replies sent, last client xid answered. */
  readonly responseStats: ResponseStats;
  packetsSent: number;
  lastCxid: number;
  /** The pipeline drained after throttling this connection: read requests again. */
  resumeReading(): void;
  /** A request of this connection has been answered (or dropped). */
  requestDone(): void;
  /** Answer the ConnectRequest: valid, or a refusal after which the connection closes. */
  finishSessionInit(valid: boolean): void;
  /** Write whatever is buffered to the socket. */
  flush(): void;
  /** Flush, then close (after closeSession, Unimplemented, AuthFailed, session moved away). */
  closeAfterFlush(reason: string): void;
}
