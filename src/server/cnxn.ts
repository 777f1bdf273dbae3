import type { JuteWriter } from '../jute/writer.js';
import type { Id } from '../proto/data.js';
import type { Watcher } from '../tree/watch-manager.js';

/** What the request pipeline needs of a client connection. */
export interface ServerCnxn extends Watcher {
  readonly id: number;
  sessionId: bigint;
  readonly authInfo: Id[];
  /** Replies and notifications accumulate here and leave in one socket write per pass. */
  readonly out: JuteWriter;
  readonly closed: boolean;
  /** A request of this connection has been answered (or dropped). */
  requestDone(): void;
  /** Answer the ConnectRequest: valid, or a refusal after which the connection closes. */
  finishSessionInit(valid: boolean): void;
  /** Write whatever is buffered to the socket. */
  flush(): void;
  /** Flush, then close (after closeSession, Unimplemented, AuthFailed, session moved away). */
  closeAfterFlush(reason: string): void;
}
