import { readFileSync } from 'node:fs';

/** One JSON line of tszk's pino log. */
export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** The JSON lines of a server log file; other lines, and lines cut by a kill, are skipped. */
export function logLines(file: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by a kill, or not ours
    }
  }
  return out;
}
