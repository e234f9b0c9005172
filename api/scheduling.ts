/**
 * Scheduling of `POST /v1/messages`: `sendAt` (scheduled sends),
 * `validitySeconds` (with per-purpose defaults) and `smartEncoding`. The route spreads the schema
 * properties into its body schema and calls {@link applyScheduling} from its handler.
 */
import { measure, smartEncode, type Measurement } from '../domain/encoding';
import {
  checkSendAt,
  DEFAULT_VALIDITY_SECONDS,
  MAX_SCHEDULE_AHEAD_MS,
  VALIDITY_BOUNDS,
} from '../domain/scheduling';
import { HttpProblem } from './plugins/problem';

/** The request fields of scheduling. */
export interface SchedulingBody {
  sendAt?: string;
  validitySeconds?: number;
  smartEncoding?: boolean;
}

/** JSON-schema properties for the POST body. */
export const schedulingProperties = {
  sendAt: {
    type: 'string',
    maxLength: 40,
    description: `Send at this time (ISO 8601 with a zone, e.g. 2026-12-01T09:00:00Z), at most ${MAX_SCHEDULE_AHEAD_MS / 86_400_000} days ahead; cancellable until then`,
  },
  validitySeconds: {
    type: 'integer',
    minimum: VALIDITY_BOUNDS.min,
    maximum: VALIDITY_BOUNDS.max,
    description: `Seconds the message may still be sent, from sendAt or acceptance; then it ends \`expired\`. Default by purpose: otp ${DEFAULT_VALIDITY_SECONDS.otp}, transactional ${DEFAULT_VALIDITY_SECONDS.transactional}, marketing ${DEFAULT_VALIDITY_SECONDS.marketing}`,
  },
  smartEncoding: {
    type: 'boolean',
    description:
      'Replace Unicode look-alikes (curly quotes, long dashes, special spaces…) with GSM-7 characters when that needs fewer segments',
  },
} as const;

/** Response properties scheduling adds to the 202 answer. */
export const schedulingAcceptedProperties = {
  sendAt: { type: 'string', description: 'When a scheduled message will be sent' },
  expiresAt: {
    type: 'string',
    description: 'The last moment the message may be handed to a carrier',
  },
  segmentsSaved: { type: 'integer', description: 'Segments smart encoding saved (when requested)' },
} as const;

/** What the handler sends and stores after scheduling. */
export interface Scheduling {
  /** The body to send: smart-encoded when asked for and worth it. */
  text: string;
  measurement: Measurement;
  sendAt?: number;
  validitySeconds: number;
  /** For the 202 answer. */
  accepted: { sendAt?: string; expiresAt: string; segmentsSaved?: number };
}

/**
 * Validates and resolves the scheduling fields of one request.
 * @throws HttpProblem 400 naming `sendAt` when it is not ISO 8601 with a zone, in the past, or too far ahead.
 */
export function applyScheduling(
  b: SchedulingBody & { body: string; purpose: keyof typeof DEFAULT_VALIDITY_SECONDS },
  now: number,
): Scheduling {
  const when = checkSendAt(b.sendAt, now);
  if (!when.ok) {
    const detail = {
      invalid: '`sendAt` must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T09:00:00Z',
      past: '`sendAt` is in the past',
      too_far: `\`sendAt\` may be at most ${MAX_SCHEDULE_AHEAD_MS / 86_400_000} days ahead`,
    }[when.reason];
    throw new HttpProblem(400, 'Invalid schedule', detail, ['sendAt']);
  }
  const validitySeconds = b.validitySeconds ?? DEFAULT_VALIDITY_SECONDS[b.purpose];
  const smart = b.smartEncoding ? smartEncode(b.body) : undefined;
  const start = Math.max(now, when.sendAt ?? 0);
  return {
    text: smart?.text ?? b.body,
    measurement: smart?.measurement ?? measure(b.body),
    sendAt: when.sendAt,
    validitySeconds,
    accepted: {
      ...(when.sendAt !== undefined ? { sendAt: new Date(when.sendAt).toISOString() } : {}),
      expiresAt: new Date(start + validitySeconds * 1000).toISOString(),
      ...(smart ? { segmentsSaved: smart.segmentsSaved } : {}),
    },
  };
}
