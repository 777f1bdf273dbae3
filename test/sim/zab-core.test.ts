/**
 * The ZAB cores driven by hand: the orderings that matter (persist, then currentEpoch, then ack;
 * ACK only after the txn is durable; COMMIT only with a quorum), the sync decisions, and a small
 * cluster pumped to quiescence.
 */
import { describe, expect, test } from 'vitest';
import { OpCode } from '../../src/proto/opcodes.js';
import { History } from '../../src/quorum/zab/history.js';
import type { ZabPacket } from '../../src/quorum/zab/packets.js';
import type { Ready, ZabConfig, ZabFaults, ZabInput } from '../../src/quorum/zab/ready.js';
import { FORCE_SNAP_ZXID, planSync } from '../../src/quorum/zab/sync-plan.js';
import { ZabPeer } from '../../src/quorum/zab/zab-peer.js';
import { makeZxid } from '../../src/quorum/zab/zxid.js';
import { DataTree } from '../../src/tree/data-tree.js';
import { applyTxn } from '../../src/txn/apply.js';
import type { TxnEntry } from '../../src/txn/txn.js';

const EMPTY = { acceptedEpoch: 0n, currentEpoch: 0n, snapshotZxid: 0n, log: [] };

function config(sid: number, faults?: ZabFaults, observers: number[] = []): ZabConfig {
  return { sid, voters: [1, 2, 3], observers, initLimitTicks: 10, syncLimitTicks: 5, maxOutstandingProposals: 100, ...(faults ? { faults } : {}) };
}

function txn(zxid: bigint, n = Number(zxid & 0xffffn)): TxnEntry {
  return {
    hdr: { clientId: 1n, cxid: n, zxid, time: 1000 + n, type: OpCode.create },
    body: { type: OpCode.create, record: { path: `/n${n}`, data: Buffer.from(`v${n}`), acl: [], ephemeral: false, parentCVersion: -1 } },
    digest: null,
  };
}

const sent = (r: Ready, type?: ZabPacket['type']): ZabPacket[] => r.messages.map((m) => m.packet).filter((p) => type === undefined || p.type === type);
const persisted = (r: Ready, type: string) => r.persist.filter((p) => p.op.type === type);
const msg = (from: number, packet: ZabPacket): ZabInput => ({ type: 'message', from, packet });

