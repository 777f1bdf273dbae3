import type { MultiRequest } from '../proto/multi.js';
import type { OpCode } from '../proto/opcodes.js';
import type {
  AddWatchRequest, CheckWatchesRequest, ExistsRequest, GetACLRequest, GetAllChildrenNumberRequest,
  GetChildren2Request, GetChildrenRequest, GetDataRequest, GetEphemeralsRequest, RemoveWatchesRequest,
  SetWatches2, SyncRequest,
} from '../proto/records.js';

type Code<K extends keyof typeof OpCode> = (typeof OpCode)[K];

/** A decoded request answered from the tree without a txn. */
export type ReadRequest =
  | { type: Code<'exists'>; record: ExistsRequest }
  | { type: Code<'getData'>; record: GetDataRequest }
  | { type: Code<'getChildren'>; record: GetChildrenRequest }
  | { type: Code<'getChildren2'>; record: GetChildren2Request }
  | { type: Code<'getACL'>; record: GetACLRequest }
  | { type: Code<'getAllChildrenNumber'>; record: GetAllChildrenNumberRequest }
  | { type: Code<'getEphemerals'>; record: GetEphemeralsRequest }
  | { type: Code<'sync'>; record: SyncRequest }
  | { type: Code<'ping'> }
  /** setWatches is decoded into the SetWatches2 shape with empty persistent lists. */
  | { type: Code<'setWatches'> | Code<'setWatches2'>; record: SetWatches2 }
  | { type: Code<'addWatch'>; record: AddWatchRequest }
  | { type: Code<'checkWatches'>; record: CheckWatchesRequest }
  | { type: Code<'removeWatches'>; record: RemoveWatchesRequest }
  | { type: Code<'whoAmI'> }
  | { type: Code<'multiRead'>; record: MultiRequest }
  /** A read whose body could not be decoded: answered MarshallingError. */
  | { type: Code<'error'>; err: number };
