import type { ACL } from '../proto/data.js';
import type { DataTree } from '../tree/data-tree.js';

/** What prep knows about a node: the tree's state plus every change not yet applied. */
export interface NodeRecord {
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: bigint;
  readonly childCount: number;
  readonly acl: readonly ACL[];
  readonly data: Buffer | null;
}

interface ChangeRecord {
  readonly zxid: bigint;
  readonly path: string;
  /** null: the change deletes the node. */
  readonly node: NodeRecord | null;
}

/**
 * ZooKeeper's "outstanding changes": prep validates each request against the tree as it will be
 * once every txn already prepared is applied, so a create followed at once by a create of the
 * same path fails with NodeExists before either reaches the disk.
 */
export class ChangeOverlay {
  /** Changes in zxid order; `head` is the first not yet applied. */
  private readonly changes: ChangeRecord[] = [];
  private head = 0;
  private readonly latest = new Map<string, ChangeRecord>();
  /** Undo log of the multi being prepared: the previous latest record of each path it touched. */
  private undo: Array<[string, ChangeRecord | undefined]> | null = null;

  constructor(private readonly tree: DataTree) {}

  /** The node at `path` as prep must see it, or null when it does not (or will not) exist. */
  get(path: string): NodeRecord | null {
    const change = this.latest.get(path);
    if (change !== undefined) return change.node;
    const node = this.tree.get(path);
    if (node === undefined) return null;
    return {
      version: node.version,
      cversion: node.cversion,
      aversion: node.aversion,
      ephemeralOwner: node.ephemeralOwner,
      childCount: node.children.size,
      acl: node.acl,
      data: node.data,
    };
  }

  put(zxid: bigint, path: string, node: NodeRecord | null): void {
    const change: ChangeRecord = { zxid, path, node };
    this.undo?.push([path, this.latest.get(path)]);
    this.changes.push(change);
    this.latest.set(path, change);
  }

  /** Start recording so a failed multi can take back its ops' changes. */
  beginMulti(): void {
    this.undo = [];
  }

  endMulti(commit: boolean): void {
    const undo = this.undo;
    this.undo = null;
    if (commit || undo === null) return;
    for (let i = undo.length - 1; i >= 0; i--) {
      const [path, previous] = undo[i]!;
      if (previous === undefined) this.latest.delete(path);
      else this.latest.set(path, previous);
      this.changes.pop();
    }
  }

  /** Every change is an ephemeral of `sessionId` or a delete, in order (closeSession). */
  *pending(): IterableIterator<ChangeRecord> {
    for (let i = this.head; i < this.changes.length; i++) yield this.changes[i]!;
  }

  /** Forget changes that the tree now reflects. */
  applied(zxid: bigint): void {
    while (this.head < this.changes.length && this.changes[this.head]!.zxid <= zxid) {
      const change = this.changes[this.head++]!;
      if (this.latest.get(change.path) === change) this.latest.delete(change.path);
    }
    if (this.head === this.changes.length) {
      this.changes.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.changes.length) {
      this.changes.splice(0, this.head);
      this.head = 0;
    }
  }

  get size(): number {
    return this.changes.length - this.head;
  }
}