describe('learner', () => {
  /** A follower of leader 1 brought through discovery and a DIFF with one txn, up to NEWLEADER. */
  function toNewLeader(faults?: ZabFaults) {
    const f = new ZabPeer(config(2, faults), EMPTY);
    expect(sent(f.step({ type: 'elected', leader: 1 }))).toEqual([
      { type: 'followerInfo', zxid: 0n, info: { sid: 2n, protocolVersion: 0x10000, configVersion: 0n } },
    ]);
    const li = f.step(msg(1, { type: 'leaderInfo', zxid: makeZxid(1n, 0n), protocolVersion: 0x10000 }));
    expect(sent(li)).toEqual([]); // the new acceptedEpoch must be durable first
    expect(persisted(li, 'writeAcceptedEpoch')).toHaveLength(1);
    const ae = f.step({ type: 'persisted', token: li.persist[0]!.token });
    expect(sent(ae)).toEqual([{ type: 'ackEpoch', zxid: 0n, currentEpoch: 0 }]);
    f.step(msg(1, { type: 'diff', zxid: makeZxid(1n, 0n) }));
    const t1 = txn(0x100000001n);
    const p = f.step(msg(1, { type: 'proposal', txn: t1 }));
    f.step(msg(1, { type: 'commit', zxid: t1.hdr.zxid }));
    const nl = f.step(msg(1, { type: 'newLeader', zxid: makeZxid(1n, 0n), config: null }));
    return { f, appendToken: p.persist[0]!.token, nl };
  }

  test('persists the synced txns, then writes currentEpoch, then acks NEWLEADER', () => {
    const { f, appendToken, nl } = toNewLeader();
    expect(persisted(nl, 'writeCurrentEpoch')).toEqual([]);
    expect(sent(nl)).toEqual([]);
    const ce = f.step({ type: 'persisted', token: appendToken });
    expect(persisted(ce, 'writeCurrentEpoch')).toHaveLength(1);
    expect(sent(ce)).toEqual([]);
    const ack = f.step({ type: 'persisted', token: ce.persist[0]!.token });
    // NEWLEADER's ack first; then, as ZooKeeper's learners do, acks of the synced proposals.
    expect(sent(ack)).toEqual([{ type: 'ack', zxid: makeZxid(1n, 0n) }, { type: 'ack', zxid: 0x100000001n }]);
    expect(ack.apply).toEqual([]); // committed txns wait for UPTODATE
    const up = f.step(msg(1, { type: 'upToDate', zxid: -1n }));
    expect(up.apply.map((a) => a.type === 'txn' && a.entry.hdr.zxid)).toEqual([0x100000001n]);
    expect(up.events).toContainEqual({ type: 'following', leader: 1, epoch: 1n, observer: false });
  });

  test('acks a proposal only once it is durable, and applies on COMMIT', () => {
    const { f, appendToken } = toNewLeader();
    const ce = f.step({ type: 'persisted', token: appendToken });
    f.step({ type: 'persisted', token: ce.persist[0]!.token });
    f.step(msg(1, { type: 'upToDate', zxid: -1n }));
    const t2 = txn(0x100000002n);
    const p = f.step(msg(1, { type: 'proposal', txn: t2 }));
    expect(sent(p, 'ack')).toEqual([]);
    expect(sent(f.step({ type: 'persisted', token: p.persist[0]!.token }), 'ack')).toEqual([{ type: 'ack', zxid: t2.hdr.zxid }]);
    const c = f.step(msg(1, { type: 'commit', zxid: t2.hdr.zxid }));
    expect(c.apply).toEqual([{ type: 'txn', entry: t2 }]);
  });

  test('broken variants: ack before persist, currentEpoch before the synced txns', () => {
    const early = toNewLeader({ currentEpochBeforeTxns: true });
    expect(persisted(early.nl, 'writeCurrentEpoch')).toHaveLength(1);
    const { f, appendToken } = toNewLeader({ ackBeforePersist: true });
    const ce = f.step({ type: 'persisted', token: appendToken });
    f.step({ type: 'persisted', token: ce.persist[0]!.token });
    expect(sent(f.step(msg(1, { type: 'proposal', txn: txn(0x100000002n) })), 'ack')).toHaveLength(1);
  });

  test('a TRUNC inside its snapshot makes it reconnect and ask for a SNAP', () => {
    const f = new ZabPeer(config(2), { acceptedEpoch: 3n, currentEpoch: 1n, snapshotZxid: 0x200000005n, log: [] });
    f.step({ type: 'elected', leader: 1 });
    const li = f.step(msg(1, { type: 'leaderInfo', zxid: makeZxid(5n, 0n), protocolVersion: 0x10000 }));
    f.step({ type: 'persisted', token: li.persist[0]!.token });
    const tr = f.step(msg(1, { type: 'trunc', zxid: 0x200000004n }));
    expect(tr.events).toContainEqual({ type: 'roleEnded', reason: expect.stringContaining('inside our snapshot') });
    f.step({ type: 'elected', leader: 1 });
    // Same epoch again: an uncounted ACKEPOCH, which may name the zxid that forces a SNAP.
    expect(sent(f.step(msg(1, { type: 'leaderInfo', zxid: makeZxid(5n, 0n), protocolVersion: 0x10000 })))).toEqual([
      { type: 'ackEpoch', zxid: FORCE_SNAP_ZXID, currentEpoch: -1 },
    ]);
  });
});

