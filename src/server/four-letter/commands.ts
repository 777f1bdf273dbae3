import { FOUR_LETTER_WORDS } from '../../config/load-config.js';
import { confText, dirsText } from './conf.js';
import { dumpText, watchesByConnectionText, watchesByPathText, watchSummaryText } from './dump.js';
import { environmentText } from './environment.js';
import { monitorText } from './monitor.js';
import { consText, resetConnectionStats, resetServerStats, statText } from './stat.js';
import type { FourLetterCnxn, FourLetterView } from './types.js';

/*
 * The four-letter words ZooKeeper 3.8 answers on the client port (FourLetterCommands), in its
 * formats. A word outside 4lw.commands.whitelist is answered with a refusal; the config always
 * allows srvr (zkServer.sh status needs it) and, in read-only mode, isro. While the server is not
 * serving (an ensemble member without a quorum), the words that read server state say so, as
 * ZooKeeper's do; ruok, envi and the trace mask words answer regardless.
 */

const KNOWN: ReadonlySet<string> = new Set(FOUR_LETTER_WORDS);

const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';

/** The modes in which ZooKeeper's isRunning() holds. */
const SERVING_MODES: ReadonlySet<string> = new Set(['standalone', 'leader', 'follower', 'observer', 'read-only']);

/**
 * ZooTrace's text trace mask, which gtmk shows and stmk sets. tszk has no ZooTrace logging, so the
 * mask is only kept and echoed; 306 is ZooKeeper's default (client requests, client ping and
 * server packet tracing).
 */
const DEFAULT_TRACE_MASK = 306n;
const traceMasks = new WeakMap<FourLetterView, bigint>();

function serving(view: FourLetterView): boolean {
  return SERVING_MODES.has(view.mode());
}

/** The words that need a running server. */
function stateWord(view: FourLetterView, word: string, cnxn: FourLetterCnxn): string {
  if (!serving(view)) return `${NOT_SERVING}\n`;
  switch (word) {
    case 'srvr':
      return statText(view, false, cnxn);
    case 'stat':
      return statText(view, true, cnxn);
    case 'cons':
      return consText(view, cnxn);
    case 'crst':
      return resetConnectionStats(view);
    case 'srst':
      return resetServerStats(view);
    case 'conf':
      return confText(view);
    case 'dirs':
      return dirsText(view);
    case 'dump':
      return dumpText(view);
    case 'mntr':
      return monitorText(view);
    case 'wchs':
      return watchSummaryText(view);
    case 'wchc':
      return watchesByConnectionText(view);
    case 'wchp':
      return watchesByPathText(view);
    default:
      throw new Error(`four-letter word ${word} has no handler`);
  }
}

function run(view: FourLetterView, word: string, cnxn: FourLetterCnxn, traceMask: bigint | undefined): string {
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'envi':
      return environmentText();
    case 'gtmk':
      return String(traceMasks.get(view) ?? DEFAULT_TRACE_MASK);
    case 'stmk': {
      // The new mask is the 8 bytes after the word; without them the mask stays as it is.
      const mask = traceMask === undefined ? (traceMasks.get(view) ?? DEFAULT_TRACE_MASK) : BigInt.asIntN(64, traceMask);
      traceMasks.set(view, mask);
      return String(mask);
    }
    case 'isro':
      if (!serving(view)) return 'null';
      return view.mode() === 'read-only' ? 'ro' : 'rw';
    case 'hash':
      // The digest history; tszk keeps no tree digests, so it is empty, as in ZooKeeper with
      // zookeeper.digest.enabled=false.
      return serving(view) ? '' : NOT_SERVING;
    default:
      return stateWord(view, word, cnxn);
  }
}

/**
 * The reply to `word`, or null when it is not a four-letter word (then it is a frame length).
 * Like ZooKeeper, the word counts as a packet received on its connection and the server (before
 * it runs, so srvr counts itself) and a non-empty reply as a packet sent. `traceMask` is stmk's
 * argument, when the connection has read it.
 */
export function fourLetterWord(view: FourLetterView, word: string, cnxn: FourLetterCnxn, traceMask?: bigint): string | null {
  if (!KNOWN.has(word)) return null;
  const stats = view.server.stats;
  cnxn.packetsReceived++;
  stats.packetsReceived++;
  const whitelist = view.config.fourLetterWordWhitelist;
  const reply =
    whitelist.has('*') || whitelist.has(word)
      ? run(view, word, cnxn, traceMask)
      : `${word} is not executed because it is not in the whitelist.\n`;
  if (reply !== '') {
    cnxn.packetsSent++;
    stats.packetsSent++;
  }
  return reply;
}
