// The files a bench leaves in its results dir (bench/results unless --results says otherwise):
//
//   <name>.md     the report, as also printed on stdout
//   <name>.jsonl  one JSON record a line, {"type": "machine", ..., "args": {...}} first; a Set is
//                 written as an array, a bigint as a decimal string
//   <name>.svg    latency distributions, for benches that draw them
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ResultFiles {
  md: string;
  jsonl: readonly object[];
  svg?: string;
}

const plain = (_key: string, value: unknown): unknown =>
  value instanceof Set ? [...(value as Set<unknown>)] : typeof value === 'bigint' ? value.toString() : value;

/** Writes the files; returns the report's path. */
export async function writeResults(dir: string, name: string, files: ResultFiles): Promise<string> {
  await mkdir(dir, { recursive: true });
  const md = join(dir, `${name}.md`);
  await writeFile(md, files.md);
  if (files.svg !== undefined) await writeFile(join(dir, `${name}.svg`), files.svg);
  await writeFile(join(dir, `${name}.jsonl`), `${files.jsonl.map((r) => JSON.stringify(r, plain)).join('\n')}\n`);
  return md;
}
