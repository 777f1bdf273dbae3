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

/** Address bytes of an IPv4 or IPv6 literal, or null. */
function addressBytes(addr: string): Uint8Array | null {
  const kind = isIP(addr);
  if (kind === 4) return Uint8Array.from(addr.split('.').map((p) => Number(p)));
  if (kind !== 6) return null;
  const [head = '', tail] = addr.split('::');
  const groups = (s: string | undefined): number[] => (s ? s.split(':').flatMap(parseGroup) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

function parseGroup(g: string): number[] {
  if (g.includes('.')) {
    const v4 = g.split('.').map(Number);
    return [((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0)];
  }
  return [Number.parseInt(g, 16)];
}

/** Strip an IPv4-mapped IPv6 prefix so "::ffff:127.0.0.1" matches an ACL for "127.0.0.1". */
export function normalizeRemoteAddress(addr: string): string {
  return addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
}

export const ipProvider: AuthProvider = {
  scheme: 'ip',
  isAuthenticated: false,
  isValid: (id) => {
    const [addr = '', bits, extra] = id.split('/');
    if (extra !== undefined) return false;
    const bytes = addressBytes(addr);
    if (bytes === null) return false;
    if (bits === undefined) return true;
    const n = Number(bits);
    return /^\d+$/.test(bits) && n >= 0 && n <= bytes.length * 8;
  },
  matches: (authId, aclId) => {
    const [aclAddr = '', bitsText] = aclId.split('/');
    const want = addressBytes(aclAddr);
    const have = addressBytes(authId);
    if (want === null || have === null || want.length !== have.length) return false;
    const bits = bitsText === undefined ? want.length * 8 : Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > want.length * 8) return false;
    for (let i = 0; i < want.length; i++) {
      const maskBits = Math.max(0, Math.min(8, bits - i * 8));
      const mask = maskBits === 0 ? 0 : (0xff << (8 - maskBits)) & 0xff;
      if (((want[i] ?? 0) & mask) !== ((have[i] ?? 0) & mask)) return false;
    }
    return true;
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
