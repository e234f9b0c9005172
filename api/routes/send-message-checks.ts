/**
 * The checks of a `POST /v1/messages` request that its schema cannot express (the recipient is a
 * mobile number, the text is Unicode without control characters, the length in segments) and the
 * canonical form its Idempotency-Key is compared with. Used by the handler in send-message.ts.
 */
import { normalizeRecipient, type NormalizedRecipient } from '../../domain/phone';
import { testNumberRecipient } from '../../domain/test-numbers';
import { refuseText } from '../../domain/text';
import { HttpProblem } from '../plugins/problem';
import type { Scheduling } from '../scheduling';
import type { SendBody } from './send-message';

/** The longest message we accept, in segments (a carrier-side limit most networks share). */
export const MAX_SEGMENTS = 10;

/**
 * The canonical form of a request, whose keyed fingerprint tells a retried POST from a different one
 * under the same key. Exported for the test that proves no Temporal payload holds its plain hash.
 */
export function canonicalRequest(tenant: string, e164: string, b: SendBody): string {
  return JSON.stringify([
    tenant,
    e164,
    b.body,
    b.purpose,
    b.campaign ?? null,
    b.sender ?? null,
    b.callbackUrl ?? null,
    b.validitySeconds ?? null,
    ...(b.maxPrice === undefined ? [] : [{ maxPrice: b.maxPrice }]),
    b.sendAt ?? null,
    b.smartEncoding ?? false,
  ]);
}

/** The recipient in E.164; the documented test numbers (domain/test-numbers.ts) first: they are no real subscriber's. */
export function checkRecipient(to: string): NormalizedRecipient {
  const recipient = testNumberRecipient(to) ?? normalizeRecipient(to);
  if (recipient.ok) return recipient;
  throw new HttpProblem(
    400,
    'Invalid recipient',
    recipient.reason === 'not_mobile'
      ? '`to` is not a mobile number'
      : '`to` is not a valid international phone number (E.164, with +)',
    ['to'],
  );
}

export function checkBody(body: string): void {
  const textRefusal = refuseText(body);
  if (!textRefusal) return;
  throw new HttpProblem(
    400,
    'Invalid body',
    textRefusal === 'control_character'
      ? '`body` contains a control character; only line feed, carriage return and tab are allowed'
      : '`body` contains a lone surrogate (an unpaired \\ud800-\\udfff escape): not Unicode text',
    ['body'],
  );
}

export function checkLength({ segments, encoding }: Scheduling['measurement']): void {
  if (segments <= MAX_SEGMENTS) return;
  throw new HttpProblem(
    400,
    'Message too long',
    `\`body\` needs ${segments} ${encoding} segments; at most ${MAX_SEGMENTS} are allowed`,
    ['body'],
  );
}
