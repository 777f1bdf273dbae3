// Election wire formats against bytes captured from ZooKeeper 3.8.0 (Debian) peers: a 2-server
// ensemble (sids 2, 3) whose server.1 was a raw socket recording what arrived on its election port.
// "FRESH" frames come from empty data dirs, "RESTART" frames from the same servers restarted with
// data (last zxid 0x200000004, currentEpoch 2). Each constant is one whole frame (length + payload).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quorumConfigText } from '../../src/quorum/election/config-text.js';
import {
  decodeNotification,
  encodeNotification,
  NotificationDecodeError,
  type Notification,
} from '../../src/quorum/election/notification.js';
import { ServerState } from '../../src/quorum/election/vote.js';
import {
  encodeInitialMessage,
  InitialMessageError,
  parseInitialMessage,
  PROTOCOL_VERSION_V1,
  PROTOCOL_VERSION_V2,
} from '../../src/quorum/net/initial-message.js';

const CONFIG_HEX =
  '7365727665722e313d3132372e302e302e313a34333334333a34363630353a7061727469636970616e740a7365727665' +
  '722e323d3132372e302e302e313a34323534373a34333531333a7061727469636970616e740a7365727665722e333d31' +
  '32372e302e302e313a33393630353a34333132393a7061727469636970616e740a76657273696f6e3d30';
const LOOKING_FROM_3_FRESH = '000000b6000000000000000000000003000000000000000000000000000000010000000000000000000000020000008a' + CONFIG_HEX;
const LEADING_FROM_3_FRESH = '000000b6000000020000000000000003000000000000000000000000000000010000000000000001000000020000008a' + CONFIG_HEX;
const FOLLOWING_FROM_2_FRESH = '000000b6000000010000000000000003000000000000000000000000000000010000000000000001000000020000008a' + CONFIG_HEX;
const LOOKING_FROM_2_RESTART = '000000b6000000000000000000000002000000020000000400000000000000010000000000000002000000020000008a' + CONFIG_HEX;
const FOLLOWING_FROM_2_RESTART = '000000b6000000010000000000000003000000020000000400000000000000010000000000000002000000020000008a' + CONFIG_HEX;
const LEADING_FROM_3_RESTART = '000000b6000000020000000000000003000000020000000400000000000000010000000000000002000000020000008a' + CONFIG_HEX;
/** The first bytes server 3 wrote on a connection it opened. */
const INITIAL_MESSAGE_FROM_3 = 'ffffffffffff000000000000000000030000000f3132372e302e302e313a3433313239';

const CAPTURED_CONFIG = quorumConfigText([
  { sid: 1n, host: '127.0.0.1', quorumPort: 43343, electionPort: 46605, type: 'participant' },
  { sid: 2n, host: '127.0.0.1', quorumPort: 42547, electionPort: 43513, type: 'participant' },
  { sid: 3n, host: '127.0.0.1', quorumPort: 39605, electionPort: 43129, type: 'participant' },
]);

/** The payload of a captured frame, after checking its length prefix. */
function payloadOf(frameHex: string): Buffer {
  const frame = Buffer.from(frameHex, 'hex');
  expect(frame.readInt32BE(0)).toBe(frame.length - 4);
  return frame.subarray(4);
}

function notification(fields: Partial<Notification>): Notification {
  return {
    state: ServerState.LOOKING,
    leader: 0n,
    zxid: 0n,
    electionEpoch: 0n,
    peerEpoch: 0n,
    version: 2,
    config: Buffer.from(CAPTURED_CONFIG),
    ...fields,
  };
}

