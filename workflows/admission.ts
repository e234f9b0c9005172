/**
 * Step 2 of a message, carrying out what admission decided: the OTP velocity hold, and, at the
 * end, giving back the spend reservation of a message that never reached a carrier. Called from
 * `send-message.ts`; deterministic workflow code only.
 */
import { condition } from '@temporalio/workflow';
import { BILLED_STATUSES } from '../domain/policy';
import type { SendMessageInput, StatusEvent } from './definitions';
import { MessageStatus } from '../domain/statuses';
import { recordStatus, releaseCharge } from './message-steps';
import { STEP_SUMMARIES } from '../domain/step-summaries';

type Meta = Omit<SendMessageInput, 'to' | 'body'>;

/**
 * Holds an OTP that a country's velocity limit placed in a later window: status `held` (history,
 * database and the MessageStatus search attribute), then a durable wait until the window opens.
 * Returns true when the client cancelled during the hold.
 */
export async function holdForVelocity(
  meta: Meta,
  {
    step,
    cancelled,
  }: {
    step: (status: MessageStatus, extra?: Omit<StatusEvent, 'status' | 'at'>) => void;
    cancelled: () => boolean;
  },
): Promise<boolean> {
  const until = meta.policy?.holdUntil;
  if (until === undefined || until <= Date.now()) return false;
  const detail = `otp velocity limit for ${meta.country}; held until ${new Date(until).toISOString()}`;
  step(MessageStatus.HELD, { detail });
  await recordStatus({
    messageId: meta.messageId,
    status: MessageStatus.HELD,
    reason: detail,
    final: false,
  });
  return condition(cancelled, until - Date.now(), {
    summary: STEP_SUMMARIES.velocityHold,
  });
}

/**
 * Gives back the message's spend reservation when it ended without being handed to a carrier
 * (cancelled, failed before submit, expired, suppressed, rejected): only submitted messages are billed.
 */
export async function releaseUnbilledCharge(meta: Meta, status: MessageStatus): Promise<void> {
  if (!meta.policy?.charged || BILLED_STATUSES.includes(status)) return;
  await releaseCharge({ messageId: meta.messageId });
}
