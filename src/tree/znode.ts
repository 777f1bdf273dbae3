import type { ACL, Stat } from '../proto/data.js';
import { ephemeralKind } from './ephemeral-type.js';

/**
 * One znode: data, ACL and the persisted part of its Stat. numChildren and dataLength are
 * derived when a Stat is read. `acl` is shared between nodes with equal ACLs (the ACL cache).
 */
/**
 * Shared by every leaf, so a million leaves do not hold a million empty Maps; a node gets its own
 * Map with its first child (addChild). Never mutated: frozen against accidents.
 */
const NO_CHILDREN: ReadonlyMap<string, ZNode> = Object.freeze(new Map<string, ZNode>());

export class ZNode {
  /**
   * Children by name. Read freely; change only through addChild/removeChild. The nodes
   * themselves are held here as well as in the tree's path map so that a walk of the tree (the
   * snapshot writer's) goes from parent to child without a lookup by full path: that lookup, on
   * a map of a million paths, was most of the cost of writing a node.
   */
  children: ReadonlyMap<string, ZNode> = NO_CHILDREN;
  /**
   * The node's share of the tree digest as last computed (DataTree keeps it), so that taking it
   * out before a change costs nothing. Held as a signed 32-bit int (read it with `>>> 0`): an
   * unsigned CRC above 2^31 would make V8 box the field as a heap number in every node.
   */
  digest = 0;

  constructor(
    public data: Buffer | null,
    public acl: readonly ACL[],
    public czxid: bigint,
    public mzxid: bigint,
    public ctime: number,
    public mtime: number,
    public version: number,
    public cversion: number,
    public aversion: number,
    public ephemeralOwner: bigint,
    public pzxid: bigint,
  ) {}

  addChild(name: string, child: ZNode): void {
    if (this.children === NO_CHILDREN) this.children = new Map([[name, child]]);
    else (this.children as Map<string, ZNode>).set(name, child);
  }

  removeChild(name: string): void {
    if (this.children !== NO_CHILDREN) (this.children as Map<string, ZNode>).delete(name);
  }

  static create(data: Buffer | null, acl: readonly ACL[], zxid: bigint, timeMs: number, ephemeralOwner: bigint): ZNode {
    return new ZNode(data, acl, zxid, zxid, timeMs, timeMs, 0, 0, 0, ephemeralOwner, zxid);
  }

  /**
   * The Stat a client sees. cversion is stored as ZooKeeper stores it, counting creates only,
   * and reported as it reports it: every create but those of the children still present was
   * undone by a delete, so changes = 2 * creates - numChildren. Containers and TTL nodes show
   * ephemeralOwner 0.
   */
  stat(extendedTypesEnabled: boolean): Stat {
    const numChildren = this.children.size;
    return {
      czxid: this.czxid,
      mzxid: this.mzxid,
      ctime: this.ctime,
      mtime: this.mtime,
      version: this.version,
      cversion: (this.cversion * 2 - numChildren) | 0,
      aversion: this.aversion,
      ephemeralOwner: ephemeralKind(this.ephemeralOwner, extendedTypesEnabled) === 'normal' ? this.ephemeralOwner : 0n,
      dataLength: this.data === null ? 0 : this.data.length,
      numChildren,
      pzxid: this.pzxid,
    };
  }
}