describe('notification codec against 3.8 captures', () => {
  const cases: [string, string, Partial<Notification>][] = [
    ['LOOKING, fresh', LOOKING_FROM_3_FRESH, { state: ServerState.LOOKING, leader: 3n, zxid: 0n, electionEpoch: 1n, peerEpoch: 0n }],
    ['LEADING reply, fresh', LEADING_FROM_3_FRESH, { state: ServerState.LEADING, leader: 3n, zxid: 0n, electionEpoch: 1n, peerEpoch: 1n }],
    ['FOLLOWING reply, fresh', FOLLOWING_FROM_2_FRESH, { state: ServerState.FOLLOWING, leader: 3n, zxid: 0n, electionEpoch: 1n, peerEpoch: 1n }],
    ['LOOKING, restart', LOOKING_FROM_2_RESTART, { state: ServerState.LOOKING, leader: 2n, zxid: 0x2_0000_0004n, electionEpoch: 1n, peerEpoch: 2n }],
    ['FOLLOWING, restart', FOLLOWING_FROM_2_RESTART, { state: ServerState.FOLLOWING, leader: 3n, zxid: 0x2_0000_0004n, electionEpoch: 1n, peerEpoch: 2n }],
    ['LEADING, restart', LEADING_FROM_3_RESTART, { state: ServerState.LEADING, leader: 3n, zxid: 0x2_0000_0004n, electionEpoch: 1n, peerEpoch: 2n }],
  ];

  it.each(cases)('decodes %s', (_name, hex, fields) => {
    expect(decodeNotification(payloadOf(hex))).toEqual(notification(fields));
  });

  it.each(cases)('encodes %s byte for byte', (_name, hex, fields) => {
    expect(encodeNotification(notification(fields)).toString('hex')).toBe(payloadOf(hex).toString('hex'));
  });

  it('the config text matches what 3.8 prints for its QuorumVerifier', () => {
    expect(Buffer.from(CAPTURED_CONFIG).toString('hex')).toBe(CONFIG_HEX);
    expect(CAPTURED_CONFIG.endsWith('\nversion=0')).toBe(true);
  });

  it('decodes from an offset inside a larger buffer and copies the config', () => {
    const payload = payloadOf(LEADING_FROM_3_RESTART);
    const big = Buffer.concat([Buffer.from('xyz'), payload, Buffer.from('tail')]);
    const n = decodeNotification(big, 3, 3 + payload.length);
    expect(n.leader).toBe(3n);
    big.fill(0);
    expect(n.config?.toString()).toBe(CAPTURED_CONFIG);
  });
});

