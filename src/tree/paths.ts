/**
 * Znode path rules, as ZooKeeper's PathUtils enforces them on writes. Strings are UTF-16 here as
 * in Java, so character checks by code unit behave identically (surrogates, i.e. anything outside
 * the BMP, are rejected exactly as ZooKeeper rejects them).
 */

/** Why `path` is not a valid znode path, or null when it is. */
export function invalidPathReason(path: string): string | null {
  if (path.length === 0) return 'Path length must be > 0';
  if (path.charCodeAt(0) !== 0x2f) return 'Path must start with / character';
  if (path.length === 1) return null;
  if (path.charCodeAt(path.length - 1) === 0x2f) return 'Path must not end with / character';
  let last = 0x2f;
  for (let i = 1; i < path.length; last = path.charCodeAt(i), i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return `null character not allowed @${i}`;
    if (c === 0x2f && last === 0x2f) return `empty node name specified @${i}`;
    if (c === 0x2e) {
      // "/." or "/.." as a whole path component
      const endOfComponent = i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f;
      if (endOfComponent && last === 0x2f) return `relative paths not allowed @${i}`;
      if (endOfComponent && last === 0x2e && path.charCodeAt(i - 2) === 0x2f) return `relative paths not allowed @${i}`;
      continue;
    }
    if ((c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0) {
      return `invalid character @${i}`;
    }
  }
  return null;
}

/** The parent of an absolute path, ZooKeeper style: the text before the last '/', so "/a" -> "". */
export function parentOf(path: string): string {
  return path.substring(0, path.lastIndexOf('/'));
}

/** The last component of a path. */
export function nameOf(path: string): string {
  return path.substring(path.lastIndexOf('/') + 1);
}

/** Child paths are built from the tree's key for a node; the root's key is "/" and its alias "". */
export function childPath(parent: string, name: string): string {
  return parent === '/' || parent === '' ? `/${name}` : `${parent}/${name}`;
}
