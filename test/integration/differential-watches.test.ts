// Differential (ZooKeeper 3.8 vs tszk): watches (one-shot, persistent, recursive, removal,
// re-registration after reconnect), sessions (close, reconnect, wrong password, refused
// handshakes, timeout negotiation), and features off by default (TTL nodes, quota enforcement).
// Default zoo.cfg settings. How transcripts are built and compared: differential-harness.ts.
import { AddWatchMode, CreateMode, WatcherType } from '../../src/proto/opcodes.js';
import { describeDifferential, ops } from './differential-harness.js';

const M = CreateMode;
const W = WatcherType;

describeDifferential('differential: watches and sessions', {}, ({ scenario }) => {
  scenario('one-shot data, exist and child watches across two sessions', '/w1', async (h) => {
    const a = await h.open('A');
    const b = await h.open('B');
    await a.create('/w1/n', 'a');
    await b.getData('/w1/n', true);
    await b.exists('/w1/n', true);
    await b.getChildren('/w1', true);
    await a.setData('/w1/n', 'b');
    await a.setData('/w1/n', 'c');
    await a.create('/w1/m', null);
    await a.create('/w1/k', null);
    await b.exists('/w1/missing', true);
    await b.getData('/w1/missing2', true);
    await b.getChildren('/w1/missing3', true);
    await a.create('/w1/missing', null);
    await a.delete('/w1/missing');
    await a.create('/w1/missing2', null);
    await a.create('/w1/missing3', null);
    await b.getData('/w1/n', true);
    await a.delete('/w1/n');
    await b.getChildren('/w1/m', true);
    await b.getChildren2('/w1/k', true);
    await a.create('/w1/k/c', null);
    await a.delete('/w1/m');
    // A session's own write fires its own watch.
    await a.getData('/w1/k', true);
    const before = h.raw('A').received.length;
    await a.setData('/w1/k', 'x');
    h.note(
      'A: kinds received around its own setData',
      h.raw('A').received.slice(before).map((item) => item.kind),
    );
    // The same watch set twice fires once; both sessions watching fire both.
    await b.getData('/w1/k', true);
    await b.getData('/w1/k', true);
    await a.getChildren('/w1', true);
    await b.getChildren('/w1', true);
    await a.setData('/w1/k', 'y');
    await a.create('/w1/z', null);
    // Exists watch then the node is deleted: NodeDeleted to a data watcher of the node.
    await b.exists('/w1/z', true);
    await a.delete('/w1/z');
    // Child watch on a node, then the node and its parent's child list change.
    await b.getChildren('/w1/k', true);
    await b.getData('/w1/k/c', true);
    await a.delete('/w1/k/c');
    await a.setData('/w1/k', 'z');
  });

  scenario('watch events from multi, setACL and sequential creates', '/w2', async (h) => {
    const a = await h.open('A');
    const b = await h.open('B');
    await a.create('/w2/x', 'x');
    await a.create('/w2/y', 'y');
    await b.getChildren('/w2', true);
    await b.getData('/w2/x', true);
    await b.exists('/w2/y', true);
    await b.exists('/w2/new', true);
    await a.multi([ops.create('/w2/new', null), ops.setData('/w2/x', 'x2'), ops.delete('/w2/y')]);
    await b.getData('/w2/x', true);
    await a.multi([ops.setData('/w2/x', 'x3'), ops.setData('/w2/nope', 'x')]);
    await a.getData('/w2/x');
    await a.setACL('/w2/x', [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]);
    await a.setData('/w2/x', 'x4');
    await b.getChildren('/w2', true);
    await a.create('/w2/s-', null, { flags: M.persistentSequential });
    await b.getChildren('/w2', true);
    await a.create('/w2/e-', null, { flags: M.ephemeralSequential });
    await b.getChildren('/w2', true);
    await b.getData('/w2/new', true);
    await a.multi([ops.create('/w2/new/c', null), ops.delete('/w2/new/c'), ops.delete('/w2/new')]);
  });

  scenario('persistent and persistent-recursive watches', '/w3', async (h) => {
    const a = await h.open('A');
    const b = await h.open('B');
    await a.addWatch('/w3/p', AddWatchMode.persistent);
    await a.addWatch('/w3/r', AddWatchMode.persistentRecursive);
    await b.create('/w3/p', 'p');
    await b.setData('/w3/p', 'p2');
    await b.setData('/w3/p', 'p3');
    await b.create('/w3/p/c', null);
    await b.setData('/w3/p/c', 'x');
    await b.delete('/w3/p/c');
    await b.delete('/w3/p');
    await b.create('/w3/p', null);
    await b.create('/w3/r', null);
    await b.create('/w3/r/a', null);
    await b.create('/w3/r/a/b', null);
    await b.setData('/w3/r/a/b', 'x');
    await b.setData('/w3/r', 'x');
    await b.delete('/w3/r/a/b');
    // A standard watch and a persistent one on the same node: one notification.
    await a.getData('/w3/r/a', true);
    await b.setData('/w3/r/a', 'y');
    await a.getChildren('/w3/r', true);
    await b.create('/w3/r/z', null);
    await a.getData('/w3/p', true);
    await b.setData('/w3/p', 'q');
    await b.multi([ops.create('/w3/r/m', null), ops.create('/w3/r/m/n', null), ops.setData('/w3/p', 'm')]);
    await a.checkWatches('/w3/p', W.data);
    await a.checkWatches('/w3/p', W.any);
    await a.checkWatches('/w3/r', W.children);
    await a.checkWatches('/w3/r/a', W.data);
    await a.removeWatches('/w3/p', W.any);
    await b.setData('/w3/p', 'r');
    await a.removeWatches('/w3/p', W.any);
    await a.checkWatches('/w3/r', W.any);
    await a.removeWatches('/w3/r', W.data);
    await b.setData('/w3/r', 'after data removal');
    await b.create('/w3/r/after', null);
    await a.removeWatches('/w3/r', W.children);
    await b.create('/w3/r/after2', null);
    await a.removeWatches('/w3/r', W.any);
    // Adding a persistent watch twice, and over an existing one-shot watch.
    await a.addWatch('/w3/p', AddWatchMode.persistent);
    await a.addWatch('/w3/p', AddWatchMode.persistent);
    await b.setData('/w3/p', 's');
    await a.addWatch('/w3/p', AddWatchMode.persistentRecursive);
    await b.create('/w3/p/deep', null);
    await b.setData('/w3/p', 't');
    await a.addWatch('/w3/missing/x', AddWatchMode.persistentRecursive);
    await b.create('/w3/missing', null);
    await b.create('/w3/missing/x', null);
    await b.create('/w3/missing/x/y', null);
    // B's watches are untouched by A's.
    await b.addWatch('/w3', AddWatchMode.persistentRecursive);
    await a.delete('/w3/missing/x/y');
  });

  // ZooKeeper reads the mode with AddWatchMode.fromMode, which throws for anything but 0 and 1:
  // MarshallingError, no watch. tszk answers OK and registers a watch that behaves like neither.
  scenario('addWatch with an unknown mode is MarshallingError', '/w3b', async (h) => {
    const a = await h.open('A');
    await a.addWatch('/w3b', 2);
    await a.addWatch('/w3b', -1);
    await a.addWatch('/w3b/bad/', AddWatchMode.persistent);
    await a.addWatch('', AddWatchMode.persistent);
    await a.addWatch('/', AddWatchMode.persistentRecursive);
    await a.create('/w3b/x', null);
    await a.removeWatches('/', W.any);
    await a.create('/w3b/y', null);
  });

  scenario('removeWatches and checkWatches on one-shot watches', '/w4', async (h) => {
    const a = await h.open('A');
    const b = await h.open('B');
    await a.create('/w4/n', 'x');
    await a.getData('/w4/n', true);
    await a.checkWatches('/w4/n', W.data);
    await a.checkWatches('/w4/n', W.children);
    await a.checkWatches('/w4/n', W.any);
    await a.removeWatches('/w4/n', W.children);
    await a.removeWatches('/w4/n', W.data);
    await b.setData('/w4/n', 'y');
    await a.checkWatches('/w4/n', W.data);
    await a.exists('/w4/n', true);
    await a.removeWatches('/w4/n', W.any);
    await b.setData('/w4/n', 'z');
    await a.exists('/w4/none', true);
    await a.checkWatches('/w4/none', W.data);
    await a.removeWatches('/w4/none', W.data);
    await b.create('/w4/none', null);
    await a.getChildren('/w4', true);
    await a.getData('/w4', true);
    await a.removeWatches('/w4', W.children);
    await b.create('/w4/c', null);
    await b.setData('/w4', 'x');
    await a.checkWatches('/w4', W.any);
    await a.removeWatches('/', W.any);
    await a.checkWatches('/w4/missing', W.any);
    await a.removeWatches('/w4/n', 9);
    await a.checkWatches('/w4/n', 0);
    await a.removeWatches('/w4/bad/', W.any);
    await b.getData('/w4/n', true);
    await a.removeWatches('/w4/n', W.data);
    await a.setData('/w4/n', 'from a');
  });

  scenario('closing a session deletes its ephemerals and fires watches to others', '/w5', async (h) => {
    const a = await h.open('A');
    const b = await h.open('B');
    const c = await h.open('C');
    await a.create('/w5/e1', null, { flags: M.ephemeral });
    await a.create('/w5/e2', 'x', { flags: M.ephemeral });
    await a.create('/w5/s-', null, { flags: M.ephemeralSequential });
    await a.create('/w5/p', null);
    await a.create('/w5/p/e', null, { flags: M.ephemeral });
    await b.getChildren('/w5', true);
    await b.exists('/w5/e1', true);
    await b.getData('/w5/e2', true);
    await b.getChildren('/w5/p', true);
    await c.addWatch('/w5', AddWatchMode.persistentRecursive);
    await a.getData('/w5/p', true);
    await h.batch(() => a.close(), { sortEvents: true });
    await b.exists('/w5/e1');
    await b.getChildren2('/w5');
    await b.getChildren2('/w5/p');
    await b.getEphemerals('/w5');
  });

  // ZooKeeper closes the session's current connection (closeSession(CLIENT_RECONNECT)) before it
  // checks the password of a reconnect, so even a refused reconnect kicks the live connection.
  scenario('a reconnect with a wrong password is refused and closes the live connection', '/w8a', async (h) => {
    const a = await h.open('A');
    await a.create('/w8a/e', null, { flags: M.ephemeral });
    await h.open('X', { resume: 'A', wrongPasswd: true });
    await h.raw('A').waitClosed(1000);
    await h.flush();
    const a2 = await h.open('A2', { resume: 'A' });
    await a2.exists('/w8a/e');
  });

  scenario('wrong password, unknown session, zxid from the future, timeout negotiation', '/w8', async (h) => {
    const a = await h.open('A');
    await a.create('/w8/e', null, { flags: M.ephemeral });
    // Drop A's connection first: a refused reconnect would otherwise also close it (see /w8a).
    h.raw('A').destroy();
    await h.raw('A').closedPromise;
    await h.flush();
    const x = await h.open('X', { resume: 'A', wrongPasswd: true });
    await x.exists('/w8/e');
    const a2 = await h.open('A2', { resume: 'A' });
    await a2.exists('/w8/e');
    await h.open('Y', { sessionId: 0x1234567n, passwd: Buffer.alloc(16, 1) });
    await h.open('Z', { lastZxidSeen: 0x7fff_ffff_ffffn });
    const short = await h.open('T', { timeOutMs: 1000 });
    await short.close();
    const long = await h.open('L', { timeOutMs: 100_000 });
    await long.close();
    const zero = await h.open('N', { timeOutMs: 0 });
    await zero.close();
    const negative = await h.open('G', { timeOutMs: -5 });
    await negative.close();
    const old = await h.open('O', { omitReadOnly: true });
    await old.exists('/w8/e');
    await old.close();
    const ro = await h.open('R', { readOnly: true });
    await ro.create('/w8/ro', null);
    await ro.close();
    const v1 = await h.open('V', { protocolVersion: 1 });
    await v1.close();
    await a2.getEphemerals('/w8');
  });

  scenario('session expiry deletes ephemerals, tells watchers, and refuses a resume', '/wexp', async (h) => {
    const a = await h.open('A', { timeOutMs: 4000 });
    const b = await h.open('B');
    await a.create('/wexp/e', null, { flags: M.ephemeral });
    await a.getData('/wexp', true);
    await b.exists('/wexp/e', true);
    await b.getChildren('/wexp', true);
    // Stop talking: without pings the session expires after its 4 s timeout.
    await h.until('the ephemeral of the expired session to go', async () => (await h.driver.exists('/wexp/e')).err !== 0, 15_000);
    await h.flush();
    await h.raw('A').waitClosed(3000);
    await h.flush();
    await h.open('A2', { resume: 'A' });
    await b.getChildren2('/wexp');
  }, { timeoutMs: 40_000 });

  scenario('a closed session cannot be resumed; its ephemerals are gone', '/w9', async (h) => {
    const a = await h.open('A');
    const b = await h.open('B');
    await a.create('/w9/e', null, { flags: M.ephemeral });
    await b.exists('/w9/e', true);
    await a.close();
    await h.open('A2', { resume: 'A' });
    await b.exists('/w9/e');
  });

  scenario('TTL nodes with extended types disabled: Unimplemented', '/w10', async (h) => {
    const a = await h.open('A');
    await a.createTTL('/w10/t', 'x', 1000);
    await a.createTTL('/w10/t', 'x', 1000, { flags: M.persistentSequentialWithTtl });
    await a.createTTL('/w10/t', 'x', 0);
    await a.createTTL('/w10/t', 'x', 1000, { flags: M.persistent });
    await a.create('/w10/t', 'x', { flags: M.persistentWithTtl });
    await a.multi([ops.createTTL('/w10/t', 'x', 1000)]);
    await a.createContainer('/w10/c', null);
    await a.getChildren('/w10');
  });

  scenario('hard quota limits are not enforced without enforceQuota', '/w11', async (h) => {
    const a = await h.open('A');
    await a.create('/w11/q', null);
    await a.create('/zookeeper/quota/w11', null);
    await a.create('/zookeeper/quota/w11/q', null);
    await a.create('/zookeeper/quota/w11/q/zookeeper_limits', 'count=-1,bytes=-1,countHardLimit=2,byteHardLimit=2');
    await a.create('/zookeeper/quota/w11/q/zookeeper_stats', 'count=0,bytes=0');
    await a.create('/w11/q/a', 'abc');
    await a.create('/w11/q/b', 'abc');
    await a.setData('/w11/q/a', 'abcdef');
    await a.getData('/zookeeper/quota/w11/q/zookeeper_stats');
  });
  // setWatches that fires events makes tszk write a notification frame inside the reply frame it
  // has open (JuteWriter "frames do not nest"): the assertion kills the server. These run last so
  // the crash cannot take the other scenarios down with it.
  scenario('reconnect: same session, ephemerals kept, old connection closed, watches re-set with setWatches', '/w6', async (h) => {
    const a = await h.open('A');
    const b = await h.open('B');
    await a.create('/w6/e', null, { flags: M.ephemeral });
    await b.create('/w6/x', 'x');
    await b.create('/w6/y', 'y');
    await b.create('/w6/gone', null);
    await b.create('/w6/kids', null);
    await b.create('/w6/quiet', null);
    const last = await a.getData('/w6/x', true);
    await a.getChildren('/w6/kids', true);
    // A second connection for A's session takes it over: the server closes the first.
    const a2 = await h.open('A2', { resume: 'A' });
    await h.raw('A').waitClosed(2000);
    await h.flush();
    // Changes while A's watches are gone with its old connection.
    await b.setData('/w6/x', 'x2');
    await b.delete('/w6/gone');
    await b.create('/w6/kids/c', null);
    await b.create('/w6/appeared', null);
    await a2.exists('/w6/e');
    const before = h.raw('A2').received.length;
    await a2.setWatches({
      relativeZxid: last.zxid,
      dataWatches: ['/w6/x', '/w6/gone', '/w6/y', '/w6/never'],
      existWatches: ['/w6/appeared', '/w6/quiet', '/w6/absent'],
      childWatches: ['/w6/kids', '/w6/quiet', '/w6/gone'],
    });
    h.note(
      'A2: kinds received around setWatches',
      h.raw('A2').received.slice(before).map((item) => item.kind),
    );
    await b.setData('/w6/y', 'y2');
    await b.create('/w6/absent', null);
    await b.create('/w6/quiet/c', null);
    await b.setData('/w6/quiet', 'q');
    await b.create('/w6/never', null);
  });

  scenario('setWatches2 with persistent watches, and relativeZxid in the future', '/w7', async (h) => {
    const a = await h.open('A');
    const b = await h.open('B');
    await b.create('/w7/x', 'x');
    const mark = await b.create('/w7/y', 'y');
    await b.setData('/w7/x', 'x2');
    await a.setWatches2({
      relativeZxid: mark.zxid,
      dataWatches: ['/w7/x', '/w7/y'],
      existWatches: [],
      childWatches: ['/w7'],
      persistentWatches: ['/w7/x'],
      persistentRecursiveWatches: ['/w7/r'],
    });
    await b.setData('/w7/x', 'x3');
    await b.setData('/w7/y', 'y3');
    await b.create('/w7/r', null);
    await b.create('/w7/r/c', null);
    await b.create('/w7/z', null);
    await a.setWatches({ relativeZxid: mark.zxid + 1000n, dataWatches: ['/w7/x'], existWatches: [], childWatches: ['/w7'] });
    await b.setData('/w7/x', 'x4');
    await b.create('/w7/zz', null);
    await a.setWatches({ relativeZxid: -1n, dataWatches: ['/w7/z'], existWatches: ['/w7/r'], childWatches: [] });
    await a.setWatches2({
      relativeZxid: 0n,
      dataWatches: [],
      existWatches: [],
      childWatches: [],
      persistentWatches: ['/w7/missing'],
      persistentRecursiveWatches: [],
    });
    await b.create('/w7/missing', null);
    await a.removeWatches('/w7/x', W.any);
    await b.setData('/w7/x', 'x5');
  });
});
