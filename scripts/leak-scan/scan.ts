/** The scan: every sink it was given, at once. */
import { scanDatabase } from './database';
import { scanLogFile } from './logs';
import { Findings, Matcher } from './matcher';
import { scanTemporal } from './temporal';
import type { LeakFinding, ScanOptions } from './types';

/**
 * Searches logs, Temporal (raw, without codec) and the database for the needles.
 * Returns one finding per place and needle; an empty array means clean.
 */
export async function scanForLeaks(options: ScanOptions): Promise<LeakFinding[]> {
  const matcher = new Matcher(options.needles);
  const findings = new Findings(matcher);
  const tasks: Promise<void>[] = [];
  for (const file of options.logFiles ?? []) tasks.push(scanLogFile(file, findings));
  (options.logLines ?? []).forEach((line, i) => findings.check(line, 'log', `logLines:${i + 1}`));
  for (const doc of options.documents ?? []) findings.check(doc.text, doc.where, doc.location);
  if (options.temporal) tasks.push(scanTemporal(options.temporal, findings));
  if (options.db) tasks.push(scanDatabase(options.db, matcher, findings, options.excludeTables));
  await Promise.all(tasks);
  return findings.list();
}
