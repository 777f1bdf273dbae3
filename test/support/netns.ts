// A small lab of Linux network namespaces, one per server, so that servers run as in containers:
// each with its own addresses and the SAME ports, and links that a test can cut and mend.
//
//   root namespace                         namespace tszk-<id>-<n> (n = 1..count)
//   bridge tz<id>P (peer network)  <-veth->  peer0  10.<o>.1.<n>/24   quorum and election traffic
//   bridge tz<id>C (client network) <-veth-> cli0   10.<o>.2.<n>/24   clients and four-letter words
//          10.<o>.2.254/24 on tz<id>C, so this process reaches every cli0
//
// cut(n) takes the root-side end of n's peer veth down: n can no longer reach the other servers
// (packets are dropped, connections hang rather than reset, as in a real partition) while the test
// still reaches it on the client network. heal(n) brings the link back.
//
// Needs root and iproute2 (`ip`); netnsSupport() says why not otherwise. Everything created is
// removed by destroy(), and by an exit handler should destroy() never run.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';
import { announceSkipOnce } from './reference.js';

const run = promisify(execFile);

export interface NetnsSupport {
  ok: boolean;
  /** Why not, when not ok. */
  reason: string;
}

let support: NetnsSupport | undefined;

/** Root, `ip` on PATH, and a namespace can really be made (a container may forbid it). Cached. */
export function netnsSupport(): NetnsSupport {
  if (support) return support;
  if (process.platform !== 'linux') return (support = { ok: false, reason: 'network namespaces need Linux' });
  if (process.getuid?.() !== 0) return (support = { ok: false, reason: 'network namespaces need root (run as root, as CI does)' });
  const probe = `tszk-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
  } catch (error) {
    const text = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
    return (support = { ok: false, reason: `cannot create a network namespace with iproute2 (\`ip netns add\`): ${text}` });
  }
  try {
    execFileSync('ip', ['link', 'add', `tzprobe${process.pid % 10000}`, 'type', 'bridge'], { stdio: 'pipe' });
    execFileSync('ip', ['link', 'del', `tzprobe${process.pid % 10000}`], { stdio: 'pipe' });
  } catch (error) {
    const text = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
    return (support = { ok: false, reason: `cannot create a bridge with iproute2: ${text}` });
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
    } catch {
      // nothing to remove
    }
  }
  return (support = { ok: true, reason: '' });
}

/** `describe` that runs only where network namespaces work, and otherwise is skipped saying why. */
export function describeWithNetns(name: string, body: () => void): void {
  const { ok, reason } = netnsSupport();
  if (ok) {
    describe(name, body);
    return;
  }
  announceSkipOnce(name, reason);
  describe.skip(`${name} (skipped: ${reason})`, () => {
    it('runs where network namespaces can be made', () => undefined);
  });
}

export interface LabNode {
  /** 1-based, as the server ids. */
  index: number;
  netns: string;
  /** Its address on the peer network (server.N lines). */
  peerAddress: string;
  /** Its address on the client network (what tests connect to). */
  clientAddress: string;
  /** The root-side end of its peer veth: down means cut off. */
  peerLink: string;
}

// Labs not destroyed yet, cleaned up at exit.
const liveLabs = new Set<NetLab>();
process.once('exit', () => {
  for (const lab of liveLabs) lab.destroySync();
});

