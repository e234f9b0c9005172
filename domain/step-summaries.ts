/**
 * The one-line summaries an operator reads on a workflow's timeline in the Temporal UI, for every
 * activity, local activity and timer the workflows run: fixed text, never a value of the message.
 * Temporal stores them as payloads, so the codec encrypts them like any other; being fixed text, the
 * codec server shows them to every operator (`isStepSummary`), where a tenant operator would otherwise
 * see them withheld (they name no tenant or message).
 */
export const STEP_SUMMARIES = {
  velocityHold: 'otp velocity hold: wait for the next window',
  anomalyDetect: 'compare failure rates, API volume and region workers with their baselines',
  anomalyWait: 'anomaly detector: wait for the next window',
  callback: "status callback to the client's URL",
  purgeDue: "purge due messages: histories, ciphertexts, the region's rows",
  sweeperWait: 'sweeper: wait for the next sweep',
  planReview: 'review policy: sample, first-use and open a pre-send task',
  openAuditTask: 'open a post-delivery audit task',
  resolveReview: "settle the review task: the reviewer's decision or the SLA default",
  reviewWait: "review: wait for the reviewer's decision until the SLA",
  scheduledWait: 'scheduled send: wait until sendAt',
  dispatch: 'dispatch: decrypt just in time, submit to the carrier',
  route: "route: the carriers eligible for the recipient's country",
  senderRateWait: "sender rate: wait for the pool number's next free slot",
  receiptWait: 'receipt: wait for every part to be final',
  tokenize: 'tokenize: encrypt number and body in the region (Vault transit)',
  optOutCheck: 'opt-out check (PostgreSQL)',
  pickSender: 'pick sender: reserve a pool number',
  recordStatus: 'record status (PostgreSQL)',
  releaseCharge: 'release the spend reservation (PostgreSQL)',
  schedulePurge: 'schedule purge: due after the retention period',
} as const;

const SUMMARIES: ReadonlySet<string> = new Set(Object.values(STEP_SUMMARIES));

/** Whether a decoded payload is one of the fixed step summaries (and so nobody's data). */
export const isStepSummary = (value: unknown): boolean =>
  typeof value === 'string' && SUMMARIES.has(value);
