import { writeStat } from '../proto/data.js';
import { Err } from '../proto/error-codes.js';
import { writeMultiResponse, type MultiResult } from '../proto/multi.js';
import { OpCode } from '../proto/opcodes.js';
import type { JuteWriter } from '../jute/writer.js';
import type { TxnResult } from '../txn/apply.js';

/** The result of one op of a multi, as MultiResponse carries it. */
function multiResult(r: TxnResult): MultiResult {
  switch (r.type) {
    case OpCode.create:
      return { type: OpCode.create, path: r.path ?? '' };
    case OpCode.create2:
    case OpCode.createTTL:
    case OpCode.createContainer:
      return r.stat === null ? { type: OpCode.create, path: r.path ?? '' } : { type: OpCode.create2, path: r.path ?? '', stat: r.stat };
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type: OpCode.delete };
    case OpCode.setData:
      return r.stat === null ? { type: OpCode.error, err: r.err } : { type: OpCode.setData, stat: r.stat };
    case OpCode.check:
      return { type: OpCode.check };
    default:
      return { type: OpCode.error, err: r.err };
  }
}

/**
 * Append the response body of an applied write and return the reply header's err. A failed
 * multi still answers Ok in the header: the per-op results carry the errors.
 */
export function writeWriteReply(r: TxnResult, w: JuteWriter): number {
  if (r.type === OpCode.error || (r.err !== Err.ok && r.type !== OpCode.multi)) return r.err;
  switch (r.type) {
    case OpCode.create:
      w.writeString(r.path ?? '');
      break;
    case OpCode.create2:
    case OpCode.createTTL:
    case OpCode.createContainer:
      w.writeString(r.path ?? '');
      if (r.stat !== null) writeStat(w, r.stat);
      break;
    case OpCode.setData:
    case OpCode.setACL:
      if (r.stat !== null) writeStat(w, r.stat);
      break;
    case OpCode.multi:
      writeMultiResponse(w, { results: (r.multi ?? []).map(multiResult) });
      return Err.ok;
    default:
      break;
  }
  return r.err;
}
