import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { bundleWorkflows } from '../../workers/bundle';

/** Where `npm run histories:record` writes the recorded histories (scripts/record-histories.ts). */
export const HISTORIES_DIR = join(__dirname, '..', 'workflows', 'histories');

/**
 * The recipients `npm run histories:record` sends to, one per variant: reserved test numbers,
 * never a subscriber's. The replay test checks that none of them, nor the body or its code, is in
 * a recorded history in any written form.
 */
export const RECORDED_RECIPIENTS = {
  plain: '+447400900001',
  review: '+447400900002',
  audit: '+447400900003',
  scheduled: '+447400900004',
  cancelled: '+447400900005',
  failover: '+447400900006',
  receiptFailover: '+447400900007',
  erased: '+447400900008',
} as const;
/** The dummy one-time code in {@link RECORDED_BODY}. */
export const RECORDED_CODE = '246813';
/** The body of every recorded message. */
export const RECORDED_BODY = `History recording: test code ${RECORDED_CODE}`;

/** Every text in a history's payloads (decoded from base64), for leak checks. */
export function payloadTexts(history: temporal.api.history.v1.IHistory): string[] {
  const texts: string[] = [];
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object' || node instanceof Uint8Array) return;
    const o = node as Record<string, unknown>;
    if (o.metadata && o.data instanceof Uint8Array)
      texts.push(Buffer.from(o.data).toString('utf8'));
    Object.values(o).forEach(visit);
  };
  visit(history);
  return texts;
}

/** A committed history: the file's name (`<type>-<variant>`) and the history itself. */
export interface RecordedHistory {
  name: string;
  history: temporal.api.history.v1.History;
}

/** Every recorded history under {@link HISTORIES_DIR}, by file name. */
export function recordedHistories(dir = HISTORIES_DIR): RecordedHistory[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({
      name: f.replace(/\.json$/, ''),
      history: temporal.api.history.v1.History.fromObject(
        JSON.parse(readFileSync(join(dir, f), 'utf8')),
      ),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One recorded history by name (e.g. `send-plain`). */
export function recordedHistory(name: string): RecordedHistory {
  const found = recordedHistories().find((h) => h.name === name);
  if (!found) throw new Error(`no recorded history ${name} in ${HISTORIES_DIR}`);
  return found;
}

/**
 * Replays histories against a workflow bundle built from `workflowsPath` (with the failure converter
 * the workers use) and returns, per history name, the replay's error message or undefined.
 */
export async function replayAgainst(
  workflowsPath: string,
  histories: RecordedHistory[],
): Promise<Record<string, string | undefined>> {
  const workflowBundle = await bundleWorkflows(workflowsPath);
  const { Worker } = await import('@temporalio/worker');
  const results: Record<string, string | undefined> = {};
  const replays = Worker.runReplayHistories(
    { workflowBundle },
    histories.map(({ name, history }) => ({ workflowId: name, history })),
  );
  for await (const result of replays) results[result.workflowId] = result.error?.message;
  return results;
}
