/**
 * The erasure of one data subject at one tenant (POST /v1/subjects/erasure): a workflow, so it
 * survives restarts and its progress is observable. It holds the subject only as the keyed token.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { PrivacyActivities } from '../activities/privacy';
import { bookkeeping } from './options';
import { purgeBatch } from './retention';

const { findSubjectMessages, recordErasureProgress, forgetStickySenders, completeErasure } =
  proxyActivities<PrivacyActivities>(bookkeeping);
const { cancelMessages, waitForMessagesToClose, eraseMessages } =
  proxyActivities<PrivacyActivities>(purgeBatch);

/** Input of {@link erasureWorkflow}. */
export interface ErasureInput {
  erasureId: string;
  tenant: string;
  /** HMAC of the subject's number under `subscriber-token`, derived by the API. */
  subscriberToken: string;
  /** How long to wait for cancelled in-flight messages to end before purging them anyway. */
  cancelWaitSeconds: number;
  /** Messages handled per round. Default 200. */
  pageSize?: number;
}

/** The erasure's workflow id. */
export const erasureWorkflowId = (erasureId: string) => erasureId;

/**
 * Round after round until the subject has no message left holding personal data: find a page of
 * its messages, send the in-flight ones the cancel signal (those not yet submitted end `cancelled`),
 * wait for them to close, then purge the page (ciphertexts, journal, history rows, Temporal
 * histories; a message still waiting for its receipt is ended by the history deletion). Messages
 * tokenized meanwhile are found by the next round. Its sticky sender assignments are dropped; its
 * opt-outs stay (keyed hash only).
 */
export async function erasureWorkflow(input: ErasureInput): Promise<{ purged: number }> {
  const limit = input.pageSize ?? 200;
  const { erasureId, tenant, subscriberToken } = input;
  let purged = 0;
  for (;;) {
    const { messageIds } = await findSubjectMessages({ tenant, subscriberToken, limit });
    if (messageIds.length === 0) break;
    const { signalled } = await cancelMessages({ erasureId, messageIds });
    await recordErasureProgress({ erasureId, found: messageIds.length, cancelled: signalled });
    if (signalled > 0)
      await waitForMessagesToClose({
        erasureId,
        messageIds,
        timeoutSeconds: input.cancelWaitSeconds,
      });
    purged += (await eraseMessages({ erasureId, messageIds })).purged;
  }
  await forgetStickySenders({ tenant, subscriberToken });
  await completeErasure({ erasureId, tenant });
  return { purged };
}
