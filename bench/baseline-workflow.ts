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
  pick(input: { id: string }): Promise<{ sender: string }>;
  route(input: { id: string }): Promise<{ carriers: string[] }>;
  submit(input: { id: string; carrier: string }): Promise<{ ids: string[] }>;
  record(input: { id: string; status: string }): Promise<void>;
}

export const baselineReceipt = defineSignal<[{ id: string }]>('deliveryReceipt');

const acts = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30s' });
const { route } = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '5s' });

/**
 * The orchestrator's own limit for the benchmark: the pipeline's shape (four activities, one local
 * activity, one receipt signal) with no work inside, started and signalled the same way.
 */
export async function baselineWorkflow(input: {
  id: string;
  to: string;
  body: string;
}): Promise<string> {
  let receipts = 0;
  setHandler(baselineReceipt, () => void receipts++);
  await acts.tokenize(input);
  await acts.pick({ id: input.id });
  const { carriers } = await route({ id: input.id });
  await acts.submit({ id: input.id, carrier: carriers[0]! });
  await condition(() => receipts > 0, '1 hour');
  await acts.record({ id: input.id, status: 'delivered' });
  return 'delivered';
}