describe('leader', () => {
  /** Leader 1 with follower 2 established in epoch 1 (follower 3 absent). */
  function established(faults?: ZabFaults) {
    const l = new ZabPeer(config(1, faults), EMPTY);
    l.step({ type: 'elected', leader: 1 });
    const fi = l.step(msg(2, { type: 'followerInfo', zxid: 0n, info: { sid: 2n, protocolVersion: 0x10000, configVersion: 0n } }));
    expect(persisted(fi, 'writeAcceptedEpoch')).toEqual([{ token: 1, op: { type: 'writeAcceptedEpoch', epoch: 1n } }]);
    expect(sent(l.step({ type: 'persisted', token: 1 }))).toEqual([{ type: 'leaderInfo', zxid: makeZxid(1n, 0n), protocolVersion: 0x10000 }]);
    const ae = l.step(msg(2, { type: 'ackEpoch', zxid: 0n, currentEpoch: 0 }));
    expect(sent(ae)).toEqual([{ type: 'diff', zxid: 0n }, { type: 'newLeader', zxid: makeZxid(1n, 0n), config: null }]);
    const ce = persisted(ae, 'writeCurrentEpoch');
    expect(ce).toHaveLength(1);
    l.step({ type: 'persisted', token: ce[0]!.token });
    const nl = l.step(msg(2, { type: 'ack', zxid: makeZxid(1n, 0n) }));
    expect(nl.events).toContainEqual({ type: 'leading', epoch: 1n, zxid: 0n });
    expect(sent(nl)).toEqual([{ type: 'upToDate', zxid: -1n }]);
    return l;
  }

  test('commits in order once a quorum (itself included, after its own fsync) acked', () => {
    const l = established();
    expect(l.nextZxid()).toBe(0x100000001n);
    const p1 = l.step({ type: 'propose', entry: txn(0x100000001n) });
    const p2 = l.step({ type: 'propose', entry: txn(0x100000002n) });
    expect(sent(p1)).toEqual([{ type: 'proposal', txn: txn(0x100000001n) }]);
    // Follower 2 acks the second first: nothing commits out of order.
    expect(l.step(msg(2, { type: 'ack', zxid: 0x100000002n })).apply).toEqual([]);
    expect(l.step(msg(2, { type: 'ack', zxid: 0x100000001n })).apply).toEqual([]); // leader not durable yet: 1 of 3
    // The leader's own ack of a txn needs every earlier write durable too.
    expect(l.step({ type: 'persisted', token: p2.persist[0]!.token }).apply).toEqual([]);
    const c = l.step({ type: 'persisted', token: p1.persist[0]!.token });
    expect(sent(c)).toEqual([{ type: 'commit', zxid: 0x100000001n }, { type: 'commit', zxid: 0x100000002n }]);
    expect(c.apply.map((a) => a.type === 'txn' && a.entry.hdr.zxid)).toEqual([0x100000001n, 0x100000002n]);
    expect(p1.persist[0]!.token).toBeLessThan(p2.persist[0]!.token);
  });

  test('rejects a proposal with the wrong zxid, and a follower that is ahead of it', () => {
    const l = established();
    expect(l.step({ type: 'propose', entry: txn(0x100000005n) }).events[0]).toMatchObject({ type: 'proposeRejected' });
    const l2 = new ZabPeer(config(1), EMPTY);
    l2.step({ type: 'elected', leader: 1 });
    l2.step(msg(3, { type: 'followerInfo', zxid: 0n, info: { sid: 3n, protocolVersion: 0x10000, configVersion: 0n } }));
    l2.step({ type: 'persisted', token: 1 });
    const ahead = l2.step(msg(3, { type: 'ackEpoch', zxid: 0x100000009n, currentEpoch: 0 }));
    expect(ahead.disconnect).toEqual([{ peer: 3, link: 'toLearner' }]);
  });

  test('answers a forwarded sync() once what was proposed before it commits', () => {
    const l = established();
    expect(sent(l.step({ type: 'learnerSync', from: 2 }))).toEqual([{ type: 'sync', zxid: 0n }]);
    const p = l.step({ type: 'propose', entry: txn(0x100000001n) });
    expect(sent(l.step({ type: 'learnerSync', from: 2 }))).toEqual([]);
    l.step({ type: 'persisted', token: p.persist[0]!.token });
    expect(sent(l.step(msg(2, { type: 'ack', zxid: 0x100000001n })))).toEqual([
      { type: 'commit', zxid: 0x100000001n },
      { type: 'sync', zxid: 0n },
    ]);
  });

  test("a reconnecting learner's old ACKs stop counting", () => {
    const l = established();
    const p = l.step({ type: 'propose', entry: txn(0x100000001n) });
    l.step(msg(2, { type: 'ack', zxid: 0x100000001n }));
    // Follower 2 reconnects (it may be TRUNCated and lose the txn until it is streamed again).
    l.step(msg(2, { type: 'followerInfo', zxid: makeZxid(1n, 0n), info: { sid: 2n, protocolVersion: 0x10000, configVersion: 0n } }));
    expect(l.step({ type: 'persisted', token: p.persist[0]!.token }).apply).toEqual([]);
  });

  test('steps down for a learner that promised a later epoch, so that it can rejoin', () => {
    const l = established();
    const r = l.step(msg(3, { type: 'followerInfo', zxid: makeZxid(2n, 0n), info: { sid: 3n, protocolVersion: 0x10000, configVersion: 0n } }));
    expect(r.events).toContainEqual({ type: 'roleEnded', reason: expect.stringContaining('accepted epoch 2') });
  });

  test('broken variant: commits on its own ack alone', () => {
    const l = established({ commitWithoutQuorum: true });
    const p = l.step({ type: 'propose', entry: txn(0x100000001n) });
    expect(l.step({ type: 'persisted', token: p.persist[0]!.token }).apply).toHaveLength(1);
  });

  test('steps down when followers go silent', () => {
    const l = established();
    let ended = false;
    for (let i = 0; i < 30 && !ended; i++) ended = l.step({ type: 'tick' }).events.some((e) => e.type === 'roleEnded');
    expect(ended).toBe(true);
    expect(l.state).toBe('looking');
  });
});

