import type { ACL, Id } from '../proto/data.js';
import { Err } from '../proto/error-codes.js';
import { authProvider } from './providers.js';

/** Does `authInfo` grant `perm` under `acl`? (ZooKeeperServer.checkACL) */
export function aclAllows(acl: readonly ACL[], perm: number, authInfo: readonly Id[], skipACL: boolean): boolean {
  if (skipACL || acl.length === 0) return true;
  for (const id of authInfo) if (id.scheme === 'super') return true;
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue;
    if (a.id.scheme === 'world' && a.id.id === 'anyone') return true;
    const provider = authProvider(a.id.scheme);
    if (provider === undefined) continue;
    for (const id of authInfo) {
      if (id.scheme === a.id.scheme && provider.matches(id.id, a.id.id)) return true;
    }
  }
  return false;
}

function sameAcl(a: ACL, b: ACL): boolean {
  return a.perms === b.perms && a.id.scheme === b.id.scheme && a.id.id === b.id.id;
}

/**
 * Validate and expand the ACL of a create or setACL (PrepRequestProcessor.fixupACL): duplicates
 * removed, "auth" expanded to the caller's authenticated ids, every scheme known and every id
 * well formed. Returns the ACL to store, or InvalidACL.
 */
export function fixupACL(acl: readonly ACL[], authInfo: readonly Id[]): ACL[] | number {
  // Most creates carry OPEN_ACL_UNSAFE: one world:anyone entry, kept as it is (the list is the
  // request's own, decoded for it and shared with nothing else).
  if (acl.length === 1 && acl[0]!.id.scheme === 'world' && acl[0]!.id.id === 'anyone') return acl as ACL[];
  const unique: ACL[] = [];
  for (const a of acl) if (!unique.some((u) => sameAcl(u, a))) unique.push(a);
  if (unique.length === 0) return Err.invalidACL;
  const out: ACL[] = [];
  for (const a of unique) {
    if (a.id.scheme === 'world' && a.id.id === 'anyone') {
      out.push(a);
    } else if (a.id.scheme === 'auth') {
      let any = false;
      for (const id of authInfo) {
        // Only ids that name an authenticated user count: digest yes; ip and super no.
        if (authProvider(id.scheme)?.isAuthenticated !== true) continue;
        any = true;
        out.push({ perms: a.perms, id: { scheme: id.scheme, id: id.id } });
      }
      if (!any) return Err.invalidACL;
    } else {
      const provider = authProvider(a.id.scheme);
      if (provider === undefined || !provider.isValid(a.id.id)) return Err.invalidACL;
      out.push(a);
    }
  }
  return out;
}
