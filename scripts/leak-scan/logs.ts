/** Log files: every line of every `*.log` file. */
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Findings } from './matcher';

export async function scanLogFile(file: string, findings: Findings): Promise<void> {
  const lines = createInterface({
    input: createReadStream(file, { encoding: 'utf8' }),
    crlfDelay: Infinity,
  });
  let n = 0;
  for await (const line of lines) findings.check(line, 'log', `${file}:${++n}`);
}

/** Every `*.log` file under a folder, recursively; none when the folder does not exist. */
export function findLogFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.log'))
    .map((f) => join(dir, f))
    .sort();
}