let labCounter = 0;

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`ip ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
  }
}

function ipQuiet(args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: 'pipe' });
  } catch {
    // already gone
  }
}

/** A second octet whose 10.<o>.1.0/24 and 10.<o>.2.0/24 no route in this namespace uses. */
async function freeOctet(): Promise<number> {
  const { stdout } = await run('ip', ['-4', 'route', 'show', 'table', 'all']);
  const start = 64 + (process.pid % 180);
  for (let i = 0; i < 180; i += 1) {
    const octet = 64 + ((start - 64 + i) % 180);
    if (!stdout.includes(`10.${octet}.1.`) && !stdout.includes(`10.${octet}.2.`)) return octet;
  }
  throw new Error('no free 10.x.1.0/24 and 10.x.2.0/24 subnet for the network lab');
}

export class NetLab {
  readonly id: string;
  readonly nodes: readonly LabNode[];
  readonly clientGateway: string;
  readonly #bridges: readonly string[];
  #destroyed = false;

  private constructor(id: string, nodes: LabNode[], bridges: string[], clientGateway: string) {
    this.id = id;
    this.nodes = nodes;
    this.#bridges = bridges;
    this.clientGateway = clientGateway;
  }

  /** Creates `count` namespaces on two bridged networks. */
  static async create(count: number): Promise<NetLab> {
    labCounter += 1;
    // Interface names are at most 15 bytes: tz + id (<= 5) + kind + index.
    const id = `${(process.pid % 1296).toString(36)}${labCounter.toString(36)}`;
    const octet = await freeOctet();
    const peerBridge = `tz${id}P`;
    const clientBridge = `tz${id}C`;
    const nodes: LabNode[] = Array.from({ length: count }, (_, i) => ({
      index: i + 1,
      netns: `tszk-${id}-${i + 1}`,
      peerAddress: `10.${octet}.1.${i + 1}`,
      clientAddress: `10.${octet}.2.${i + 1}`,
      peerLink: `tz${id}p${i + 1}`,
    }));
    const lab = new NetLab(id, nodes, [peerBridge, clientBridge], `10.${octet}.2.254`);
    liveLabs.add(lab);
    try {
      await ip('link', 'add', peerBridge, 'type', 'bridge');
      await ip('link', 'set', peerBridge, 'up');
      await ip('link', 'add', clientBridge, 'type', 'bridge');
      await ip('addr', 'add', `${lab.clientGateway}/24`, 'dev', clientBridge);
      await ip('link', 'set', clientBridge, 'up');
      for (const node of nodes) {
        await ip('netns', 'add', node.netns);
        await ip('-n', node.netns, 'link', 'set', 'lo', 'up');
        await lab.#attach(node, node.peerLink, `tz${id}q${node.index}`, 'peer0', node.peerAddress, peerBridge);
        await lab.#attach(node, `tz${id}c${node.index}`, `tz${id}d${node.index}`, 'cli0', node.clientAddress, clientBridge);
      }
    } catch (error) {
      lab.destroySync();
      throw error;
    }
    return lab;
  }

  async #attach(node: LabNode, rootEnd: string, nsEnd: string, nsName: string, address: string, bridge: string): Promise<void> {
    await ip('link', 'add', rootEnd, 'type', 'veth', 'peer', 'name', nsEnd);
    await ip('link', 'set', nsEnd, 'netns', node.netns);
    await ip('-n', node.netns, 'link', 'set', nsEnd, 'name', nsName);
    await ip('-n', node.netns, 'addr', 'add', `${address}/24`, 'dev', nsName);
    await ip('-n', node.netns, 'link', 'set', nsName, 'up');
    await ip('link', 'set', rootEnd, 'master', bridge);
    await ip('link', 'set', rootEnd, 'up');
  }

  node(index: number): LabNode {
    const node = this.nodes[index - 1];
    if (!node) throw new Error(`no lab node ${index}`);
    return node;
  }

  /** Runs a command inside node `index`'s namespace. */
  commandPrefix(index: number): string[] {
    return ['ip', 'netns', 'exec', this.node(index).netns];
  }

  /** Cuts node `index` off the peer network (the client network stays up). */
  async cut(index: number): Promise<void> {
    await ip('link', 'set', this.node(index).peerLink, 'down');
  }

  /** Reconnects node `index` to the peer network. */
  async heal(index: number): Promise<void> {
    await ip('link', 'set', this.node(index).peerLink, 'up');
  }

  /** Removes namespaces (killing what still runs in them), veths and bridges. Idempotent. */
  async destroy(): Promise<void> {
    this.destroySync();
  }

  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    liveLabs.delete(this);
    for (const node of this.nodes) {
      let pids = '';
      try {
        pids = execFileSync('ip', ['netns', 'pids', node.netns], { stdio: 'pipe' }).toString();
      } catch {
        // no such namespace
      }
      for (const pid of pids.split(/\s+/).filter((p) => p !== '')) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
      // Deleting the namespace destroys the veth ends inside it, and with them their peers.
      ipQuiet(['netns', 'del', node.netns]);
      ipQuiet(['link', 'del', node.peerLink]);
      ipQuiet(['link', 'del', `tz${this.id}c${node.index}`]);
    }
    for (const bridge of this.#bridges) ipQuiet(['link', 'del', bridge]);
  }
}