describe('older and malformed notifications, read as 3.8 reads them', () => {
  function legacy(size: number, fields: { state?: number; leader?: bigint; zxid?: bigint; round?: bigint; peerEpoch?: bigint; version?: number }): Buffer {
    const b = Buffer.alloc(size);
    b.writeInt32BE(fields.state ?? 0, 0);
    b.writeBigInt64BE(fields.leader ?? 5n, 4);
    b.writeBigInt64BE(fields.zxid ?? 0x3_0000_0007n, 12);
    b.writeBigInt64BE(fields.round ?? 9n, 20);
    if (size >= 36) b.writeBigInt64BE(fields.peerEpoch ?? 4n, 28);
    if (size >= 40) b.writeInt32BE(fields.version ?? 1, 36);
    return b;
  }

  it('28 bytes (before ZOOKEEPER-107): peer epoch taken from the zxid, version 0', () => {
    expect(decodeNotification(legacy(28, {}))).toEqual({
      state: 0,
      leader: 5n,
      zxid: 0x3_0000_0007n,
      electionEpoch: 9n,
      peerEpoch: 3n,
      version: 0,
      config: null,
    });
  });

  it('28 bytes with zxid -1 gives peer epoch -1 (arithmetic shift)', () => {
    expect(decodeNotification(legacy(28, { zxid: -1n })).peerEpoch).toBe(-1n);
  });

  it('40 bytes (3.4.6 to 3.4.x): peer epoch read, version field ignored (3.8 records 0)', () => {
    const n = decodeNotification(legacy(40, { version: 1 }));
    expect(n).toMatchObject({ peerEpoch: 4n, version: 0, config: null });
  });

  it('version 1 in a longer message: no config read, trailing bytes ignored', () => {
    const n = decodeNotification(Buffer.concat([legacy(40, { version: 1 }), Buffer.from([1, 2, 3, 4, 5])]));
    expect(n).toMatchObject({ version: 1, config: null });
  });

  it('version 2 with an empty config', () => {
    const b = Buffer.concat([legacy(40, { version: 2 }), Buffer.alloc(4)]);
    expect(decodeNotification(b)).toMatchObject({ version: 2, config: Buffer.alloc(0) });
  });

  it('bytes after the config are ignored', () => {
    const payload = Buffer.concat([payloadOf(LOOKING_FROM_3_FRESH), Buffer.from('junk')]);
    expect(decodeNotification(payload).config?.toString()).toBe(CAPTURED_CONFIG);
  });

  const bad: [string, Buffer, string][] = [
    ['shorter than 28 bytes', Buffer.alloc(27), 'short'],
    ['empty', Buffer.alloc(0), 'short'],
    ['29..35 bytes: cut inside the peer epoch', Buffer.alloc(35), 'truncated'],
    ['36..39 bytes: cut inside the version', legacy(36, {}), 'truncated'],
    ['version 2 without a config length', Buffer.concat([legacy(40, { version: 2 }), Buffer.alloc(2)]), 'truncated'],
    ['negative config length', Buffer.concat([legacy(40, { version: 2 }), int32(-1)]), 'bad-config-length'],
    ['config length beyond the message size', Buffer.concat([legacy(40, { version: 2 }), int32(45)]), 'bad-config-length'],
    ['config shorter than its length', Buffer.concat([legacy(40, { version: 2 }), int32(10), Buffer.alloc(3)]), 'truncated'],
    ['unknown state', legacy(40, { state: 4 }), 'bad-state'],
    ['negative state', legacy(40, { state: -1 }), 'bad-state'],
  ];

  it.each(bad)('rejects %s', (_name, bytes, reason) => {
    let caught: unknown;
    try {
      decodeNotification(bytes);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(NotificationDecodeError);
    expect((caught as NotificationDecodeError).code).toBe('ERR_BAD_NOTIFICATION');
    expect((caught as NotificationDecodeError).reason).toBe(reason);
  });

  it('rejects every cut of a valid version-2 notification that 3.8 would not accept', () => {
    const payload = payloadOf(LOOKING_FROM_2_RESTART);
    for (let cut = 0; cut < payload.length; cut++) {
      const prefix = payload.subarray(0, cut);
      if (cut === 28 || cut === 40) {
        // The two legacy sizes decode (without the config).
        expect(decodeNotification(prefix).config).toBeNull();
      } else {
        expect(() => decodeNotification(prefix), `cut at ${cut}`).toThrow(NotificationDecodeError);
      }
    }
  });
});

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

describe('notification round trip (property)', () => {
  const long = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
  const arbitraryNotification = fc.record({
    state: fc.constantFrom(ServerState.LOOKING, ServerState.FOLLOWING, ServerState.LEADING, ServerState.OBSERVING),
    leader: long,
    zxid: long,
    electionEpoch: long,
    peerEpoch: long,
    version: fc.constant(2),
    config: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  });

  it('decode(encode(n)) == n', () => {
    fc.assert(
      fc.property(arbitraryNotification, (n) => {
        expect(decodeNotification(encodeNotification(n))).toEqual(n);
      }),
      { numRuns: 500 },
    );
  });

  it('a null config is sent as zero bytes', () => {
    const bytes = encodeNotification(notification({ config: null }));
    expect(bytes.length).toBe(44);
    expect(decodeNotification(bytes).config).toEqual(Buffer.alloc(0));
  });
});

describe('initial message', () => {
  it('parses what 3.8 writes and writes the same bytes', () => {
    const bytes = Buffer.from(INITIAL_MESSAGE_FROM_3, 'hex');
    const parsed = parseInitialMessage(bytes);
    expect(parsed).toEqual({
      type: 'done',
      bytesUsed: bytes.length,
      message: { protocolVersion: PROTOCOL_VERSION_V1, sid: 3n, addresses: [{ host: '127.0.0.1', port: 43129 }] },
    });
    expect(encodeInitialMessage(3n, [{ host: '127.0.0.1', port: 43129 }]).toString('hex')).toBe(INITIAL_MESSAGE_FROM_3);
  });

  it('asks for more bytes at every cut, and leaves what follows', () => {
    const bytes = Buffer.concat([Buffer.from(INITIAL_MESSAGE_FROM_3, 'hex'), Buffer.from('000000b6', 'hex')]);
    for (let cut = 0; cut < 35; cut++) expect(parseInitialMessage(bytes.subarray(0, cut)).type).toBe('incomplete');
    const parsed = parseInitialMessage(bytes);
    expect(parsed.type === 'done' && parsed.bytesUsed).toBe(35);
  });

  it('the pre-3.5 form is a bare sid', () => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(7n);
    expect(parseInitialMessage(b)).toEqual({ type: 'done', bytesUsed: 8, message: { protocolVersion: null, sid: 7n, addresses: [] } });
  });

  it('V2 carries several addresses; IPv6 in brackets; wildcards dropped', () => {
    const bytes = encodeInitialMessage(
      4n,
      [
        { host: '10.0.0.1', port: 3888 },
        { host: '::1', port: 3889 },
        { host: '0.0.0.0', port: 3890 },
      ],
      PROTOCOL_VERSION_V2,
    );
    expect(bytes.subarray(20).toString()).toBe('10.0.0.1:3888|[::1]:3889|0.0.0.0:3890');
    const parsed = parseInitialMessage(bytes);
    expect(parsed.type === 'done' && parsed.message.addresses).toEqual([
      { host: '10.0.0.1', port: 3888 },
      { host: '::1', port: 3889 },
    ]);
  });

  it('V1 sends only the first address', () => {
    const bytes = encodeInitialMessage(4n, [
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
    expect(bytes.subarray(20).toString()).toBe('a:1');
  });

  function header(protocol: bigint, sid: bigint, length: number, text = ''): Buffer {
    const b = Buffer.alloc(20);
    b.writeBigInt64BE(protocol, 0);
    b.writeBigInt64BE(sid, 8);
    b.writeInt32BE(length, 16);
    return Buffer.concat([b, Buffer.from(text)]);
  }

  const bad: [string, Buffer, string][] = [
    ['unknown protocol version', header(-1n, 1n, 3, 'a:1'), 'bad-protocol'],
    ['address length 0', header(PROTOCOL_VERSION_V1, 1n, 0), 'bad-length'],
    ['address length over 2048', header(PROTOCOL_VERSION_V1, 1n, 2049), 'bad-length'],
    ['negative address length', header(PROTOCOL_VERSION_V1, 1n, -5), 'bad-length'],
    ['no port', header(PROTOCOL_VERSION_V1, 1n, 4, 'host'), 'bad-address'],
    ['empty port', header(PROTOCOL_VERSION_V1, 1n, 5, 'host:'), 'bad-address'],
    ['non-numeric port', header(PROTOCOL_VERSION_V1, 1n, 6, 'h:abcd'), 'bad-address'],
    ['two colons', header(PROTOCOL_VERSION_V1, 1n, 5, 'h:1:2'), 'bad-address'],
    ['unclosed bracket', header(PROTOCOL_VERSION_V1, 1n, 8, '[::1:388'), 'bad-address'],
    ['port out of range', header(PROTOCOL_VERSION_V1, 1n, 7, 'h:70000'), 'bad-address'],
  ];

  it.each(bad)('rejects %s', (_name, bytes, reason) => {
    expect(() => parseInitialMessage(bytes)).toThrow(InitialMessageError);
    try {
      parseInitialMessage(bytes);
    } catch (error) {
      expect((error as InitialMessageError).reason).toBe(reason);
      expect((error as InitialMessageError).code).toBe('ERR_BAD_INITIAL_MESSAGE');
    }
  });
});
