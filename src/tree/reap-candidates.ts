import type { DataTree } from './data-tree.js';
import { ephemeralKind, ttlOf } from './ephemeral-type.js';

/**
 * Nodes the server should delete by itself (ZooKeeper's ContainerManager): containers that had
 * children once (cversion > 0) and have none now, and TTL nodes without children that were not
 * modified for longer than their TTL.
 */
export function reapCandidates(tree: DataTree, nowMs: number): string[] {
  const out: string[] = [];
  for (const path of tree.containers) {
    const node = tree.get(path);
    if (node !== undefined && node.children.size === 0 && node.cversion > 0) out.push(path);
  }
  for (const path of tree.ttls) {
    const node = tree.get(path);
    if (node === undefined || node.children.size > 0) continue;
    if (ephemeralKind(node.ephemeralOwner, tree.extendedTypesEnabled) !== 'ttl') continue;
    const ttl = ttlOf(node.ephemeralOwner);
    if (ttl !== 0 && nowMs - node.mtime > ttl) out.push(path);
  }
  return out;
}
