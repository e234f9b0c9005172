import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';

/**
 * The Temporal codec-server protocol: payloads as JSON (metadata values and data in base64), their
 * schema, and the conversions to and from Temporal's `Payload`.
 */

/** A payload as the Temporal codec-server protocol carries it: metadata values and data in base64. */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** A payload's bytes as UTF-8 text ('' when absent). */
export const text = (b: Uint8Array | null | undefined) =>
  b ? Buffer.from(b).toString('utf8') : '';
/** A `json/plain` payload of `value`. */
export const jsonPlain = (value: unknown): Payload => ({
  metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain') },
  data: Buffer.from(JSON.stringify(value)),
});

/** The decoded JSON value of a payload, or undefined when it is not JSON. */
export function jsonOf(p: Payload): { value: unknown } | undefined {
  if (text(p.metadata?.[METADATA_ENCODING_KEY]) !== 'json/plain') return undefined;
  try {
    return { value: JSON.parse(text(p.data)) };
  } catch {
    return undefined; // Not JSON after all.
  }
}

/** A protocol payload as Temporal's. */
export const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: Buffer.from(p.data ?? '', 'base64'),
});

/** A Temporal payload as the protocol carries it. */
export const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  ...(p.data && p.data.length > 0 ? { data: Buffer.from(p.data).toString('base64') } : {}),
});

/** The body of every codec request and answer: `{ payloads: [...] }`. */
export const payloadsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['payloads'],
  properties: {
    payloads: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          metadata: { type: 'object', additionalProperties: { type: 'string' } },
          data: { type: 'string' },
        },
      },
    },
  },
} as const;
export const problem = { $ref: 'Problem#' } as const;
/**
 * The codec-server protocol reads only the path's last segment; clients add query parameters
 * (the Temporal UI sends `?preserveStorageRefs=true`, preflight included), so these routes accept
 * any, unlike the rest of the API (api/plugins/limits.ts).
 */
export const codecQuery = {
  type: 'object',
  properties: { preserveStorageRefs: { type: 'string', enum: ['true', 'false'] } },
} as const;

/** Payload batches from the UI (a whole history) are far bigger than the API's usual 64 KiB. */
export const CODEC_BODY_LIMIT = 8 * 1024 * 1024;

/** What decode and encode declare alike: the operator role (a bearer key or the session cookie) and the larger body limit. */
export const OPERATOR_ROUTE = {
  bodyLimit: CODEC_BODY_LIMIT,
  config: { roles: ['operator'] as const, cookieAuth: true },
};
