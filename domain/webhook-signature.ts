import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures between an HTTP carrier and us:
 * `x-signature: v1=<hex HMAC-SHA256(secret, "<x-timestamp>.<raw body>")>` and
 * `x-timestamp: <unix seconds>`. Signing the timestamp with the body bounds replays to the
 * tolerance window; the replay guard refuses a second delivery of the same signature inside it.
 */
export const SIGNATURE_HEADER = 'x-signature';
export const TIMESTAMP_HEADER = 'x-timestamp';
/** Largest accepted distance between the signed timestamp and now (either direction). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** Returns the `x-signature` header value for a body sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return `v1=${mac.digest('hex')}`;
}

/** Remembers accepted signatures; a `Set<string>` works, {@link createReplayCache} also forgets. */
export interface ReplayGuard {
  has(key: string): boolean;
  add(key: string): unknown;
}

/** Node/Fastify header object (lower-case keys) or a fetch `Headers`. */
export type WebhookHeaders =
  Record<string, string | string[] | undefined> | { get(name: string): string | null };

export type WebhookRejection =
  'missing-headers' | 'malformed' | 'stale' | 'bad-signature' | 'replayed';

export type VerifyResult =
  { ok: true; timestamp: number } | { ok: false; reason: WebhookRejection };

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

/** A webhook whose signature and timestamp check out; `replayKey` identifies it for the replay guard. */
export type SignatureCheck =
  { ok: true; timestamp: number; replayKey: string } | { ok: false; reason: WebhookRejection };

/**
 * Checks a signed webhook against the exact raw body received, without the replay guard: one
 * `v1=` signature in the header must match one of the secrets (an array allows rotation), and the
 * timestamp must be within `toleranceSeconds` of `nowSeconds`. Comparison is constant-time. The
 * caller then claims `replayKey` in its replay store (the API: PostgreSQL, shared by all processes).
 */
export function checkWebhookSignature(
  secret: string | readonly string[],
  headers: WebhookHeaders,
  rawBody: string | Buffer,
  nowSeconds: number,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): SignatureCheck {
  const signatureHeader = header(headers, SIGNATURE_HEADER);
  const timestampHeader = header(headers, TIMESTAMP_HEADER);
  if (!signatureHeader || !timestampHeader) return { ok: false, reason: 'missing-headers' };
  if (!/^\d{1,12}$/.test(timestampHeader)) return { ok: false, reason: 'malformed' };
  const timestamp = Number(timestampHeader);
  const provided = signatureHeader
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^v1=[0-9a-f]{64}$/i.test(s))
    .map((s) => Buffer.from(s.slice(3), 'hex'));
  if (provided.length === 0) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'stale' };
  const secrets = typeof secret === 'string' ? [secret] : secret;
  let matched: Buffer | undefined;
  for (const s of secrets) {
    const expected = Buffer.from(signWebhook(s, timestamp, rawBody).slice(3), 'hex');
    for (const p of provided) {
      if (p.length === expected.length && timingSafeEqual(p, expected)) matched = p;
    }
  }
  if (!matched) return { ok: false, reason: 'bad-signature' };
  return { ok: true, timestamp, replayKey: `${timestamp}:${matched.toString('hex')}` };
}

/**
 * Verifies a signed webhook ({@link checkWebhookSignature}) and refuses a signature `seen` before;
 * an accepted one is added to `seen`. For a replay store shared across processes, use
 * `checkWebhookSignature` and claim its `replayKey` there.
 */
export function verifyWebhook(
  secret: string | readonly string[],
  headers: WebhookHeaders,
  rawBody: string | Buffer,
  nowSeconds: number,
  seen: ReplayGuard,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): VerifyResult {
  const check = checkWebhookSignature(secret, headers, rawBody, nowSeconds, toleranceSeconds);
  if (!check.ok) return check;
  if (seen.has(check.replayKey)) return { ok: false, reason: 'replayed' };
  seen.add(check.replayKey);
  return { ok: true, timestamp: check.timestamp };
}

/**
 * An in-memory {@link ReplayGuard} that forgets keys after `ttlSeconds` (default twice the
 * tolerance, enough since older signatures are refused as stale anyway) and holds at most
 * `maxEntries`. Per process: several API replicas need a shared store (e.g. a unique key in
 * PostgreSQL) to refuse replays across replicas.
 */
export function createReplayCache(
  ttlSeconds = 2 * DEFAULT_TOLERANCE_SECONDS,
  maxEntries = 100_000,
  now: () => number = () => Date.now(),
): ReplayGuard & { readonly size: number } {
  const entries = new Map<string, number>();
  const prune = (): void => {
    const t = now();
    for (const [key, expires] of entries) {
      if (expires > t && entries.size <= maxEntries) break;
      entries.delete(key);
    }
  };
  return {
    has(key) {
      prune();
      const expires = entries.get(key);
      return expires !== undefined && expires > now();
    },
    add(key) {
      entries.delete(key);
      entries.set(key, now() + ttlSeconds * 1000);
      prune();
    },
    get size() {
      return entries.size;
    },
  };
}