describe('planSync', () => {
  const h = new History(0n, [txn(0x100000001n), txn(0x100000002n), txn(0x200000001n), txn(0x200000002n)]);
  test.each([
    ['in sync', 0x200000002n, 0x200000002n, { type: 'diff', zxid: 0x200000002n, from: 4 }],
    ['behind, in the history', 0x100000002n, 0x200000002n, { type: 'diff', zxid: 0x200000002n, from: 2 }],
    ['empty learner', 0n, 0x200000002n, { type: 'diff', zxid: 0x200000002n, from: 0 }],
    ['logged proposals beyond the commit point', 0x200000003n, 0x200000002n, { type: 'trunc', zxid: 0x200000002n, from: 4 }],
    ['outstanding proposals stay outstanding', 0x200000002n, 0x200000001n, { type: 'trunc', zxid: 0x200000001n, from: 3 }],
    ['divergent within an epoch', 0x100000003n, 0x200000002n, { type: 'snap', zxid: 0x200000002n, from: 4 }],
    ['a Java learner at an epoch boundary', 0x200000000n, 0x200000002n, { type: 'diff', zxid: 0x200000002n, from: 2 }],
    ['asks for a snapshot', FORCE_SNAP_ZXID, 0x200000002n, { type: 'snap', zxid: 0x200000002n, from: 4 }],
  ])('%s', (_name, peer, committed, plan) => {
    expect(planSync(h, committed, peer)).toEqual(plan);
  });

  test('truncates to the entry before a gap of the same epoch', () => {
    const gap = new History(0n, [txn(0x100000001n), txn(0x100000003n)]);
    expect(planSync(gap, 0x100000003n, 0x100000002n)).toEqual({ type: 'trunc', zxid: 0x100000001n, from: 1 });
  });

  test('a learner older than the snapshot gets a SNAP', () => {
    const snapped = new History(0x100000002n, [txn(0x200000001n)]);
    expect(planSync(snapped, 0x200000001n, 0x100000001n)).toEqual({ type: 'snap', zxid: 0x200000001n, from: 1 });
  });
});

describe('a three-voter, one-observer cluster', () => {
  test('elects, syncs, replicates and agrees on the tree', () => {
    const peers = new Map<number, ZabPeer>();
    for (const sid of [1, 2, 3, 4]) peers.set(sid, new ZabPeer(config(sid, undefined, [4]), EMPTY));
    const trees = new Map([...peers.keys()].map((sid) => [sid, new DataTree()]));
    const inbox: { to: number; input: ZabInput }[] = [];
    const events: string[] = [];
    const run = (sid: number, input: ZabInput): void => {
      const r = peers.get(sid)!.step(input);
      for (const p of r.persist) inbox.push({ to: sid, input: { type: 'persisted', token: p.token } });
      for (const m of r.messages) inbox.push({ to: m.to, input: { type: 'message', from: sid, packet: m.packet } });
      for (const a of r.apply) if (a.type === 'txn') applyTxn(trees.get(sid)!, a.entry.hdr, a.entry.body);
      for (const e of r.events) events.push(`${sid} ${e.type}`);
    };
    const pump = (): void => {
      for (let i = 0; i < 10_000 && inbox.length > 0; i++) {
        const { to, input } = inbox.shift()!;
        run(to, input);
      }
      expect(inbox).toEqual([]);
    };
    for (const sid of [1, 2, 3, 4]) run(sid, { type: 'elected', leader: 3 });
    pump();
    expect(events.sort()).toEqual(['1 following', '2 following', '3 leading', '4 following']);
    for (let i = 0; i < 5; i++) {
      run(3, { type: 'propose', entry: txn(peers.get(3)!.nextZxid()!) });
      pump();
    }
    const digests = [...trees.values()].map((t) => t.digest);
    expect(new Set(digests).size).toBe(1);
    expect([...peers.values()].map((p) => p.appliedZxid)).toEqual([0x100000005n, 0x100000005n, 0x100000005n, 0x100000005n]);
    expect(trees.get(4)!.get('/n5')).toBeDefined();
  });
});
