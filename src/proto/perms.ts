/** ACL permission bits (ZooDefs.Perms). */
export const Perms = {
  read: 1 << 0,
  write: 1 << 1,
  create: 1 << 2,
  delete: 1 << 3,
  admin: 1 << 4,
  all: 0b11111,
} as const;
