import { test, expect } from 'vitest';
import { JuteReader } from '../../src/jute/reader.js';
import { JuteWriter } from '../../src/jute/writer.js';
import { FrameSplitter } from '../../src/jute/framing.js';
import { OpCode } from '../../src/proto/opcodes.js';
import { Err } from '../../src/proto/error-codes.js';
import * as P from '../../src/proto/records.js';
import * as T from '../../src/proto/txn-records.js';
import * as M from '../../src/proto/multi.js';
import type { Stat } from '../../src/proto/data.js';

// Byte layouts derived by hand from zookeeper.jute and the hand-written multi encoding, so that
// a codec change that moves a byte fails here even if it still round-trips.

/** Hex digits; whitespace and `# comments` to the end of a line are ignored. */
function hex(s: string): Buffer {
  const digits = s.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/.test(digits)) throw new Error(`bad hex fixture: ${digits}`);
  return Buffer.from(digits, 'hex');
}

function encode<V>(write: (w: JuteWriter, v: V) => void, v: V): Buffer {
  const w = new JuteWriter(16);
  write(w, v);
  return w.toBuffer();
}

/** Decodes and checks every byte was consumed. */
function decode<V>(read: (r: JuteReader) => V, bytes: Buffer): V {
  const r = new JuteReader(bytes);
  const v = read(r);
  expect(r.remaining).toBe(0);
  return v;
}

const PASSWD_ZERO = '00000010' + '00'.repeat(16);

// A 3.3-era client: no readOnly byte after passwd.
const CONNECT_REQUEST_OLD = hex(`
  00000000            # protocolVersion 0
  0000000100000002    # lastZxidSeen 0x100000002
  00007530            # timeOut 30000
  0123456789abcdef    # sessionId
  ${PASSWD_ZERO}      # passwd: length 16, 16 zero bytes
`);

test('ConnectRequest without the readOnly byte (old clients)', () => {
  expect(CONNECT_REQUEST_OLD.length).toBe(44);
  const req = decode(P.readConnectRequest, CONNECT_REQUEST_OLD);
  expect(req).toEqual({
    protocolVersion: 0,
    lastZxidSeen: 0x1_0000_0002n,
    timeOut: 30000,
    sessionId: 0x0123456789abcdefn,
    passwd: Buffer.alloc(16),
    readOnly: false,
    readOnlyPresent: false,
  });
  expect(encode(P.writeConnectRequest, req)).toEqual(CONNECT_REQUEST_OLD);
});

test('ConnectRequest with the readOnly byte', () => {
  const bytes = Buffer.concat([CONNECT_REQUEST_OLD, hex('01')]);
  const req = decode(P.readConnectRequest, bytes);
  expect([req.readOnly, req.readOnlyPresent]).toEqual([true, true]);
  expect(encode(P.writeConnectRequest, req)).toEqual(bytes);
});

test('ConnectResponse mirrors the client: readOnly byte only when the request had one', () => {
  const base = { protocolVersion: 0, timeOut: 4000, sessionId: 0x1000000000001n, passwd: Buffer.alloc(16), readOnly: false };
  const old = hex(`00000000 00000fa0 0001000000000001 ${PASSWD_ZERO}`);
  expect(encode(P.writeConnectResponse, { ...base, readOnlyPresent: false })).toEqual(old);
  expect(encode(P.writeConnectResponse, { ...base, readOnlyPresent: true })).toEqual(Buffer.concat([old, hex('00')]));
  expect(decode(P.readConnectResponse, old)).toEqual({ ...base, readOnlyPresent: false });
});

const STAT: Stat = {
  czxid: 2n,
  mzxid: 3n,
  ctime: 1_700_000_000_000,
  mtime: 1_700_000_000_000,
  version: 1,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  dataLength: 0,
  numChildren: 0,
  pzxid: 2n,
};
const STAT_HEX = `
  0000000000000002 0000000000000003
  0000018bcfe56800 0000018bcfe56800
  00000001 00000000 00000000
  0000000000000000
  00000000 00000000
  0000000000000002`;

test('GetDataResponse with null data', () => {
  const bytes = hex(`ffffffff ${STAT_HEX}`);
  expect(bytes.length).toBe(4 + 68);
  const rsp = decode(P.readGetDataResponse, bytes);
  expect(rsp).toEqual({ data: null, stat: STAT });
  expect(encode(P.writeGetDataResponse, rsp)).toEqual(bytes);
  // Empty data is not null data.
  expect(encode(P.writeGetDataResponse, { data: Buffer.alloc(0), stat: STAT }).subarray(0, 4)).toEqual(hex('00000000'));
});

test('watch notification: ReplyHeader(xid -1, zxid -1) then WatcherEvent', () => {
  const bytes = hex(`
    ffffffff ffffffffffffffff 00000000
    00000003 00000003 00000002 2f61`);
  const r = new JuteReader(bytes);
  expect(P.readReplyHeader(r)).toEqual({ xid: -1, zxid: -1n, err: 0 });
  expect(P.readWatcherEvent(r)).toEqual({ type: 3, state: 3, path: '/a' });
  expect(r.remaining).toBe(0);
});

