import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { NUMBER_MASK, redactForPeople, redactFreeText } from '../domain/masking';
import { redactNumber } from '../domain/phone';
import { jsonPlain, text } from './payloads';

/** What replaces a payload that is not JSON: its bytes could hold anything. */
export const BINARY_REDACTED = '[binary payload redacted]';

const INTERNATIONAL = /^\+[1-9][0-9]{6,14}$/;

/**
 * Redacts a decoded JSON value for display: `to` fields become the redacted number (`+44••••••••56`),
 * `body`/`text` fields are what a reviewer sees of a body (`redactForPeople`), a string that is only a
 * number in international form becomes its redacted form, and every other string (object keys included) goes through
 * `redactFreeText`. Numbers, booleans and null are kept.
 */
export function redactValue(value: unknown, key?: string): unknown {
  const field = key?.toLowerCase();
  if (typeof value === 'string') {
    if (field === 'to') return redactNumber(value.replace(/[\s().-]/g, ''));
    if (field === 'body' || field === 'text') return redactForPeople(value);
    const compact = value.replace(/[\s().-]/g, '');
    // A number in international form keeps its redacted form; other numbers become `[number]` below.
    if (INTERNATIONAL.test(compact)) return redactNumber(compact);
    return redactFreeText(value);
  }
  if (field === 'to' && typeof value === 'number') return NUMBER_MASK;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [redactFreeText(k), redactValue(v, k)]),
    );
  }
  return value;
}

/** A decoded payload made fit for an operator's screen: JSON redacted, anything else replaced. */
export function redactPayload(p: Payload): Payload {
  const encoding = text(p.metadata?.[METADATA_ENCODING_KEY]);
  if (encoding === 'binary/null')
    return { metadata: { [METADATA_ENCODING_KEY]: p.metadata![METADATA_ENCODING_KEY]! } };
  if (encoding === 'json/plain') {
    try {
      return jsonPlain(redactValue(JSON.parse(text(p.data))));
    } catch {
      // Not valid JSON after all: treated as opaque bytes.
    }
  }
  return jsonPlain(BINARY_REDACTED);
}
