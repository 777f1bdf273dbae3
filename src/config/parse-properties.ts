/**
 * zoo.cfg is read by ZooKeeper with java.util.Properties.load, so this follows that grammar
 * (not an ini or shell grammar), and remembers where every key was written.
 *
 *   file          = { logical-line }
 *   logical-line  = natural-line { "\" EOL natural-line }   ; an odd number of trailing
 *                                                           ; backslashes joins the next line,
 *                                                           ; whose leading blanks are dropped
 *   natural-line  = blanks ( comment | entry | "" ) EOL
 *   comment       = ( "#" | "!" ) any*                      ; only at the start of a logical line;
 *                                                           ; a comment is never continued
 *   entry         = key [ blanks ] [ ( "=" | ":" ) ] [ blanks ] value
 *   key           = ends at the first unescaped "=", ":" or blank
 *   value         = the rest of the logical line, trailing blanks INCLUDED
 *   blanks        = { " " | "\t" | "\f" }
 *   EOL           = "\n" | "\r" | "\r\n" | end of input
 *   escapes       : \t \n \r \f, \uXXXX (exactly four hex digits), "\" c => c
 *
 * ZooKeeper trims keys and values with String.trim() before using them (everything <= U+0020 on
 * both ends), except that server.N values reach the address parser untrimmed. `value` is the
 * trimmed form, `rawValue` what Properties itself holds.
 *
 * Properties.load(InputStream) decodes ISO-8859-1; callers here hand in text decoded as UTF-8,
 * which only differs for non-ASCII bytes. A later duplicate key replaces an earlier one.
 */
import { ConfigError } from '../util/errors.js';

export interface PropertyEntry {
  key: string;
  /** The value as java.util.Properties holds it: escapes decoded, trailing blanks kept. */
  rawValue: string;
  /** rawValue after Java's String.trim(), which is what ZooKeeper uses for almost every key. */
  value: string;
  /** 1-based line on which the entry's logical line starts. */
  line: number;
}

export interface ParsedProperties {
  /** Every entry in file order, duplicates included. */
  entries: readonly PropertyEntry[];
  /** Last entry per key, as Properties.getProperty would see it. */
  byKey: ReadonlyMap<string, PropertyEntry>;
}

/** Java's String.trim(): strips every char <= U+0020 from both ends. */
export function javaTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  return s.slice(start, end);
}

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\f';
}

function isEol(c: string | undefined): boolean {
  return c === '\n' || c === '\r';
}

interface LogicalLine {
  text: string;
  line: number;
}

/** Splits input into logical lines (comments and blank lines dropped, continuations joined). */
function readLogicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  let i = 0;
  let lineNo = 1;
  const n = text.length;
  // A byte order mark is not part of the first key.
  if (text.charCodeAt(0) === 0xfeff) i = 1;

  const skipEol = (): void => {
    if (text[i] === '\r' && text[i + 1] === '\n') i += 2;
    else i += 1;
    lineNo++;
  };

  while (i < n) {
    while (i < n && isBlank(text[i])) i++;
    if (i >= n) break;
    if (isEol(text[i])) {
      skipEol();
      continue;
    }
    if (text[i] === '#' || text[i] === '!') {
      while (i < n && !isEol(text[i])) i++;
      if (i < n) skipEol();
      continue;
    }
    const startLine = lineNo;
    let buf = '';
    for (;;) {
      const segStart = i;
      while (i < n && !isEol(text[i])) i++;
      let segment = text.slice(segStart, i);
      let backslashes = 0;
      for (let j = segment.length - 1; j >= 0 && segment[j] === '\\'; j--) backslashes++;
      const continued = backslashes % 2 === 1;
      if (continued) segment = segment.slice(0, -1);
      buf += segment;
      if (i < n) skipEol();
      if (!continued || i >= n) break;
      while (i < n && isBlank(text[i])) i++;
    }
    out.push({ text: buf, line: startLine });
  }
  return out;
}

function decodeEscapes(s: string, where: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    i++;
    const e = s[i];
    if (e === undefined) break; // a lone trailing backslash decodes to nothing
    if (e === 'u') {
      const hex = s.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        throw new ConfigError(`${where}: malformed \\uXXXX escape "\\u${hex}" (need exactly four hex digits)`);
      }
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else if (e === 't') out += '\t';
    else if (e === 'n') out += '\n';
    else if (e === 'r') out += '\r';
    else if (e === 'f') out += '\f';
    else out += e;
  }
  return out;
}

function splitEntry(logical: LogicalLine, source: string): PropertyEntry {
  const s = logical.text;
  const limit = s.length;
  let keyLen = 0;
  let valueStart = limit;
  let hasSeparator = false;
  let precedingBackslash = false;
  while (keyLen < limit) {
    const c = s[keyLen];
    if ((c === '=' || c === ':') && !precedingBackslash) {
      valueStart = keyLen + 1;
      hasSeparator = true;
      break;
    }
    if (isBlank(c) && !precedingBackslash) {
      valueStart = keyLen + 1;
      break;
    }
    precedingBackslash = c === '\\' ? !precedingBackslash : false;
    keyLen++;
  }
  while (valueStart < limit) {
    const c = s[valueStart];
    if (!isBlank(c)) {
      if (!hasSeparator && (c === '=' || c === ':')) hasSeparator = true;
      else break;
    }
    valueStart++;
  }
  const where = `${source}:${logical.line}`;
  const key = decodeEscapes(s.slice(0, keyLen), where);
  const rawValue = decodeEscapes(s.slice(valueStart, limit), where);
  return { key, rawValue, value: javaTrim(rawValue), line: logical.line };
}

/**
 * Parses .properties text. `source` names the file in error messages.
 * Throws ConfigError only for a malformed \uXXXX escape (Properties.load throws there too).
 */
export function parseProperties(text: string, source = '<input>'): ParsedProperties {
  const entries = readLogicalLines(text).map((l) => splitEntry(l, source));
  const byKey = new Map<string, PropertyEntry>();
  for (const e of entries) byKey.set(e.key, e);
  return { entries, byKey };
}
