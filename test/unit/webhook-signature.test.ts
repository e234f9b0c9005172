import { createHmac } from 'node:crypto';
import { createReplayCache, signWebhook, verifyWebhook } from '../../domain/webhook-signature';

const secret = 'whsec_test';
const body = JSON.stringify({ id: 'abc', status: 'delivered', doneAt: '2024-01-31T12:00:00.000Z' });
const now = 1_706_702_400;

function headersFor(ts: number, raw = body, key = secret): Record<string, string> {
  return { 'x-signature': signWebhook(key, ts, raw), 'x-timestamp': String(ts) };
}

describe('signWebhook', () => {
  it('is v1=hex HMAC-SHA256 over "<timestamp>.<body>"', () => {
    const expected = createHmac('sha256', secret).update(`${now}.${body}`).digest('hex');
    expect(signWebhook(secret, now, body)).toBe(`v1=${expected}`);
    expect(signWebhook(secret, now, Buffer.from(body))).toBe(`v1=${expected}`);
  });
});

describe('verifyWebhook', () => {
  it('accepts a fresh, correctly signed body once', () => {
    const seen = new Set<string>();
    expect(verifyWebhook(secret, headersFor(now), body, now + 10, seen)).toEqual({
      ok: true,
      timestamp: now,
    });
    expect(seen.size).toBe(1);
  });

  it('refuses a replay of the same delivery', () => {
    const seen = new Set<string>();
    const h = headersFor(now);
    expect(verifyWebhook(secret, h, body, now, seen).ok).toBe(true);
    expect(verifyWebhook(secret, h, body, now + 1, seen)).toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('refuses stale and far-future timestamps (5-minute window)', () => {
    const seen = new Set<string>();
    expect(verifyWebhook(secret, headersFor(now - 301), body, now, seen)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(verifyWebhook(secret, headersFor(now + 301), body, now, seen)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(verifyWebhook(secret, headersFor(now - 300), body, now, seen).ok).toBe(true);
    expect(seen.size).toBe(1);
  });

  it('refuses a tampered body, a wrong secret and a re-signed timestamp', () => {
    const seen = new Set<string>();
    const tampered = body.replace('delivered', 'expired');
    expect(verifyWebhook(secret, headersFor(now), tampered, now, seen)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifyWebhook(secret, headersFor(now, body, 'other'), body, now, seen)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    const moved = { ...headersFor(now), 'x-timestamp': String(now + 1) };
    expect(verifyWebhook(secret, moved, body, now, seen)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(seen.size).toBe(0);
  });

  it('refuses missing and malformed headers', () => {
    const seen = new Set<string>();
    expect(verifyWebhook(secret, {}, body, now, seen)).toEqual({
      ok: false,
      reason: 'missing-headers',
    });
    expect(
      verifyWebhook(
        secret,
        { 'x-signature': 'v1=zz', 'x-timestamp': String(now) },
        body,
        now,
        seen,
      ),
    ).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(
      verifyWebhook(secret, { ...headersFor(now), 'x-timestamp': '12a' }, body, now, seen),
    ).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('supports rotated secrets, several signatures, fetch Headers and mixed-case keys', () => {
    const seen = new Set<string>();
    const h = new Headers({
      'X-Signature': `v1=${'0'.repeat(64)}, ${signWebhook('new', now, body)}`,
      'X-Timestamp': String(now),
    });
    expect(verifyWebhook(['old', 'new'], h, Buffer.from(body), now, seen).ok).toBe(true);
    const mixed = {
      'X-Signature': signWebhook(secret, now + 1, body),
      'X-Timestamp': String(now + 1),
    };
    expect(verifyWebhook(secret, mixed, body, now, seen).ok).toBe(true);
  });
});

describe('createReplayCache', () => {
  it('forgets keys after the TTL and bounds its size', () => {
    let t = 0;
    const cache = createReplayCache(600, 3, () => t);
    cache.add('a');
    expect(cache.has('a')).toBe(true);
    t = 600_001;
    expect(cache.has('a')).toBe(false);
    for (const k of ['b', 'c', 'd', 'e']) cache.add(k);
    expect(cache.size).toBe(3);
    expect(cache.has('b')).toBe(false);
    expect(cache.has('e')).toBe(true);
  });

  it('works as the replay guard of verifyWebhook', () => {
    const cache = createReplayCache();
    const h = headersFor(now);
    expect(verifyWebhook(secret, h, body, now, cache).ok).toBe(true);
    expect(verifyWebhook(secret, h, body, now, cache)).toEqual({ ok: false, reason: 'replayed' });
  });
});
