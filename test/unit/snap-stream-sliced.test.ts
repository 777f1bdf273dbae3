// The leader's SNAP is written in slices while the tree keeps changing (a fuzzy snapshot, as
// ZooKeeper's): replaying, over the decoded tree, every txn applied after the SNAP's zxid must
// give exactly the live tree.
import { describe, expect, it } from 'vitest';
import { OpCode } from '../../src/proto/opcodes.js';
import { SnapStreamReader, writeSnapStreamSliced } from '../../src/quorum/net/snap-stream.js';
import { DataTree } from '../../src/tree/data-tree.js';
import { applyTxn } from '../../src/txn/apply.js';
import type { TxnBody } from '../../src/txn/txn.js';
import { Prng } from '../../src/util/prng.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

describe('a SNAP stream written in slices while the tree changes', () => {
  it('plus the txns after its zxid, rebuilds the live tree exactly', async () => {
    const live = new DataTree(false);
    let zxid = 0n;
    const txns: { zxid: bigint; body: TxnBody }[] = [];
    const apply = (body: TxnBody): void => {
      zxid += 1n;
      applyTxn(live, { clientId: 1n, cxid: 0, zxid, time: 1_000 + Number(zxid), type: body.type }, body);
      txns.push({ zxid, body });
    };
    // As prep makes them: the parent's new cversion is in the txn, so a replay sets it, not bumps it.
    const create = (path: string): void => {
      const parent = live.get(path.slice(0, path.lastIndexOf('/')) || '/')!;
      apply({ type: OpCode.create, record: { path, data: Buffer.from(path), acl: OPEN, ephemeral: false, parentCVersion: parent.cversion + 1 } });
    };
    for (let i = 0; i < 200; i++) create(`/d${i}`);
    for (let i = 0; i < 2_000; i++) create(`/d${i % 200}/n${i}`);

    const snapZxid = live.lastProcessedZxid;
    const rng = Prng.fromSeed(7);
    const chunks: Buffer[] = [];
    let done = false;
    const writing = writeSnapStreamSliced(live, [[5n, 30_000]], snapZxid, (chunk) => void chunks.push(chunk), { sliceMs: 0, chunkBytes: 4096 }).then(() => {
      done = true;
    });
    // Between slices: creates, deletes and setData all over the tree, until the stream is out.
    let made = 0;
    while (!done) {
      const d = rng.nextInt(200);
      const n = 2_000 + made++;
      create(`/d${d}/m${n}`);
      if (n % 3 === 0) apply({ type: OpCode.delete, record: { path: `/d${d}/m${n}` } });
      apply({ type: OpCode.setData, record: { path: `/d${rng.nextInt(200)}`, data: Buffer.from(`v${n}`), version: -1 } });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await writing;
    expect(made).toBeGreaterThan(10);

    const reader = new SnapStreamReader({ extendedTypesEnabled: false });
    let rest: Buffer | null = null;
    for (const chunk of chunks) rest = reader.push(chunk);
    expect(rest?.length).toBe(0);
    const { tree, sessions } = reader.result();
    expect(sessions.get(5n)).toBe(30_000);
    tree.lastProcessedZxid = snapZxid;
    for (const t of txns) {
      if (t.zxid <= snapZxid) continue;
      applyTxn(tree, { clientId: 1n, cxid: 0, zxid: t.zxid, time: 1_000 + Number(t.zxid), type: t.body.type }, t.body);
    }
    expect(tree.nodeCount).toBe(live.nodeCount);
    expect(tree.digest).toBe(live.digest);
    for (const [path, node] of live.nodes) {
      const copy = tree.nodes.get(path);
      expect(copy?.stat(false), path).toEqual(node.stat(false));
      expect(copy?.data, path).toEqual(node.data);
    }
  });
});
