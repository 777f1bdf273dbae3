// Differential (ZooKeeper 3.8 vs tszk): znodes, paths, versions, system nodes, multi and
// multiRead, containers and TTL nodes, getEphemerals, pipelining, odd and unknown requests.
// How transcripts are built and compared: differential-harness.ts.
import { JuteWriter } from '../../src/jute/writer.js';
import { CreateMode, OpCode, Xid } from '../../src/proto/opcodes.js';
import { toResult } from '../support/raw-client.js';
import { writeCreateRequest, writeReconfigRequest } from '../../src/proto/records.js';
import type { Recorded, Scenario } from './differential-harness.js';
import { describeDifferential, ops } from './differential-harness.js';

const M = CreateMode;
const WORLD_ALL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
/** A TTL long enough never to expire during the run (expiry would consume a zxid mid-scenario). */
const LONG_TTL_MS = 3_600_000;

function body(write: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(256);
  write(w);
  return w.toBuffer();
}

async function nodeGone(h: Scenario, path: string): Promise<boolean> {
  const r = await h.driver.exists(path);
  return r.err !== 0;
}

describeDifferential(
  'differential: znodes',
  {
    extraConfig: { extendedTypesEnabled: 'true', 'znode.container.checkIntervalMs': '100' },
    referenceSystemProps: { 'znode.container.checkIntervalMs': '100' },
  },
  ({ scenario }) => {
    scenario('system nodes: Stat, data, children, ACLs of /, /zookeeper, /zookeeper/config, /zookeeper/quota', '/sys', async (h) => {
      const a = await h.open('A');
      for (const path of ['/', '/zookeeper', '/zookeeper/config', '/zookeeper/quota']) {
        await a.exists(path);
        await a.getData(path);
        await a.getChildren(path);
        await a.getChildren2(path);
        await a.getACL(path);
        await a.getAllChildrenNumber(path);
      }
    });

    scenario('create modes, sequential counters, ephemerals, NoChildrenForEphemerals, flags', '/cm', async (h) => {
      const a = await h.open('A');
      await a.create('/cm/p', 'd');
      await a.create2('/cm/p2', 'dd');
      await a.create('/cm/p', 'again');
      await a.create2('/cm/p2', 'again');
      for (let i = 0; i < 3; i++) await a.create('/cm/s-', `s${i}`, { flags: M.persistentSequential });
      await a.create2('/cm/e', 'eph', { flags: M.ephemeral });
      await a.create2('/cm/es-', null, { flags: M.ephemeralSequential });
      await a.getChildren2('/cm');
      // The counter is the parent's cversion, which deletes bump too.
      await a.delete('/cm/p');
      await a.create2('/cm/s-', null, { flags: M.persistentSequential });
      await a.create('/cm/q', null);
      await a.create('/cm/q/', null, { flags: M.persistentSequential });
      await a.create('/cm/q/x', null, { flags: M.persistentSequential });
      await a.create('/cm/q/x', null, { flags: M.ephemeralSequential });
      await a.create('/cm/q/x/', null, { flags: M.persistentSequential });
      await a.getChildren2('/cm/q');
      await a.create('/cm/r', null);
      await a.create('/cm/r/a', null);
      await a.create('/cm/r/a', null);
      await a.create('/cm/r/z-', null, { flags: M.persistentSequential });
      await a.create('/cm/missing/x', null);
      await a.create('/cm/missing/x', null, { flags: M.persistentSequential });
      await a.create('/cm/e/child', null);
      await a.create('/cm/e/child', null, { flags: M.ephemeral });
      await a.create('/cm/e/child', null, { flags: M.persistentSequential });
      await a.getData('/cm/e');
      await a.getData('/cm/p2');
      await a.create('/cm/nul', null);
      await a.create('/cm/empty', '');
      await a.create2('/cm/bin', Buffer.from([0, 1, 2, 255]));
      await a.getData('/cm/nul');
      await a.getData('/cm/empty');
      await a.getData('/cm/bin');
      await a.create('/cm/flags7', null, { flags: 7 });
      await a.create('/cm/flags-1', null, { flags: -1 });
      await a.create('/cm/flags99', null, { flags: 99 });
      await a.create('/cm/noacl', null, { acl: [] });
      await a.getChildren('/cm');
      await a.getAllChildrenNumber('/cm');
      await a.getAllChildrenNumber('/cm/nothing');
      await a.getEphemerals('/cm');
      await a.exists('/cm/e');
    });

    scenario('bad and unusual paths on create, exists, getData, setData, delete, getChildren', '/bp', async (h) => {
      const a = await h.open('A');
      const paths = [
        '', 'noslash', '/', '//', '/bp/', '/bp//x', '/bp/.', '/bp/..', '/bp/./x', '/bp/../x', '/bp/.x', '/bp/..x', '/bp/x.',
        '/bp/...', '/bp/a\u0000b', '/bp/\u0001', '/bp/\u001f', '/bp/\u007f', '/bp/\u0080', '/bp/\u009f', '/bp/\u00a0',
        '/bp/\ud7ff', '/bp/\ue000', '/bp/\uf8ff', '/bp/\uf900', '/bp/\ufeff', '/bp/\ufff0', '/bp/\ufffd', '/bp/\uffff',
        '/bp/日本語', '/bp/é', '/bp/😀', '/bp/a\u200bb', '/bp/ ', '/bp/a b', '/bp/zookeeper', '/zookeeper', '/zookeeper/',
      ];
      for (const path of paths) {
        await a.create(path, 'x');
        await a.exists(path);
        await a.getData(path);
        await a.setData(path, 'y');
        await a.getChildren(path);
      }
      for (const path of paths) await a.delete(path);
      await a.create('/bp/', 'x', { flags: M.persistentSequential });
      await a.create('/bp//', 'x', { flags: M.persistentSequential });
      await a.create('/bp/.', 'x', { flags: M.persistentSequential });
      await a.create('/bp/..', 'x', { flags: M.persistentSequential });
      await a.create('', 'x', { flags: M.persistentSequential });
      // A path that is not valid UTF-8: the server decodes it with replacement characters.
      const invalidUtf8 = body((w) => {
        w.writeBuffer(Buffer.from([0x2f, 0x62, 0x70, 0x2f, 0xff, 0xfe]));
        w.writeBuffer(null);
        w.writeVectorLength(1);
        w.writeInt(31);
        w.writeString('world');
        w.writeString('anyone');
        w.writeInt(0);
      });
      await a.call(OpCode.create, invalidUtf8);
      await a.getChildren2('/bp');
      await a.getAllChildrenNumber('/bp');
    });

    scenario('versions: setData, delete, check; NotEmpty; deleting the system nodes', '/ver', async (h) => {
      const a = await h.open('A');
      await a.create('/ver/n', 'a');
      await a.setData('/ver/n', 'b', 0);
      await a.setData('/ver/n', 'c', 0);
      await a.setData('/ver/n', 'c', -1);
      await a.setData('/ver/n', 'd', -2);
      await a.setData('/ver/n', 'd', 2147483647);
      await a.setData('/ver/n', 'd', 2);
      await a.setData('/ver/n', null, 3);
      await a.getData('/ver/n');
      await a.setData('/ver/missing', 'x', -1);
      await a.setData('/ver/missing', 'x', 5);
      // A standalone check (opcode 13 outside a multi) that succeeds gets no reply at all from
      // ZooKeeper 3.8 (FinalRequestProcessor has no case for it), so only failing ones are compared.
      await a.check('/ver/n', 3);
      await a.check('/ver/n', 5);
      await a.check('/ver/missing', 0);
      await a.check('/ver/missing', -1);
      await a.check('/ver/bad/', -1);
      await a.create('/ver/n/c', 'c');
      await a.delete('/ver/n', 4);
      await a.delete('/ver/n', -1);
      await a.delete('/ver/n/c', 1);
      await a.delete('/ver/n/c', -2);
      await a.delete('/ver/n/c', 0);
      await a.delete('/ver/n', 3);
      await a.delete('/ver/n', 4);
      await a.delete('/ver/n', -1);
      await a.getChildren2('/ver');
      await a.delete('/', -1);
      await a.delete('/zookeeper', -1);
      await a.delete('/zookeeper/quota', -1);
      await a.delete('/zookeeper/config', -1);
      await a.setData('/zookeeper/config', 'x', -1);
      await a.setData('/zookeeper', 'x', -1);
      await a.getData('/zookeeper');
      await a.setData('/zookeeper', '', -1);
      await a.create('/zookeeper/x', 'x');
      await a.getChildren('/zookeeper');
      await a.delete('/zookeeper/x', -1);
      await a.create('/zookeeper/quota/x', 'x');
      await a.delete('/zookeeper/quota/x', -1);
      await a.create('/zookeeper/config/x', 'x');
      await a.exists('/ver/');
      await a.getData('/ver/');
      await a.getChildren('/ver/');
    });

    scenario('multi: success, failure with per-op results, nothing applied, zxid consumed', '/mu', async (h) => {
      const a = await h.open('A');
      await a.multi([
        ops.create('/mu/a', 'x'),
        ops.create('/mu/a2', 'x2'),
        ops.setData('/mu/a', 'y', 0),
        ops.check('/mu/a', 1),
        ops.create('/mu/b', 'b'),
        ops.delete('/mu/b', 0),
      ]);
      await a.getData('/mu/a');
      await a.getChildren2('/mu');
      await a.multi([ops.create('/mu/c', 'c'), ops.setData('/mu/missing', 'x'), ops.create('/mu/d', 'd')]);
      await a.exists('/mu/c');
      await a.create('/mu/after1', null);
      await a.multi([ops.setData('/mu/a', 'z'), ops.check('/mu/a', 99)]);
      await a.getData('/mu/a');
      await a.multi([ops.delete('/mu/nothing'), ops.create('/mu/e', null)]);
      await a.multi([ops.create('/mu/x', null), ops.create('/mu/x', null)]);
      await a.multi([ops.create('/mu/p', null), ops.create('/mu/p/c', null), ops.delete('/mu/p/c'), ops.delete('/mu/p')]);
      await a.multi([ops.create('/mu/p', null), ops.create('/mu/p/c', null), ops.delete('/mu/p')]);
      await a.multi([ops.delete('/mu/a', 7)]);
      await a.multi([ops.create('/mu/bad/', null)]);
      await a.multi([ops.create('/mu/ok', null), ops.create('/mu/bad//x', null)]);
      await a.multi([ops.create('/mu/acl', null, 0, [])]);
      await a.multi([
        ops.create('/mu/s-', 's', M.persistentSequential),
        ops.create('/mu/s-', 's', M.persistentSequential),
        ops.create2('/mu/es-', 'e', M.ephemeralSequential),
        ops.create('/mu/eph', 'e', M.ephemeral),
        ops.create('/mu/eph/c', 'e'),
      ]);
      await a.multi([
        ops.create('/mu/s-', 's', M.persistentSequential),
        ops.create('/mu/eph', 'e', M.ephemeral),
        ops.createContainer('/mu/cont'),
        ops.createTTL('/mu/ttl', 't', LONG_TTL_MS),
        ops.createTTL('/mu/ttlbad', 't', 0),
      ]);
      await a.multi([ops.createContainer('/mu/cont'), ops.createTTL('/mu/ttl', 't', LONG_TTL_MS)]);

      await a.getData('/mu/ttl');
      await a.delete('/mu/ttl');
      await a.getData('/mu/cont');
      await a.multi([]);
      await a.create('/mu/after2', null);
      await a.multi([ops.check('/mu/a', 1), ops.check('/mu/a', 2)]);
      await a.multi([ops.check('/mu/missing', -1)]);
      await a.multi([ops.setData('/mu/a', 'w', -1), ops.setData('/mu/a', 'v', 2), ops.setData('/mu/a', 'u', 4)]);
      await a.getData('/mu/a');
      await a.getChildren2('/mu');
      await a.create('/mu/after3', null);
    });

    // ZooKeeper's MultiOperationRecord.deserialize turns create (1), create2 (15) and
    // createContainer (19) ops alike into Op.create(path, data, acl, flags), whose type follows the
    // flags alone: a create2 op is answered like a create (path only), a create op with the
    // container flag like a createContainer (path and Stat), a createContainer op with flags 0
    // like a create.
    scenario('multi: the result of a create op follows its flags, not its op type', '/mc2', async (h) => {
      const a = await h.open('A');
      await a.multi([ops.create2('/mc2/a', 'x'), ops.create('/mc2/b', 'y')]);
      await a.multi([ops.create2('/mc2/c', 'x'), ops.create2('/mc2/c', 'y')]);
      await a.multi([ops.create('/mc2/c1', null, M.container), ops.createContainer('/mc2/c2', null, 0)]);
      await a.getData('/mc2/c1');
      await a.getData('/mc2/c2');
    });

    scenario('multiRead: mixed results; mixing read and write ops', '/mr', async (h) => {
      const a = await h.open('A');
      await a.create('/mr/a', 'A');
      await a.create('/mr/a/x', null);
      await a.create('/mr/b', null, { acl: [{ perms: 0, id: { scheme: 'world', id: 'anyone' } }] });
      await a.multiRead([
        ops.getData('/mr/a'),
        ops.getData('/mr/missing'),
        ops.getChildren('/mr'),
        ops.getChildren('/mr/missing'),
        ops.getData('/mr/b'),
        ops.getChildren('/mr/b'),
        ops.getData('/mr/a/x'),
      ]);
      await a.multiRead([]);
      await a.multiRead([ops.getData('/mr/bad/')]);
      await a.create('/mr/after1', null);
      await a.multiRead([ops.getData('/mr/a'), ops.create('/mr/w', null)]);
    });

    scenario('multi with a read op is refused', '/mx', async (h) => {
      const a = await h.open('A');
      await a.multi([ops.create('/mx/w', null), ops.getData('/mx')]);
      await a.exists('/mx/w');
    });

    scenario('getEphemerals with prefixes; getAllChildrenNumber', '/ge', async (h) => {
      const a = await h.open('A');
      const b = await h.open('B');
      const c = await h.open('C');
      await a.create('/ge/a1', null, { flags: M.ephemeral });
      await a.create('/ge/a2', null, { flags: M.ephemeral });
      await a.create('/ge/b', null);
      await a.create('/ge/b/c', null, { flags: M.ephemeral });
      await a.create('/ge/bc', null, { flags: M.ephemeral });
      await a.create('/ge/s-', null, { flags: M.ephemeralSequential });
      await b.create('/ge/x', null, { flags: M.ephemeral });
      for (const prefix of ['/ge/a', '/ge/b', '/ge/b/', '/ge', '/', '', '/nothing', '/ge/a1', '/ge/a1/', 'ge']) {
        await a.getEphemerals(prefix);
      }
      await b.getEphemerals('/');
      await c.getEphemerals('/');
      await a.getAllChildrenNumber('/ge');
      await a.getAllChildrenNumber('/ge/b');
      await a.getAllChildrenNumber('/ge/b/c');
      await a.getAllChildrenNumber('/ge/');
      await a.getAllChildrenNumber('');
      await b.delete('/ge/a1');
      await a.getEphemerals('/ge');
    });

    scenario('containers: reaped once emptied; never-used containers stay', '/ct', async (h) => {
      const a = await h.open('A');
      await h.open('B'); // a bystander session: its probes are part of every step
      await a.createContainer('/ct/c', 'c');
      await a.createContainer('/ct/never', null);
      await a.createContainer('/ct/c', 'again');
      await a.createContainer('/ct/flags0', null, { flags: 0 });
      await a.createContainer('/ct/flags1', null, { flags: M.ephemeral });
      await a.createContainer('/ct/flags2', null, { flags: M.persistentSequential });
      await a.create('/ct/viaCreate', null, { flags: M.container });
      await a.create2('/ct/viaCreate2', null, { flags: M.container });
      await a.exists('/ct/c');
      await a.create('/ct/c/child', 'x');
      await a.create('/ct/c/eph', 'x', { flags: M.ephemeral });
      // No watches on nodes the reaper deletes: the reaper runs on its own timer, so which step of
      // the transcript its events land in differs between runs (the deletions are compared).
      await a.delete('/ct/c/child');
      await a.delete('/ct/c/eph');
      await h.until('/ct/c to be reaped', () => nodeGone(h, '/ct/c'));
      await h.flush();
      await a.exists('/ct/c');
      await a.exists('/ct/never');
      await a.create('/ct/after', null);
      // A container whose last child goes with its owner's session.
      const c = await h.open('C');
      await a.createContainer('/ct/c2', null);
      await c.create('/ct/c2/eph', null, { flags: M.ephemeral });
      await c.close();
      await h.until('/ct/c2 to be reaped', () => nodeGone(h, '/ct/c2'));
      await h.flush();
      await a.create('/ct/after2', null);
    });

    scenario('TTL nodes: create errors, Stat, expiry', '/tt', async (h) => {
      const a = await h.open('A');
      const b = await h.open('B');
      // TTLs here are long enough that nothing expires before the scenario waits for it: an expiry
      // consumes a zxid, and it must happen at the same point of the script on both servers.
      for (const ttl of [0, -1, 1099511627775, 1099511627776, 60_000]) {
        await a.createTTL(`/tt/ttl${ttl}`, null, ttl, { flags: M.persistentWithTtl });
      }
      await a.exists('/tt/ttl60000');
      await a.delete('/tt/ttl1099511627775');
      await a.delete('/tt/ttl60000');
      await a.createTTL('/tt/s-', null, LONG_TTL_MS, { flags: M.persistentSequentialWithTtl });
      for (const flags of [M.persistent, M.ephemeral, M.persistentSequential, M.ephemeralSequential, M.container, 7]) {
        await a.createTTL(`/tt/f${flags}`, null, LONG_TTL_MS, { flags });
      }
      await a.create('/tt/viaCreate', null, { flags: M.persistentWithTtl });
      await a.create2('/tt/viaCreate2', null, { flags: M.persistentSequentialWithTtl });
      await a.createContainer('/tt/viaContainer', null, { flags: M.persistentWithTtl });
      await a.getChildren2('/tt');
      await a.createTTL('/tt/parent', null, 60_000);
      await a.create('/tt/parent/child', null);
      await a.createTTL('/tt/t', 'x', 300);
      await b.getData('/tt/t', true);
      await h.until('/tt/t to expire', () => nodeGone(h, '/tt/t'));
      await h.flush();
      await a.exists('/tt/parent');
      await a.create('/tt/after', null);
      await a.setData('/tt/parent/child', 'x');
      await a.getChildren('/tt');
    });

    scenario('pipelining: many requests in flight, replies in order', '/pl', async (h) => {
      const a = await h.open('A');
      await h.batch(async () => {
        const pending: Promise<unknown>[] = [];
        for (let i = 0; i < 20; i++) {
          pending.push(a.create(`/pl/n${i}`, `v${i}`));
          pending.push(a.getData(`/pl/n${i}`, i % 2 === 0));
          pending.push(a.setData(`/pl/n${i}`, `w${i}`));
          pending.push(a.exists(`/pl/n${i}`));
          if (i % 3 === 0) pending.push(a.delete(`/pl/n${i}`));
          if (i % 5 === 0) pending.push(a.create(`/pl/n${i}`, 'dup'));
        }
        pending.push(a.getChildren2('/pl'));
        pending.push(a.sync('/pl'));
        pending.push(a.ping());
        pending.push(a.getAllChildrenNumber('/pl'));
        await Promise.all(pending);
      });
      const order = a.received.filter((item) => item.kind === 'reply' || item.kind === 'notification').map((item) => (item.kind === 'reply' ? item.xid : `event`));
      h.note('arrival order of replies (xid) and events', order.slice(0, 120));
    });

    scenario('large data: the frame limit (jute.maxbuffer) at its exact boundary', '/big', async (h) => {
      const a = await h.open('A');
      // A create frame is 8 (header) + 4 + path + 4 + data + 27 (world:anyone ACL) + 4 (flags).
      const frameFor = (path: string, dataBytes: number): number => 8 + 4 + Buffer.byteLength(path) + 4 + dataBytes + 27 + 4;
      const limit = 0xfffff;
      const path = '/big/max';
      const dataBytes = limit - frameFor(path, 0);
      await a.create(path, Buffer.alloc(dataBytes, 0x61));
      await a.getData(path);
      await a.setData(path, Buffer.alloc(dataBytes + 4, 0x62));
      await a.exists(path);
      await a.getChildren2('/big');
      const b = await h.open('B');
      await b.create('/big/over', Buffer.alloc(dataBytes + 1, 0x63));
      await a.exists('/big/over');
      const c = await h.open('C');
      await c.setData(path, Buffer.alloc(limit, 0x64));
      await a.getData(path);
    });

    scenario('whoAmI, sync, ping, standalone check, odd requests', '/misc', async (h) => {
      const a = await h.open('A');
      await a.whoAmI();
      await a.sync('/misc');
      await a.sync('/misc/missing');
      await a.sync('/');
      await a.sync('');
      await a.sync('bad');
      await a.ping();
      // A ping with an ordinary xid is answered with xid -2 all the same.
      const raw = h.raw('A');
      const pong = raw.expectReply(Xid.ping, OpCode.ping, 4000);
      void raw.send(OpCode.ping, undefined, { xid: 4242, timeoutMs: 0 }).catch(() => undefined);
      await h.step('A.ping with xid 4242', () => pong.then((reply) => toResult(reply)));
      await a.call(OpCode.reconfig, body((w) => writeReconfigRequest(w, { joiningServers: '', leavingServers: '', newMembers: '', curConfigId: -1n })));
      await a.call(OpCode.getChildren2, Buffer.from([0, 0, 0, 5, 0x2f]));
      await a.call(OpCode.getData, Buffer.alloc(0));
      await a.create('/misc/x', null);
      await a.call(
        OpCode.create,
        body((w) => writeCreateRequest(w, { path: '/misc/y', data: null, acl: WORLD_ALL, flags: 0 })).subarray(0, 12),
      );
      await a.exists('/misc/y');
      await a.create('/misc/z', null);
      await a.setWatches({ relativeZxid: 0n, dataWatches: [], existWatches: [], childWatches: [] });
      await a.setWatches2({
        relativeZxid: 0n,
        dataWatches: [],
        existWatches: [],
        childWatches: [],
        persistentWatches: [],
        persistentRecursiveWatches: [],
      });
      await a.getChildren('/misc');
    });

    scenario('unknown opcode: Unimplemented, then the connection closes', '/unk', async (h) => {
      const a = await h.open('A');
      await a.create('/unk/x', null);
      await a.call(999, Buffer.from('/unk'));
      const b = await h.open('B');
      await b.call(OpCode.notification);
      const c = await h.open('C');
      await c.call(-5, Buffer.alloc(0));
      await c.exists('/unk/x');
    });

    // ZooKeeper without SASL configured answers a sasl packet with OK and a null token and keeps
    // the connection; a deleteContainer (20) from a client is prepped from the whole packet buffer
    // (header included), so its "path" is never valid: BadArguments, a zxid consumed, connection kept.
    scenario('sasl and client-sent deleteContainer', '/quirk', async (h) => {
      const d = await h.open('D');
      await d.call(OpCode.sasl, body((w) => w.writeBuffer(Buffer.from('token'))));
      await d.exists('/quirk');
      const e = await h.open('E');
      await e.create('/quirk/x', null);
      await e.call(OpCode.deleteContainer, Buffer.from('/quirk/x'));
      await e.exists('/quirk/x');
      await e.create('/quirk/y', null);
    });

    scenario('ephemeral owner and reconnect keeps ephemerals; closing deletes them', '/eo', async (h) => {
      const a = await h.open('A');
      const b = await h.open('B');
      await a.create2('/eo/e', 'x', { flags: M.ephemeral });
      await b.exists('/eo/e', true);
      await b.getChildren('/eo', true);
      h.raw('A').destroy();
      await h.raw('A').closedPromise;
      await h.flush();
      const a2: Recorded = await h.open('A2', { resume: 'A' });
      await a2.exists('/eo/e');
      await b.exists('/eo/e');
      await a2.getEphemerals('/');
      await h.batch(() => a2.close(), { sortEvents: true });
      await b.exists('/eo/e');
      await b.getChildren2('/eo');
    });
  },
);
