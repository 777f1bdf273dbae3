/**
 * The first bytes on an election connection, from the side that connected, as ZooKeeper 3.8's
 * QuorumCnxManager writes and reads them (big-endian, not length-framed):
 *
 *   initial   = protocol sid length addresses          ; 3.5+
 *             / sid                                    ; before 3.5: a bare non-negative sid
 *   protocol  = int64 ; -65536 (PROTOCOL_VERSION_V1) or -65535 (V2, multi-address)
 *   sid       = int64 ; Long.MAX_VALUE (OBSERVER_ID): an observer without an id
 *   length    = int32 ; 1..2048
 *   addresses = length bytes: "host:port" (V1: exactly one), "host:port|host:port|..." (V2);
 *               IPv6 hosts in brackets; a wildcard host (0.0.0.0, ::) is dropped
 *
 * After it, both directions carry election frames (int32 length + notification). Nothing answers
 * the initial message: the receiver either keeps the socket or closes it (see election-link.ts).
 * Pure: no I/O.
 */
import { TszkError } from '../../util/errors.js';

export const PROTOCOL_VERSION_V1 = -65536n;
export const PROTOCOL_VERSION_V2 = -65535n;
/** 3.8's limit on the address text (QuorumCnxManager.maxBuffer). */
export const MAX_INITIAL_ADDRESS_BYTES = 2048;
/** The most bytes an initial message can take. */
export const MAX_INITIAL_MESSAGE_BYTES = 8 + 8 + 4 + MAX_INITIAL_ADDRESS_BYTES;

export interface ElectionAddress {
  host: string;
  port: number;
}

export interface InitialMessage {
  /** PROTOCOL_VERSION_V1/V2, or null for the pre-3.5 bare-sid form. */
  protocolVersion: bigint | null;
  sid: bigint;
  /** Addresses the sender listens on for elections, wildcards removed; empty in the bare form. */
  addresses: ElectionAddress[];
}

export type InitialMessageErrorReason = 'bad-protocol' | 'bad-length' | 'bad-address';

export class InitialMessageError extends TszkError {
  constructor(
    readonly reason: InitialMessageErrorReason,
    message: string,
  ) {
    super('ERR_BAD_INITIAL_MESSAGE', message);
    this.name = 'InitialMessageError';
  }
}

export function formatElectionAddress(a: ElectionAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** V1 carries the first address only, as 3.8 does without multi-address support. */
export function encodeInitialMessage(
  sid: bigint,
  addresses: readonly ElectionAddress[],
  protocolVersion: bigint = PROTOCOL_VERSION_V1,
): Buffer {
  if (protocolVersion !== PROTOCOL_VERSION_V1 && protocolVersion !== PROTOCOL_VERSION_V2) {
    throw new InitialMessageError('bad-protocol', `cannot write protocol version ${protocolVersion}`);
  }
  const sent = protocolVersion === PROTOCOL_VERSION_V1 ? addresses.slice(0, 1) : addresses;
  const text = Buffer.from(sent.map(formatElectionAddress).join('|'), 'utf8');
  if (text.length === 0 || text.length > MAX_INITIAL_ADDRESS_BYTES) {
    throw new InitialMessageError('bad-length', `address text of ${text.length} bytes is outside 1..${MAX_INITIAL_ADDRESS_BYTES}`);
  }
  const out = Buffer.allocUnsafe(20 + text.length);
  out.writeBigInt64BE(protocolVersion, 0);
  out.writeBigInt64BE(sid, 8);
  out.writeInt32BE(text.length, 16);
  text.copy(out, 20);
  return out;
}

export type InitialMessageParse = { type: 'incomplete' } | { type: 'done'; message: InitialMessage; bytesUsed: number };

/**
 * Parses the initial message at the start of `buf` (the bytes received so far). 'incomplete' asks
 * for more bytes; errors are what 3.8 closes the socket for.
 */
export function parseInitialMessage(buf: Buffer): InitialMessageParse {
  if (buf.length < 8) return { type: 'incomplete' };
  const first = buf.readBigInt64BE(0);
  if (first >= 0n) {
    return { type: 'done', message: { protocolVersion: null, sid: first, addresses: [] }, bytesUsed: 8 };
  }
  if (first !== PROTOCOL_VERSION_V1 && first !== PROTOCOL_VERSION_V2) {
    throw new InitialMessageError('bad-protocol', `unrecognized protocol version ${first}`);
  }
  if (buf.length < 20) return { type: 'incomplete' };
  const sid = buf.readBigInt64BE(8);
  const length = buf.readInt32BE(16);
  if (length <= 0 || length > MAX_INITIAL_ADDRESS_BYTES) {
    throw new InitialMessageError('bad-length', `unreasonable address length ${length}`);
  }
  if (buf.length < 20 + length) return { type: 'incomplete' };
  const text = buf.toString('utf8', 20, 20 + length);
  const addresses: ElectionAddress[] = [];
  for (const part of text.split('|')) {
    const address = parseHostAndPort(part);
    if (!isWildcardHost(address.host)) addresses.push(address);
  }
  return { type: 'done', message: { protocolVersion: first, sid, addresses }, bytesUsed: 20 + length };
}

/** ConfigUtils.getHostAndPort followed by the checks of InitialMessage.parse. */
export function parseHostAndPort(text: string): ElectionAddress {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':' || close + 2 >= text.length) {
      throw new InitialMessageError('bad-address', `badly formed address: ${text}`);
    }
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    // Java's split drops trailing empty strings, so "host:" has no port.
    const parts = text.split(':');
    while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
    if (parts.length !== 2) throw new InitialMessageError('bad-address', `badly formed address: ${text}`);
    host = parts[0] ?? '';
    portText = parts[1] ?? '';
  }
  if (!/^[+-]?\d{1,10}$/.test(portText)) throw new InitialMessageError('bad-address', `bad port number: ${portText}`);
  const port = Number(portText);
  if (port < 0 || port > 65535) throw new InitialMessageError('bad-address', `port out of range: ${portText}`);
  return { host, port };
}

function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0';
}
