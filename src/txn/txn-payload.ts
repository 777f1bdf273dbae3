import { JuteReader } from '../jute/reader.js';
import { OpCode } from '../proto/opcodes.js';
import { readCloseSessionTxn, readCreateTxnV0, readTxnDigest, readTxnHeader } from '../proto/txn-records.js';
import { DecodeError } from '../util/errors.js';
import { readTxnBody, type TxnBody, type TxnEntry } from './txn.js';

/**
 * The bytes of one txn as the log stores it and PROPOSAL/INFORM packets carry it: TxnHeader, the
 * record, then an optional TxnDigest. Shared by the txn log and the quorum layer.
 */
export const TXN_DIGEST_BYTES = 12;

export interface TxnDecodeOptions {
  /** zookeeper.closeSessionTxn.enabled: whether a closeSession carries a CloseSessionTxn. Default true. */
  closeSessionTxnEnabled?: boolean;
  /** zookeeper.digest.enabled: whether a TxnDigest after the record is read. Default true. */
  digestEnabled?: boolean;
}

/** Decodes a payload (TxnHeader, record, optional digest) by Java's rules; throws DecodeError. */
export function decodeTxnPayload(buf: Buffer, start: number, end: number, opts: TxnDecodeOptions = {}, reader = new JuteReader()): TxnEntry {
  const r = reader.reset(buf, start, end);
  const hdr = readTxnHeader(r);
  const bodyStart = r.pos;
  let body: TxnBody;
  if (hdr.type === OpCode.closeSession) {
    let record = null;
    if ((opts.closeSessionTxnEnabled ?? true) && r.remaining > 0) {
      try {
        record = readCloseSessionTxn(r);
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        r.pos = bodyStart;
      }
    }
    body = { type: OpCode.closeSession, record };
  } else if (hdr.type === OpCode.create) {
    try {
      body = readTxnBody(hdr.type, r);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      r.pos = bodyStart;
      const v0 = readCreateTxnV0(r);
      body = { type: OpCode.create, record: { ...v0, parentCVersion: -1 } };
    }
  } else {
    body = readTxnBody(hdr.type, r);
  }
  const digest = (opts.digestEnabled ?? true) && r.remaining >= TXN_DIGEST_BYTES ? readTxnDigest(r) : null;
  return { hdr, body, digest };
}

