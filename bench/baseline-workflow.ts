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

const acts = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30s' });
const { route } = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '5s' });

/**
 * The orchestrator's own limit for the benchmark: the pipeline's shape for a plain message (tokenize,
 * opt-out check, pick sender, route as a local activity, submit, one receipt signal, record, schedule
 * the purge: six activities, one local activity, one signal) with no work inside, started and
 * signalled the same way.
 */
export async function baselineWorkflow(input: {
  id: string;
  to: string;
  body: string;
}): Promise<string> {
  let receipts = 0;
  setHandler(baselineReceipt, () => void receipts++);
  const { token } = await acts.tokenize(input);
  if (await acts.suppression({ id: input.id, token })) return 'suppressed';
  await acts.pick({ id: input.id });
  const { carriers } = await route({ id: input.id });
  await acts.submit({ id: input.id, carrier: carriers[0]! });
  await condition(() => receipts > 0, '1 hour');
  await acts.record({ id: input.id, status: 'delivered' });
  await acts.schedulePurge({ id: input.id });
  return 'delivered';
}
