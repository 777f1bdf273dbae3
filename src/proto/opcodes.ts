/** Request types on the client wire and in TxnHeader.type (ZooDefs.OpCode). */
export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;

export type OpCodeName = keyof typeof OpCode;

const namesByCode = new Map<number, OpCodeName>(
  (Object.entries(OpCode) as [OpCodeName, number][]).map(([name, code]) => [code, name]),
);

export function opName(code: number): string {
  return namesByCode.get(code) ?? `unknown(${code})`;
}

/** Reserved xids in request and reply headers. */
export const Xid = {
  notification: -1,
  ping: -2,
  auth: -4,
  setWatches: -8,
} as const;

/** Create flags (CreateMode.toFlag). */
export const CreateMode = {
  persistent: 0,
  ephemeral: 1,
  persistentSequential: 2,
  ephemeralSequential: 3,
  container: 4,
  persistentWithTtl: 5,
  persistentSequentialWithTtl: 6,
} as const;

/** addWatch modes (AddWatchMode). */
export const AddWatchMode = {
  persistent: 0,
  persistentRecursive: 1,
} as const;

/** checkWatches / removeWatches types (Watcher.WatcherType). */
export const WatcherType = {
  children: 1,
  data: 2,
  any: 3,
  persistent: 4,
  persistentRecursive: 5,
} as const;
