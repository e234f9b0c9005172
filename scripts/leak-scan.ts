/**
 * The leak scanner: looks for plaintext personal data (phone numbers in every written form,
 * one-time codes) where invariant 1 says it must never be — log files, Temporal's own storage
 * read raw (workflow ids, search attributes, memos, every history event, no codec involved),
 * every text-like column of the database, and any documents a test collected (review tasks, the
 * reviewer page's HTML, the codec server's output, status callbacks).
 *
 * A needle matches in every digit form and spacing: needles and texts are both read folded
 * (`foldForMatching`: every Unicode decimal digit as ASCII, any run of spaces as one space, any dash
 * as `-`), so the code `482913` is also found as `٤٨٢٩١٣`, `۴۸۲۹۱۳`, `४८२९१३` or `４８２９１３`, and
 * `600 123 456` with no-break or thin spaces between its groups.
 *
 * Findings never repeat what they found: the needle is masked (`+44…`) and identified by its
 * index in the `needles` array, and locations that could contain it (workflow ids) are scrubbed.
 *
 * CLI: `tsx scripts/leak-scan.ts --needles-file needles.json [--query "WorkflowId = '…'"]
 * [--logs-dir .data/logs] [--exclude-table name]…`; E.164 needles in the file are expanded with
 * {@link needleVariants}. Exit code 1 when anything is found, 2 when the scan could not run.
 */
import { redactFreeText } from '../domain/masking';
import { main } from './leak-scan/cli';

export { findLogFiles } from './leak-scan/logs';
export { expandNeedles, foldText, maskNeedle, needleVariants } from './leak-scan/needles';
export { scanForLeaks } from './leak-scan/scan';
export type { LeakDocument, LeakFinding, LeakWhere, ScanOptions } from './leak-scan/types';

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // An error text could quote what it was given: redact it like any log line.
      const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      process.stderr.write(`leak-scan failed: ${redactFreeText(text)}\n`);
      process.exitCode = 2;
    },
  );
}
