import type { MultiRequest } from '../proto/multi.js';
import type { OpCode } from '../proto/opcodes.js';
import type {
  CheckVersionRequest, CreateRequest, CreateTTLRequest, DeleteRequest, ReconfigRequest, SetACLRequest, SetDataRequest,
} from '../proto/records.js';

type Code<K extends keyof typeof OpCode> = (typeof OpCode)[K];

/** A decoded request that becomes a txn. */
export type WriteRequest =
  | { type: Code<'create'> | Code<'create2'> | Code<'createContainer'>; record: CreateRequest }
  | { type: Code<'createTTL'>; record: CreateTTLRequest }
  | { type: Code<'delete'>; record: DeleteRequest }
  | { type: Code<'setData'>; record: SetDataRequest }
  | { type: Code<'setACL'>; record: SetACLRequest }
  | { type: Code<'check'>; record: CheckVersionRequest }
  | { type: Code<'multi'>; record: MultiRequest }
  | { type: Code<'reconfig'>; record: ReconfigRequest }
  /** Issued by the container/TTL reaper, not by clients. */
  | { type: Code<'deleteContainer'>; path: string }
  | { type: Code<'createSession'>; timeOut: number }
  | { type: Code<'closeSession'> }
  /** A write whose body could not be decoded: logged as an ErrorTxn, like ZooKeeper does. */
  | { type: Code<'error'>; err: number; originalType: number };
