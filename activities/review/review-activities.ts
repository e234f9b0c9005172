/**
 * Activities of human review: decide whether a message is reviewed and open its task, open a
 * post-delivery audit, and settle a task (the reviewer's decision or the default after the SLA).
 * The body is decrypted just in time (audited, like dispatch) and redacted for people
 * (`redactForPeople`) before anything is stored, and the plaintext is never returned or logged.
 * Each activity lives in its own module; this one composes them from the worker's clients.
 */
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { MessageCipher } from '../../encryption/message-cipher';
import { createAuditTaskActivities } from './open-audit-task';
import { createPlanReviewActivities, type ReviewCarrierDirectory } from './plan-review';
import { createResolveReviewActivities } from './resolve-review';
import { createRedactedBody } from './review-task';

export type { OpenAuditTaskInput } from './open-audit-task';
export type { PlanReviewInput, ReviewCarrierDirectory, ReviewPlan } from './plan-review';
export type { ResolvedReview, ResolveReviewInput } from './resolve-review';
export { taskPseudonym } from './review-task';

/** The review activities over PostgreSQL, the body cipher, the carrier directory and the log. */
export function createReviewActivities({
  db,
  cipher,
  carriers,
  log,
}: {
  db: Pool;
  /** Opens the body; the worker's one instance, shared with dispatch, so data keys are cached once. */
  cipher: Pick<MessageCipher, 'open'>;
  carriers: ReviewCarrierDirectory;
  log: Logger;
}) {
  const redactedBody = createRedactedBody({ db, cipher });
  return {
    ...createPlanReviewActivities({ db, redactedBody, carriers, log }),
    ...createAuditTaskActivities({ db, redactedBody }),
    ...createResolveReviewActivities({ db }),
  };
}

export type ReviewActivities = ReturnType<typeof createReviewActivities>;
