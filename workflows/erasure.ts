/**
 * The erasure of one data subject at one tenant (POST /v1/subjects/erasure): a workflow, so it
 * survives restarts and its progress is observable. It holds no token of the subject: its activities
 * read the subject's tokens from the erasure's row, so an operator decoding its payloads learns none.
 */
import { continueAsNew, patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { PrivacyActivities } from '../activities/privacy/privacy-activities';
import { bookkeeping } from './options';
import { purgeBatch } from './retention';

const { findSubjectMessages, recordErasureProgress, forgetStickySenders, completeErasure } =
  proxyActivities<PrivacyActivities>(bookkeeping);
const { cancelMessages, waitForMessagesToClose, eraseMessages, settleErasureIntake } =
  proxyActivities<PrivacyActivities>(purgeBatch);

/** Checks of the intake before the erasure continues as new, keeping its own history short. */
export const INTAKE_CHECKS_PER_RUN = 200;

/** Input of {@link erasureWorkflow}. */
export interface ErasureInput {
  erasureId: string;
  tenant: string;
  /** Only in erasures started before the subject's tokens moved to the `erasures` row. */
  subscriberToken?: string;
  /** How long to wait for cancelled in-flight messages to end before purging them anyway. */
  cancelWaitSeconds: number;
  /** Messages handled per round. Default 200. */
  pageSize?: number;
  /** Pause between checks while messages accepted before the erasure are still in intake. Default 2. */
  intakePollSeconds?: number;
}

/** The erasure's workflow id. */
export const erasureWorkflowId = (erasureId: string) => erasureId;

/**
 * First, the messages accepted before the erasure whose subscriber is not known yet (waiting in the
 * outbox, or started and not tokenized): the API recorded the erasure's tombstone before starting
 * this workflow, so tokenize stops every one of them that is the subject's (no ciphertext stored,
 * the message ends `cancelled`, reason `erased`, never sent), and the carrier submit checks it again.
 * The erasure waits, durably (a timer between checks; `messagesPending` shows how many), until
 * none of the tenant's messages accepted before it is still in intake. Then,
 * round after round until the subject has no message left holding personal data: find a page of
 * its messages, send the in-flight ones the cancel signal (those not yet submitted end `cancelled`),
 * wait for them to close, then purge the page (ciphertexts, journal, history rows, Temporal
 * histories; a message still waiting for its receipt is ended by the history deletion). Messages
 * tokenized meanwhile are found by the next round. Its sticky sender assignments are dropped; its
 * opt-outs stay (keyed hash only).
 */
export async function erasureWorkflow(input: ErasureInput): Promise<{ purged: number }> {
  const limit = input.pageSize ?? 200;
  const { erasureId, tenant, subscriberToken } = input;
  // Erasures started before this step existed replay without it.
  if (patched('erasure-waits-for-intake')) {
    for (let check = 1; ; check++) {
      const { pending } = await settleErasureIntake({ erasureId });
      if (pending === 0) break;
      if (check >= INTAKE_CHECKS_PER_RUN) return continueAsNew<typeof erasureWorkflow>(input);
      await sleep((input.intakePollSeconds ?? 2) * 1000);
    }
  }
  let purged = 0;
  for (;;) {
    const { messageIds } = await findSubjectMessages({ tenant, subscriberToken, limit, erasureId });
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
  await forgetStickySenders({ erasureId, tenant, subscriberToken });
  await completeErasure({ erasureId, tenant });
  return { purged };
}