// A failed multi of three ops whose second op hit NoNode: the ops before the failure report
// ok (0), the failing op its code, the ops after it RuntimeInconsistency (-2). Each error
// result repeats its code in the MultiHeader err and in the ErrorResponse body.
const MULTI_RESPONSE_FAILED = hex(`
  ffffffff 00 00000000   00000000   # header(error, done=false, err=0), ErrorResponse(0)
  ffffffff 00 ffffff9b   ffffff9b   # header(error, false, -101), ErrorResponse(-101)
  ffffffff 00 fffffffe   fffffffe   # header(error, false, -2), ErrorResponse(-2)
  ffffffff 01 ffffffff              # end: header(-1, done=true, -1)
`);

test('multi response of a failed multi: error results and the end marker', () => {
  const rsp = decode(M.readMultiResponse, MULTI_RESPONSE_FAILED);
  expect(rsp).toEqual({
    results: [
      { type: OpCode.error, err: Err.ok },
      { type: OpCode.error, err: Err.noNode },
      { type: OpCode.error, err: Err.runtimeInconsistency },
    ],
  });
  expect(encode(M.writeMultiResponse, rsp)).toEqual(MULTI_RESPONSE_FAILED);
});

test('multi response of a successful multi: create2, setData, delete, check', () => {
  const bytes = hex(`
    0000000f 00 00000000   00000002 2f61 ${STAT_HEX}
    00000005 00 00000000   ${STAT_HEX}
    00000002 00 00000000
    0000000d 00 00000000
    ffffffff 01 ffffffff`);
  const rsp = decode(M.readMultiResponse, bytes);
  expect(rsp.results).toEqual([
    { type: OpCode.create2, path: '/a', stat: STAT },
    { type: OpCode.setData, stat: STAT },
    { type: OpCode.delete },
    { type: OpCode.check },
  ]);
  expect(encode(M.writeMultiResponse, rsp)).toEqual(bytes);
});

test('an empty multi response is just the end marker', () => {
  expect(encode(M.writeMultiResponse, { results: [] })).toEqual(hex('ffffffff 01 ffffffff'));
});

// A whole client frame: length, RequestHeader(xid 1, multi), create("/a", "x", world:anyone ALL,
// persistent), check("/a", version 3), end marker.
const MULTI_REQUEST_FRAME = hex(`
  00000057                      # frame length 87
  00000001 0000000e             # RequestHeader xid 1, type 14 multi
  00000001 00 ffffffff          # MultiHeader(create, done=false, err=-1)
    00000002 2f61               #   path "/a"
    00000001 78                 #   data "x"
    00000001                    #   acl: 1 entry
    0000001f                    #     perms ALL
    00000005 776f726c64         #     scheme "world"
    00000006 616e796f6e65       #     id "anyone"
    00000000                    #   flags persistent
  0000000d 00 ffffffff          # MultiHeader(check, false, -1)
    00000002 2f61               #   path "/a"
    00000003                    #   version 3
  ffffffff 01 ffffffff          # end marker
`);

test('multi request frame: headers, op records and end marker', () => {
  expect(MULTI_REQUEST_FRAME.length).toBe(4 + 0x57);
  const s = new FrameSplitter(1 << 20);
  s.push(MULTI_REQUEST_FRAME.subarray(0, 30));
  expect(s.next()).toBe(false);
  s.push(MULTI_REQUEST_FRAME.subarray(30));
  expect(s.next()).toBe(true);
  const r = new JuteReader(s.frameBuf, s.frameStart, s.frameEnd);
  expect(P.readRequestHeader(r)).toEqual({ xid: 1, type: OpCode.multi });
  const multi = M.readMultiRequest(r);
  expect(r.remaining).toBe(0);
  expect(multi.ops).toEqual([
    {
      type: OpCode.create,
      request: {
        path: '/a',
        data: Buffer.from('x'),
        acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
        flags: 0,
      },
    },
    { type: OpCode.check, request: { path: '/a', version: 3 } },
  ]);
  const w = new JuteWriter(16);
  w.startFrame();
  P.writeRequestHeader(w, { xid: 1, type: OpCode.multi });
  M.writeMultiRequest(w, multi);
  w.endFrame();
  expect(w.toBuffer()).toEqual(MULTI_REQUEST_FRAME);
});

test('TxnHeader of a create', () => {
  const bytes = hex(`
    0123456789abcdef
    00000007
    0000000100000005
    0000018bcfe56800
    00000001`);
  const hdr = decode(T.readTxnHeader, bytes);
  expect(hdr).toEqual({ clientId: 0x0123456789abcdefn, cxid: 7, zxid: 0x1_0000_0005n, time: 1_700_000_000_000, type: OpCode.create });
  expect(encode(T.writeTxnHeader, hdr)).toEqual(bytes);
});
