import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { bundleWorkflows } from '../../workers/bundle';

/** Where `npm run histories:record` writes the recorded histories (scripts/record-histories.ts). */
export const HISTORIES_DIR = join(__dirname, '..', 'workflows', 'histories');

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
