import { JuteReader } from '../jute/reader.js';
import { JuteWriter } from '../jute/writer.js';
import { OpCode } from '../proto/opcodes.js';
import {
  readCheckVersionTxn, readCloseSessionTxn, readCreateContainerTxn, readCreateSessionTxn, readCreateTTLTxn,
  readCreateTxn, readDeleteTxn, readErrorTxn, readMultiTxn, readSetACLTxn, readSetDataTxn,
  writeCheckVersionTxn, writeCloseSessionTxn, writeCreateContainerTxn, writeCreateSessionTxn, writeCreateTTLTxn,
  writeCreateTxn, writeDeleteTxn, writeErrorTxn, writeMultiTxn, writeSetACLTxn, writeSetDataTxn,
  type CheckVersionTxn, type CloseSessionTxn, type CreateContainerTxn, type CreateSessionTxn, type CreateTTLTxn,
  type CreateTxn, type DeleteTxn, type ErrorTxn, type SetACLTxn, type SetDataTxn, type TxnDigest, type TxnHeader,
} from '../proto/txn-records.js';
import { DecodeError } from '../util/errors.js';

type Code<K extends keyof typeof OpCode> = (typeof OpCode)[K];

/** The record of one txn, discriminated by the opcode ZooKeeper writes in TxnHeader.type. */
export type SubTxn =
  | { type: Code<'create'> | Code<'create2'>; record: CreateTxn }
  | { type: Code<'createTTL'>; record: CreateTTLTxn }
  | { type: Code<'createContainer'>; record: CreateContainerTxn }
  | { type: Code<'delete'> | Code<'deleteContainer'>; record: DeleteTxn }
  | { type: Code<'setData'> | Code<'reconfig'>; record: SetDataTxn }
  | { type: Code<'setACL'>; record: SetACLTxn }
  | { type: Code<'check'>; record: CheckVersionTxn }
  | { type: Code<'error'>; record: ErrorTxn };

export type TxnBody =
  | SubTxn
  | { type: Code<'createSession'>; record: CreateSessionTxn }
  /** null when ZooKeeper's closeSession txn carries no record (closeSessionTxn.enabled=false). */
  | { type: Code<'closeSession'>; record: CloseSessionTxn | null }
  | { type: Code<'multi'>; record: SubTxn[] };

/** One transaction: what the log stores, the quorum replicates and apply executes. */
export interface TxnEntry {
  hdr: TxnHeader;
  body: TxnBody;
  digest: TxnDigest | null;
  /**
   * The entry's serialized payload (TxnHeader, body, digest), when already at hand: received
   * from a leader, or encoded once for a proposal. The txn log and the quorum packets then copy
   * these bytes instead of encoding the txn again. Never changed once set.
   */
  payload?: Buffer;
}

export function writeSubTxn(w: JuteWriter, t: SubTxn): void {
  switch (t.type) {
    case OpCode.create:
    case OpCode.create2:
      return writeCreateTxn(w, t.record);
    case OpCode.createTTL:
      return writeCreateTTLTxn(w, t.record);
    case OpCode.createContainer:
      return writeCreateContainerTxn(w, t.record);
    case OpCode.delete:
    case OpCode.deleteContainer:
      return writeDeleteTxn(w, t.record);
    case OpCode.setData:
    case OpCode.reconfig:
      return writeSetDataTxn(w, t.record);
    case OpCode.setACL:
      return writeSetACLTxn(w, t.record);
    case OpCode.check:
      return writeCheckVersionTxn(w, t.record);
    case OpCode.error:
      return writeErrorTxn(w, t.record);
  }
}

/** The txn record as it follows the TxnHeader in the log and in quorum packets. */
export function writeTxnBody(w: JuteWriter, t: TxnBody): void {
  switch (t.type) {
    case OpCode.createSession:
      return writeCreateSessionTxn(w, t.record);
    case OpCode.closeSession:
      if (t.record !== null) writeCloseSessionTxn(w, t.record);
      return;
    case OpCode.multi: {
      const scratch = new JuteWriter(256);
      const txns = t.record.map((sub) => {
        scratch.reset();
        writeSubTxn(scratch, sub);
        return { type: sub.type, data: scratch.toBuffer() };
      });
      return writeMultiTxn(w, { txns });
    }
    default:
      return writeSubTxn(w, t);
  }
}

export function readSubTxn(type: number, r: JuteReader): SubTxn {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
      return { type, record: readCreateTxn(r) };
    case OpCode.createTTL:
      return { type, record: readCreateTTLTxn(r) };
    case OpCode.createContainer:
      return { type, record: readCreateContainerTxn(r) };
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type, record: readDeleteTxn(r) };
    case OpCode.setData:
    case OpCode.reconfig:
      return { type, record: readSetDataTxn(r) };
    case OpCode.setACL:
      return { type, record: readSetACLTxn(r) };
    case OpCode.check:
      return { type, record: readCheckVersionTxn(r) };
    case OpCode.error:
      return { type, record: readErrorTxn(r) };
    default:
      throw new DecodeError(`unknown txn type ${type}`);
  }
}

/** Decode the record that follows a TxnHeader of the given type. */
export function readTxnBody(type: number, r: JuteReader): TxnBody {
  switch (type) {
    case OpCode.createSession:
      return { type, record: readCreateSessionTxn(r) };
    case OpCode.closeSession:
      return { type, record: r.remaining > 0 ? readCloseSessionTxn(r) : null };
    case OpCode.multi: {
      const multi = readMultiTxn(r);
      const sub = new JuteReader();
      const record = multi.txns.map((t) => {
        const data = t.data ?? Buffer.alloc(0);
        return readSubTxn(t.type, sub.reset(data));
      });
      return { type, record };
    }
    default:
      return readSubTxn(type, r);
  }
}
