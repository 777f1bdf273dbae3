import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * The authentication schemes ZooKeeper registers by default: digest and ip (world is built into
 * the ACL check, super is granted by superDigest). Each answers the three questions the server
 * asks: is this ACL id well formed, does this authenticated id match that ACL id, and what user
 * name does whoAmI report.
 */
export interface AuthProvider {
  readonly scheme: string;
  /** Whether an id of this scheme names an authenticated user ("auth" ACLs expand to those). */
  readonly isAuthenticated: boolean;
  isValid(id: string): boolean;
  matches(authId: string, aclId: string): boolean;
  userName(id: string): string;
}

/** "user:password" -> "user:base64(sha1(user:password))", as DigestAuthenticationProvider does. */
export function generateDigest(idPassword: string): string {
  const user = idPassword.split(':', 1)[0] ?? '';
  const hash = createHash('sha1').update(idPassword, 'utf8').digest('base64');
  return `${user}:${hash}`;
}

/** Java's String.split(":") drops trailing empty strings; "a:" is one part, "a:b:" two. */
function javaSplitCount(s: string, sep: string): number {
  const parts = s.split(sep);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.length;
}

export const digestProvider: AuthProvider = {
  scheme: 'digest',
  isAuthenticated: true,
  isValid: (id) => javaSplitCount(id, ':') === 2,
  matches: (authId, aclId) => authId === aclId,
  userName: (id) => id.split(':')[0] ?? '',
};

/** Java's Integer.parseInt: optional sign, decimal digits, within int range; else null. */
function javaParseInt(text: string): number | null {
  if (!/^[+-]?\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= -0x8000_0000 && n <= 0x7fff_ffff ? n : null;
}

/** ZooKeeper's ip scheme understands IPv4 only ("a.b.c.d", each part 0-255). */
function ipv4Bytes(addr: string): Uint8Array | null {
  const parts = addr.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const v = javaParseInt(parts[i] ?? '');
    if (v === null || v < 0 || v > 255) return null;
    out[i] = v;
  }
  return out;
}

/** "addr" or "addr/bits": the address bytes and the prefix length, or null when invalid. */
function ipExpression(expr: string): { bytes: Uint8Array; bits: number } | null {
  const slash = expr.indexOf('/');
  const bytes = ipv4Bytes(slash === -1 ? expr : expr.substring(0, slash));
  if (bytes === null) return null;
  if (slash === -1) return { bytes, bits: 32 };
  const bits = javaParseInt(expr.substring(slash + 1));
  if (bits === null || bits < 0 || bits > 32) return null;
  return { bytes, bits };
}

function maskedEqual(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < a.length; i++) {
    const maskBits = Math.max(0, Math.min(8, bits - i * 8));
    const mask = maskBits === 0 ? 0 : (0xff << (8 - maskBits)) & 0xff;
    if (((a[i] ?? 0) & mask) !== ((b[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** Strip an IPv4-mapped IPv6 prefix so "::ffff:127.0.0.1" matches an ACL for "127.0.0.1". */
export function normalizeRemoteAddress(addr: string): string {
  return addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
}

export const ipProvider: AuthProvider = {
  scheme: 'ip',
  isAuthenticated: false,
  isValid: (id) => ipExpression(id) !== null,
  matches: (authId, aclId) => {
    const acl = ipExpression(aclId);
    const remote = ipv4Bytes(authId);
    return acl !== null && remote !== null && maskedEqual(acl.bytes, remote, acl.bits);
  },
  userName: (id) => id,
};

const providers = new Map<string, AuthProvider>([
  ['digest', digestProvider],
  ['ip', ipProvider],
]);

export function authProvider(scheme: string): AuthProvider | undefined {
  return providers.get(scheme);
}
