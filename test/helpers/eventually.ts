import type { Client } from '@temporalio/client';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined; throws naming `what` after the deadline. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

/** True once the workflow (and its history) is gone from Temporal. */
export async function workflowGone(client: Client, id: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(id).describe();
    return false;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return true;
    throw err;
  }
}

/**
 * How long a test waits for Temporal to delete histories. Deleting a CLOSED workflow is asynchronous
 * on the server: its delete task waits until the close visibility task is acknowledged, which the
 * dev server checkpoints about every 30 s (measured: 31 s for a closed workflow, 7 ms for a running
 * one, on an idle machine) and retries with backoff, so a busy machine can take minutes.
 */
export const HISTORY_DELETION_MS = 300_000;

/** Waits until every one of `ids` is gone from Temporal (see HISTORY_DELETION_MS). */
export async function historiesDeleted(
  client: Client,
  ids: readonly string[],
  what = 'Temporal histories deleted',
): Promise<void> {
  await eventually(
    what,
    async () =>
      (await Promise.all(ids.map((id) => workflowGone(client, id)))).every(Boolean)
        ? true
        : undefined,
    HISTORY_DELETION_MS,
  );
}
