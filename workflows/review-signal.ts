/** The review decision a reviewer's completion sends to a message's workflow; shared by the API and the workflow. */
import { defineSignal } from '@temporalio/workflow';
import type { ReasonCode, Verdict } from '../domain/review';

/**
 * A reviewer's decision on one review task: ids and codes only, and a note that the API has masked
 * (codes and number-like runs) before sending it. Never the task's content.
 */
export interface ReviewDecisionSignal {
  taskId: string;
  verdict: Verdict;
  reasonCode: ReasonCode;
  /** Masked with `maskNote` (domain/review.ts); empty when the reviewer wrote none. */
  note: string;
}

/**
 * Signal: a review task was completed (wire name `reviewDecision`). A signal rather than an Update:
 * the API checks the lease and records the decision in PostgreSQL first, so the reviewer's answer
 * does not wait for a worker, and the workflow settles the task through the database either way.
 */
export const reviewDecisionSignal = defineSignal<[ReviewDecisionSignal]>('reviewDecision');
