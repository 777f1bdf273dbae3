// The election port on real sockets: tszk links among themselves (connection rule, framing, limits,
// queues), then a tszk peer taking part in elections with ZooKeeper 3.8 servers (Debian's Java
// build; skipped when it is not installed, see test/support/reference.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { quorumConfigBytes, quorumConfigText, type QuorumServerText } from '../../src/quorum/election/config-text.js';
import { FastLeaderElection, type Decision } from '../../src/quorum/election/fast-leader-election.js';
import type { Notification } from '../../src/quorum/election/notification.js';
import { QuorumVerifier } from '../../src/quorum/election/quorum-verifier.js';
import { ServerState } from '../../src/quorum/election/vote.js';
import { ElectionDriver } from '../../src/quorum/net/election-driver.js';
import { ElectionLink } from '../../src/quorum/net/election-link.js';
import { encodeInitialMessage, parseInitialMessage } from '../../src/quorum/net/initial-message.js';
import { fourLetterWord } from '../support/four-letter.js';
import { freePorts } from '../support/ports.js';
import { describeWithReference, requireReference } from '../support/reference.js';
import { waitFor } from '../support/wait.js';
import { LOG4J_PROPERTIES } from '../support/log4j.js';
import { referenceServerArgs, trackProcessGroup, untrackProcessGroup } from '../support/zk-server.js';

const HOST = '127.0.0.1';
const logger = pino({ level: process.env['TSZK_TEST_LOG'] ?? 'silent' });

/** Things to close after each test, last opened first. */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await (cleanups.pop() as () => Promise<void> | void)();
});

interface Received {
  from: bigint;
  payload: Buffer;
}

async function startLink(myId: bigint, port: number, peers: Map<bigint, { host: string; port: number }>, received: Received[] = []): Promise<ElectionLink> {
  const link = new ElectionLink({
    myId,
    listen: { host: HOST, port },
    peers,
    logger,
    onMessage: (from, payload) => received.push({ from, payload: Buffer.from(payload) }),
    reconnectInitialMs: 100,
    reconnectMaxMs: 1000,
  });
  await link.start();
  cleanups.push(() => link.close());
  return link;
}

