/**
 * Fast Leader Election notifications, byte for byte as ZooKeeper 3.8 sends and reads them. A
 * notification is the payload of one election-port frame (see src/quorum/net/election-link.ts for
 * the framing); all integers are big-endian.
 *
 *   notification  = state leader zxid electionEpoch peerEpoch version config   ; what 3.8 sends
 *   state         = int32     ; ServerState ordinal: 0 LOOKING, 1 FOLLOWING, 2 LEADING, 3 OBSERVING
 *   leader        = int64     ; proposed leader's sid
 *   zxid          = int64     ; proposed leader's last zxid
 *   electionEpoch = int64     ; the sender's logical clock (election round)
 *   peerEpoch     = int64     ; proposed leader's epoch
 *   version       = int32     ; format version, 2 since 3.5
 *   config        = length bytes
 *   length        = int32     ; 0 <= length <= size of the whole notification
 *   bytes         = UTF-8 text of the sender's QuorumVerifier ("server.1=...\nversion=0")
 *
 * 3.8 reads older forms by their total size, and so does decodeNotification:
 *   < 28 bytes   rejected
 *   = 28 bytes   state leader zxid electionEpoch; peerEpoch = epoch of zxid; version 0
 *   = 40 bytes   state leader zxid electionEpoch peerEpoch + 4 ignored bytes; version 0
 *   otherwise    state leader zxid electionEpoch peerEpoch version, then config if version > 1;
 *                anything after is ignored, a short read is rejected
 */
import { TszkError } from '../../util/errors.js';
import { isServerState, ServerState, zxidEpoch } from './vote.js';

/** The version 3.8 writes (Notification.CURRENTVERSION). */
export const NOTIFICATION_VERSION = 2;

export interface Notification {
  state: ServerState;
  leader: bigint;
  zxid: bigint;
  electionEpoch: bigint;
  peerEpoch: bigint;
  /** Format version: 0 for the 28- and 40-byte forms, as 3.8 records it. */
  version: number;
  /** The sender's quorum configuration text, when the version carries one (version > 1). */
  config: Buffer | null;
}

export type NotificationErrorReason = 'short' | 'truncated' | 'bad-config-length' | 'bad-state';

/** A notification 3.8 would skip (WorkerReceiver logs it and drops it; the connection stays). */
export class NotificationDecodeError extends TszkError {
  constructor(
    readonly reason: NotificationErrorReason,
    message: string,
  ) {
    super('ERR_BAD_NOTIFICATION', message);
    this.name = 'NotificationDecodeError';
  }
}

const FIXED_BYTES = 44;
const LEGACY_28 = 28;
const LEGACY_40 = 40;
const NO_CONFIG = Buffer.alloc(0);

/** Size of the encoded form of `n` (always the version-2 layout). */
export function notificationSize(n: Pick<Notification, 'config'>): number {
  return FIXED_BYTES + (n.config?.length ?? 0);
}

/**
 * Writes `n` in the layout 3.8 sends (version field = NOTIFICATION_VERSION whatever n.version
 * says; a null config is sent as zero bytes).
 */
export function encodeNotification(n: Omit<Notification, 'version'> & { version?: number }): Buffer {
  const config = n.config ?? NO_CONFIG;
  const out = Buffer.allocUnsafe(FIXED_BYTES + config.length);
  let at = out.writeInt32BE(n.state, 0);
  at = out.writeBigInt64BE(n.leader, at);
  at = out.writeBigInt64BE(n.zxid, at);
  at = out.writeBigInt64BE(n.electionEpoch, at);
  at = out.writeBigInt64BE(n.peerEpoch, at);
  at = out.writeInt32BE(NOTIFICATION_VERSION, at);
  at = out.writeInt32BE(config.length, at);
  config.copy(out, at);
  return out;
}

/**
 * Reads a notification from bytes [start, end) of `buf` as 3.8's WorkerReceiver does. The config
 * bytes are copied, so the result does not pin `buf`. Throws NotificationDecodeError for what 3.8
 * would skip, including a state outside 0..3 (3.8 skips those from voting members only and still
 * answers a non-voting sender; here every sender's bad state is an error).
 */
export function decodeNotification(buf: Buffer, start = 0, end = buf.length): Notification {
  const size = end - start;
  if (size < LEGACY_28) {
    throw new NotificationDecodeError('short', `notification of ${size} bytes is shorter than 28`);
  }
  const state = buf.readInt32BE(start);
  const leader = buf.readBigInt64BE(start + 4);
  const zxid = buf.readBigInt64BE(start + 12);
  const electionEpoch = buf.readBigInt64BE(start + 20);
  let peerEpoch: bigint;
  let version = 0;
  let config: Buffer | null = null;
  if (size === LEGACY_28) {
    peerEpoch = zxidEpoch(zxid);
  } else {
    need(size, 36, 'peerEpoch');
    peerEpoch = buf.readBigInt64BE(start + 28);
    if (size !== LEGACY_40) {
      need(size, 40, 'version');
      version = buf.readInt32BE(start + 36);
    }
  }
  if (version > 1) {
    need(size, FIXED_BYTES, 'config length');
    const length = buf.readInt32BE(start + 40);
    if (length < 0 || length > size) {
      throw new NotificationDecodeError(
        'bad-config-length',
        `notification config length ${length} is outside 0..${size} (version ${version})`,
      );
    }
    need(size, FIXED_BYTES + length, 'config bytes');
    config = Buffer.from(buf.subarray(start + FIXED_BYTES, start + FIXED_BYTES + length));
  }
  if (!isServerState(state)) {
    throw new NotificationDecodeError('bad-state', `notification state ${state} is not a server state`);
  }
  return { state, leader, zxid, electionEpoch, peerEpoch, version, config };
}

function need(size: number, bytes: number, what: string): void {
  if (size < bytes) {
    throw new NotificationDecodeError('truncated', `notification of ${size} bytes ends before its ${what}`);
  }
}
