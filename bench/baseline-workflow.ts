import {
  condition,
  defineSignal,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';

/** The no-op activities of the baseline: same count and shape as the pipeline's, doing nothing. */
export interface BaselineActivities {
  tokenize(input: { id: string; to: string; body: string }): Promise<{ token: string }>;
  suppression(input: { id: string; token: string }): Promise<boolean>;
  pick(input: { id: string }): Promise<{ sender: string }>;
  route(input: { id: string }): Promise<{ carriers: string[] }>;
  submit(input: { id: string; carrier: string }): Promise<{ ids: string[] }>;
  record(input: { id: string; status: string }): Promise<void>;
  schedulePurge(input: { id: string }): Promise<void>;
}

export const baselineReceipt = defineSignal<[{ id: string }]>('deliveryReceipt');

const { submit } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30s' });
const local = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '30s' });

/**
 * The orchestrator's own limit for the benchmark: the pipeline's shape for a plain message with no
 * work inside, started and signalled the same way. Tokenize, opt-out check, pick sender, route, record
 * and schedule the purge are local activities (as in workflows/send-message.ts), the carrier submit is
 * the one activity, and one receipt signal ends the wait: one activity, six local activities, one signal.
 */
export async function baselineWorkflow(input: {
  id: string;
  to: string;
  body: string;
}): Promise<string> {
  let receipts = 0;
  setHandler(baselineReceipt, () => void receipts++);
  const { token } = await local.tokenize(input);
  if (await local.suppression({ id: input.id, token })) return 'suppressed';
  await local.pick({ id: input.id });
  const { carriers } = await local.route({ id: input.id });
  await submit({ id: input.id, carrier: carriers[0]! });
  await condition(() => receipts > 0, '1 hour');
  await local.record({ id: input.id, status: 'delivered' });
  await local.schedulePurge({ id: input.id });
  return 'delivered';
}

/**
 * Temporal's own ceiling for the benchmark: one workflow task and nothing else (no activity, no
 * timer, no signal), with the pipeline's input so the payload and its codec cost the same. Started
 * like the baseline, it measures the most workflows per second this client, worker and server allow.
 */
export async function ceilingWorkflow(_input: {
  id: string;
  to: string;
  body: string;
}): Promise<string> {
  return 'done';
}
