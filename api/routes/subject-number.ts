import { normalizeRecipient } from '../../domain/phone';
import { HttpProblem } from '../plugins/problem';

/** What the data-subject routes (erasure, opt-outs) share: the subscriber number in a body. */

const problem = { $ref: 'Problem#' } as const;
/** The refusals every data-subject route documents. */
export const subjectErrors = { 400: problem, 401: problem, 403: problem, 404: problem } as const;

/** A body naming one subscriber by number. */
export const numberBody = {
  type: 'object',
  additionalProperties: false,
  required: ['number'],
  properties: {
    number: {
      type: 'string',
      minLength: 1,
      maxLength: 32,
      description: 'The subscriber in international format, e.g. +447400123456',
    },
  },
} as const;

/** The E.164 form of a subscriber number from a request body, or a 400 naming `number`. */
export function e164Of(raw: string): { e164: string; country: string } {
  const r = normalizeRecipient(raw);
  if (!r.ok)
    throw new HttpProblem(
      400,
      'Invalid number',
      '`number` is not a valid international mobile number (E.164, with +)',
      ['number'],
    );
  return { e164: r.e164, country: r.country };
}
