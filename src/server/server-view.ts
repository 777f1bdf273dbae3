import type { Config } from '../config/config.js';
import type { ClientConnection } from './connection.js';
import type { ZkServer } from './zk-server.js';

/** What operator commands (four-letter words, status) may read of a running server. */
export interface ServerView {
  readonly config: Config;
  readonly server: ZkServer;
  readonly connections: ReadonlySet<ClientConnection>;
  /** Wall-clock ms when the server started. */
  readonly startedMs: number;
  readonly clientPort: number;
  /** standalone, leader, follower or observer. */
  mode(): string;
}
