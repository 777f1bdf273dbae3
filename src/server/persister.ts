import type { TxnEntry } from '../txn/txn.js';

/**
 * Where prepared txns go before they may be applied and answered. The server appends txns as it
 * prepares them and asks for a flush; `flush` calls back once everything appended before it is
 * durable (group commit: one write and one fsync per batch). The txn log of the durability layer
 * implements this; `MemoryPersister` keeps nothing and is durable at once.
 */
export interface TxnPersister {
  append(entry: TxnEntry): void;
  /** Appended txns not yet covered by a completed or running flush. */
  readonly unflushed: number;
  /** Make everything appended so far durable, then call `done` (possibly synchronously). */
  flush(done: (err: Error | null) => void): void;
  close(): Promise<void>;
}

export class MemoryPersister implements TxnPersister {
  unflushed = 0;

  append(_entry: TxnEntry): void {
    this.unflushed++;
  }

  flush(done: (err: Error | null) => void): void {
    this.unflushed = 0;
    done(null);
  }

  async close(): Promise<void> {}
}