/** A plain TCP server recording what each connection sends. */
async function rawServer(port: number): Promise<{ server: Server; sockets: Socket[]; data: Buffer[] }> {
  const sockets: Socket[] = [];
  const data: Buffer[] = [];
  const server = createServer((socket) => {
    const index = sockets.push(socket) - 1;
    data[index] = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      data[index] = Buffer.concat([data[index] as Buffer, chunk]);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(port, HOST, () => resolve()));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { server, sockets, data };
}

function frame(payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeInt32BE(payload.length);
  return Buffer.concat([header, payload]);
}

async function rawConnect(port: number): Promise<{ socket: Socket; closed: Promise<void>; data: () => Buffer }> {
  const socket = connect(port, HOST);
  let received = Buffer.alloc(0);
  socket.on('data', (chunk) => (received = Buffer.concat([received, chunk])));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  cleanups.push(() => void socket.destroy());
  return { socket, closed, data: () => received };
}

describe('election links between tszk peers', () => {
  it('three peers connect pairwise and keep exactly one connection per pair, opened by the larger sid', async () => {
    const ports = await freePorts(3);
    const ids = [1n, 2n, 3n];
    const addresses = new Map(ids.map((id, i) => [id, { host: HOST, port: ports[i] as number }]));
    const received = ids.map(() => [] as Received[]);
    const links = await Promise.all(ids.map((id, i) => startLink(id, ports[i] as number, addresses, received[i])));
    // Everyone talks to everyone at once: both directions race to connect.
    for (const [i, link] of links.entries()) {
      for (const id of ids) if (id !== link.myId) link.toSend(id, Buffer.from(`hello ${ids[i]}->${id}`));
    }
    await waitFor(() => links.every((l) => l.connections().length === 2) && received.every((r) => r.length >= 2), {
      timeoutMs: 10_000,
      what: 'all pairs connected and greeted',
    });
    // Let any connect-back race finish, then check the pairing is stable and consistent.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const [i, link] of links.entries()) {
      const conns = link.connections();
      expect(conns.map((c) => c.sid)).toEqual(ids.filter((id) => id !== ids[i]));
      for (const c of conns) {
        const other = links[ids.indexOf(c.sid)] as ElectionLink;
        const back = other.connections().find((x) => x.sid === link.myId);
        expect(back, `${link.myId} <-> ${c.sid}`).toBeDefined();
        // The same TCP connection seen from both ends.
        expect(back?.localPort).toBe(c.remotePort);
        expect(back?.remotePort).toBe(c.localPort);
        expect(c.initiatedByMe).toBe(link.myId > c.sid);
      }
    }
    for (const [i, r] of received.entries()) {
      const texts = new Set(r.map((m) => `${m.from}:${m.payload.toString()}`));
      for (const id of ids) if (id !== ids[i]) expect(texts).toContain(`${id}:hello ${id}->${ids[i]}`);
    }
  });

  it('three drivers elect the highest id over real sockets', async () => {
    const ports = await freePorts(3);
    const ids = [1n, 2n, 3n];
    const addresses = new Map(ids.map((id, i) => [id, { host: HOST, port: ports[i] as number }]));
    const quorum = new QuorumVerifier(ids);
    const decisions = new Map<bigint, Decision>();
    const drivers = ids.map(
      (id, i) =>
        new ElectionDriver({
          fle: new FastLeaderElection({ myId: id, quorum, lastLoggedZxid: 0n, currentEpoch: 0n }),
          link: { listen: { host: HOST, port: ports[i] as number }, peers: addresses },
          logger,
          onDecision: (d) => decisions.set(id, d),
        }),
    );
    for (const d of drivers) cleanups.push(() => d.stop());
    await Promise.all(drivers.map((d) => d.start()));
    await waitFor(() => decisions.size === 3, { timeoutMs: 10_000, what: 'three decisions' });
    expect([...decisions.values()].map((d) => [d.leader, d.electionEpoch])).toEqual([
      [3n, 1n],
      [3n, 1n],
      [3n, 1n],
    ]);
    expect(decisions.get(3n)?.role).toBe('leading');
  });

  it('a connection from a smaller sid is closed and the larger sid connects back', async () => {
    const [linkPort, rawPort] = (await freePorts(2)) as [number, number];
    const back = await rawServer(rawPort);
    await startLink(5n, linkPort, new Map([[2n, { host: HOST, port: rawPort }]]));
    const c = await rawConnect(linkPort);
    c.socket.write(encodeInitialMessage(2n, [{ host: HOST, port: rawPort }]));
    await c.closed;
    await waitFor(() => (back.data[0]?.length ?? 0) >= 20, { timeoutMs: 5000, what: 'the connection back' });
    const parsed = parseInitialMessage(back.data[0] as Buffer);
    expect(parsed.type === 'done' && parsed.message.sid).toBe(5n);
    expect(parsed.type === 'done' && parsed.message.addresses).toEqual([{ host: HOST, port: linkPort }]);
  });

  it('a connection from a larger sid is kept; its frames are delivered, split anywhere', async () => {
    const [linkPort] = (await freePorts(1)) as [number];
    const received: Received[] = [];
    const link = await startLink(1n, linkPort, new Map(), received);
    const c = await rawConnect(linkPort);
    const bytes = Buffer.concat([encodeInitialMessage(9n, [{ host: HOST, port: 1 }]), frame(Buffer.from('one')), frame(Buffer.from('two'))]);
    for (let i = 0; i < bytes.length; i += 3) {
      c.socket.write(bytes.subarray(i, i + 3));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => received.length === 2, { timeoutMs: 5000, what: 'two frames' });
    expect(received.map((r) => [r.from, r.payload.toString()])).toEqual([
      [9n, 'one'],
      [9n, 'two'],
    ]);
    expect(link.connections()).toMatchObject([{ sid: 9n, initiatedByMe: false }]);
    // And it is used to send: the link writes frames back on it.
    link.toSend(9n, Buffer.from('back'));
    await waitFor(() => c.data().length >= 8, { timeoutMs: 5000, what: 'a frame back' });
    expect(c.data()).toEqual(frame(Buffer.from('back')));
  });

  it.each([
    ['an unknown protocol version', () => Buffer.alloc(20, 0xff)],
    ['an address length over 2048', () => Buffer.concat([encodeInitialMessage(9n, [{ host: 'h', port: 1 }]).subarray(0, 16), Buffer.from([0, 0, 8, 1])])],
    ['a frame of length 0', () => Buffer.concat([encodeInitialMessage(9n, [{ host: 'h', port: 1 }]), Buffer.alloc(4)])],
    ['a frame longer than 512 KiB', () => Buffer.concat([encodeInitialMessage(9n, [{ host: 'h', port: 1 }]), Buffer.from([0, 8, 0, 1])])],
    ['our own sid', () => encodeInitialMessage(1n, [{ host: 'h', port: 1 }])],
  ])('closes a connection that sends %s', async (_name, bytes) => {
    const [linkPort] = (await freePorts(1)) as [number];
    const link = await startLink(1n, linkPort, new Map());
    const c = await rawConnect(linkPort);
    c.socket.write(bytes());
    await c.closed;
    expect(link.connections()).toEqual([]);
  });

  it('holds only the newest message for an unreachable peer, and re-sends the last one on a new link', async () => {
    const [aPort, bPort] = (await freePorts(2)) as [number, number];
    const receivedByB: Received[] = [];
    const a = await startLink(2n, aPort, new Map([[1n, { host: HOST, port: bPort }]]));
    for (const text of ['old', 'older?', 'newest']) a.toSend(1n, Buffer.from(text));
    expect(a.droppedMessages).toBe(2);
    expect(a.haveDelivered()).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const b = await startLink(1n, bPort, new Map([[2n, { host: HOST, port: aPort }]]), receivedByB);
    await waitFor(() => receivedByB.length >= 1, { timeoutMs: 10_000, what: 'the queued message' });
    expect(receivedByB.map((r) => r.payload.toString())).toEqual(['newest']);
    expect(a.haveDelivered()).toBe(true);
    // The link breaks; the next link repeats the last message (it may have been lost with the old one).
    const [conn] = b.connections();
    expect(conn?.sid).toBe(2n);
    await b.close();
    await waitFor(() => !a.connectedToPeer(1n), { timeoutMs: 5000, what: 'the link to go down' });
    const receivedByB2: Received[] = [];
    await startLink(1n, bPort, new Map([[2n, { host: HOST, port: aPort }]]), receivedByB2);
    a.connectOne(1n);
    await waitFor(() => receivedByB2.length >= 1, { timeoutMs: 10_000, what: 'the repeated message' });
    expect(receivedByB2[0]?.payload.toString()).toBe('newest');
  });
});

// --- with ZooKeeper 3.8 ----------------------------------------------------------------------

interface EnsembleMember {
  sid: bigint;
  quorumPort: number;
  electionPort: number;
  clientPort: number;
}

interface JavaServer {
  member: EnsembleMember;
  dir: string;
  logFile: string;
  child: ChildProcess;
  log(): string;
}


async function members(sids: bigint[]): Promise<EnsembleMember[]> {
  const ports = await freePorts(sids.length * 3);
  return sids.map((sid, i) => ({
    sid,
    quorumPort: ports[3 * i] as number,
    electionPort: ports[3 * i + 1] as number,
    clientPort: ports[3 * i + 2] as number,
  }));
}

function serverLines(all: EnsembleMember[]): QuorumServerText[] {
  return all.map((m) => ({ sid: m.sid, host: HOST, quorumPort: m.quorumPort, electionPort: m.electionPort, type: 'participant' as const }));
}

async function startJava(member: EnsembleMember, all: EnsembleMember[]): Promise<JavaServer> {
  const install = requireReference();
  const dir = await mkdtemp(join(tmpdir(), `tszk-election-java-${member.sid}-`));
  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  await writeFile(join(dataDir, 'myid'), `${member.sid}\n`);
  const cfg = [
    'tickTime=500',
    'initLimit=10',
    'syncLimit=5',
    `dataDir=${dataDir}`,
    `clientPort=${member.clientPort}`,
    'admin.enableServer=false',
    '4lw.commands.whitelist=*',
    ...all.map((m) => `server.${m.sid}=${HOST}:${m.quorumPort}:${m.electionPort}`),
    '',
  ].join('\n');
  await writeFile(join(dir, 'zoo.cfg'), cfg);
  await writeFile(join(dir, 'log4j.properties'), LOG4J_PROPERTIES);
  const logFile = join(dir, 'server.log');
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    const args = referenceServerArgs(join(dir, 'zoo.cfg'), join(dir, 'log4j.properties'), { heapMaxMb: 256 });
    child = spawn(install.java as string, args, { cwd: dir, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid as number;
  trackProcessGroup(pid);
  child.on('error', () => undefined);
  const server: JavaServer = {
    member,
    dir,
    logFile,
    child,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
  cleanups.push(async () => {
    const gone = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await gone;
    untrackProcessGroup(pid);
    if (process.env['TSZK_KEEP_TMP'] !== '1') await rm(dir, { recursive: true, force: true });
  });
  return server;
}

async function javaMode(server: JavaServer): Promise<string | null> {
  const srvr = await fourLetterWord(HOST, server.member.clientPort, 'srvr', { timeoutMs: 1000 }).catch(() => '');
  return /^Mode: (\S+)/m.exec(srvr)?.[1] ?? null;
}

interface TszkPeer {
  driver: ElectionDriver;
  decisions: Decision[];
  received: { from: bigint; n: Notification }[];
}

async function startTszk(member: EnsembleMember, all: EnsembleMember[], lastLoggedZxid = 0n, currentEpoch = 0n): Promise<TszkPeer> {
  const peers = new Map(all.filter((m) => m.sid !== member.sid).map((m) => [m.sid, { host: HOST, port: m.electionPort }]));
  const decisions: Decision[] = [];
  const received: TszkPeer['received'] = [];
  const driver = new ElectionDriver({
    fle: new FastLeaderElection({
      myId: member.sid,
      quorum: new QuorumVerifier(all.map((m) => m.sid)),
      lastLoggedZxid,
      currentEpoch,
      configData: quorumConfigBytes(serverLines(all)),
    }),
    link: { listen: { host: HOST, port: member.electionPort }, peers },
    logger,
    onDecision: (d) => decisions.push(d),
    onNotification: (from, n) => received.push({ from, n }),
  });
  await driver.start();
  cleanups.push(() => driver.stop());
  return { driver, decisions, received };
}

function detail(javas: JavaServer[], peer?: TszkPeer): () => string {
  return () =>
    [
      ...javas.map((j) => `--- java sid ${j.member.sid} log tail:\n${j.log().slice(-3000)}`),
      peer ? `--- tszk decisions: ${JSON.stringify(peer.decisions, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}` : '',
    ].join('\n');
}

describeWithReference('a tszk peer in elections with ZooKeeper 3.8', () => {
  it('starting together with two Java servers, decides the same leader they elect', async () => {
    const all = await members([1n, 2n, 3n]);
    const [mine, m2, m3] = all as [EnsembleMember, EnsembleMember, EnsembleMember];
    const peer = await startTszk(mine, all);
    const javas = await Promise.all([startJava(m2, all), startJava(m3, all)]);
    await waitFor(() => peer.decisions.length > 0, { timeoutMs: 30_000, what: 'the tszk peer to decide', detail: detail(javas, peer) });
    // The Java servers elect the same leader and serve (2 and 3 are a quorum without ZAB from us).
    // Usually 3; when Java 3 starts more than a finalize wait after Java 2 (a loaded machine), the
    // first two agree on 2 and 3 then follows it. Either way all three must agree.
    let javaLeader = 0n;
    await waitFor(
      async () => {
        const modes = await Promise.all(javas.map((j) => javaMode(j)));
        const leading = modes.indexOf('leader');
        if (leading < 0 || !modes.every((m, i) => i === leading || m === 'follower')) return false;
        javaLeader = (javas[leading] as JavaServer).member.sid;
        return true;
      },
      { timeoutMs: 30_000, what: 'one Java server leading and the other following', detail: detail(javas, peer) },
    );
    expect(peer.decisions[0]).toMatchObject({ leader: javaLeader, role: 'following', electionEpoch: 1n });
    // They read our notifications: each logged one from sid 1 in round 1.
    for (const j of javas) {
      expect(j.log()).toMatch(/Notification: my state:\w+; n\.sid:1, n\.state:LOOKING, n\.leader:\d+, n\.round:0x1,/);
      expect(j.log()).not.toMatch(/partial \/ malformed|Initial message parsing error|Backward compatibility mode/);
    }
    // What they sent us carries the same configuration text as ours.
    const config = peer.received.find((r) => r.n.config !== null)?.n.config?.toString();
    expect(config).toBe(quorumConfigText(serverLines(all)));
  });

  it('joining after the Java servers elected, learns the leader from their answers', async () => {
    const all = await members([1n, 2n, 3n]);
    const [mine, m2, m3] = all as [EnsembleMember, EnsembleMember, EnsembleMember];
    const javas = await Promise.all([startJava(m2, all), startJava(m3, all)]);
    await waitFor(async () => (await javaMode(javas[1] as JavaServer)) === 'leader' && (await javaMode(javas[0] as JavaServer)) === 'follower', {
      timeoutMs: 30_000,
      what: 'the Java servers to elect among themselves',
      detail: detail(javas),
    });
    const peer = await startTszk(mine, all);
    await waitFor(() => peer.decisions.length > 0, { timeoutMs: 30_000, what: 'the tszk peer to decide', detail: detail(javas, peer) });
    // Their current votes are from round 1; we joined from FOLLOWING/LEADING answers in that
    // round. The votes' peerEpoch becomes the epoch ZAB established (1) only when each Java
    // server calls updateElectionVote, after its role has started serving (what javaMode
    // sees): an answer sent in between still says 0 (seen once on a loaded machine).
    expect(peer.decisions[0]).toMatchObject({ leader: 3n, role: 'following', electionEpoch: 1n });
    expect([0n, 1n]).toContain(peer.decisions[0]?.peerEpoch);
    const states = new Set(peer.received.map((r) => `${r.from}:${r.n.state}`));
    expect(states).toContain(`2:${ServerState.FOLLOWING}`);
    expect(states).toContain(`3:${ServerState.LEADING}`);
    expect(peer.driver.fle.state).toBe(ServerState.FOLLOWING);
  });

  it('with the highest id and equal logs, is elected by the Java servers, which then connect to its quorum port', async () => {
    const all = await members([1n, 2n, 3n]);
    const [m1, m2, mine] = all as [EnsembleMember, EnsembleMember, EnsembleMember];
    // Stand in for our quorum port: record what the Java followers send first.
    const quorumPort = await rawServer(mine.quorumPort);
    const peer = await startTszk(mine, all);
    const javas = await Promise.all([startJava(m1, all), startJava(m2, all)]);
    await waitFor(() => peer.decisions.length > 0, { timeoutMs: 30_000, what: 'the tszk peer to decide', detail: detail(javas, peer) });
    expect(peer.decisions[0]).toMatchObject({ leader: 3n, role: 'leading', electionEpoch: 1n });
    await waitFor(() => quorumPort.data.filter((d) => d.length >= 4).length >= 2, {
      timeoutMs: 30_000,
      what: 'both Java followers to connect to our quorum port',
      detail: detail(javas, peer),
    });
    // A learner's first packet is a QuorumPacket of type FOLLOWERINFO (11).
    for (const d of quorumPort.data) expect(d.readInt32BE(0)).toBe(11);
    for (const j of javas) expect(j.log()).toMatch(/FOLLOWING/);
  });
});
