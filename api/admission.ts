/**
 * Admission of `POST /v1/messages` (the accept-time checks), called from its handler: country rules, OTP velocity,
 * price, `maxPrice` and the monthly spend cap (`admitSend`), and the dry run's read-only version of
 * the same decisions plus the route a send would take (`dryRunSend`). Refusals are HttpProblems
 * whose title gives the problem+json `type` (see docs/policy.md).
 */
import type { Pool } from 'pg';
import type { SubscriberTokens } from '../encryption/subscriber-token';
import type { Config } from '../config/config';
import type { ConfigCache } from '../db/config-cache';
import { pickSenderSlot } from '../db/sender-pick';
import {
  admitMessage,
  type AdmitInput,
  type SealedMessage,
  type StartFor,
  velocityCount,
} from '../db/admission';
import { findCharge, monthSpend } from '../db/charges';
import { loadPolicyRules } from '../db/policy';
import { eligibleCarriers } from '../domain/routing';
import {
  billingMonth,
  checkPrice,
  evaluateCountryRule,
  fromMicros,
  MAX_HOLD_WINDOWS,
  quote,
  windowStart,
  type OverLimit,
  type Quote,
} from '../domain/policy';
import type { Purpose } from '../domain/purposes';
import { HttpProblem } from './plugins/problem';
import type { RequestTiming } from './plugins/server-timing';

export interface AdmissionDeps {
  config: Config;
  db: Pool;
  /** Keeps the tenant's rules, prices and cap between requests (forgotten when they change). */
  cache: ConfigCache;
  /** The request's Server-Timing phases: `policy` (the reads) and `admit` (the writes). */
  timing?: RequestTiming;
}

const timed = <T>(deps: AdmissionDeps, name: string, fn: () => Promise<T>): Promise<T> =>
  deps.timing ? deps.timing.measure(name, fn) : fn();

/** The policy facts of one send request (no personal data). */
export interface SendFacts {
  messageId: string;
  tenant: string;
  /** The API key sending it (admission checks it is still live). */
  keyId: string;
  country: string;
  purpose: Purpose;
  segments: number;
  /** Micro-units. */
  maxPrice?: number;
  now: number;
  /** The id comes from an Idempotency-Key, so it may have been admitted before. */
  idempotent?: boolean;
  /** Keyed fingerprint of the request (encryption/request-fingerprint.ts), kept with the charge. */
  requestFingerprint?: string;
  /** What the message's status row needs besides the above (see `AdmitInput.record`). */
  record?: Omit<NonNullable<AdmitInput['record']>, 'acceptedAt'>;
  /** The number and text sealed under the region's key, stored in the admitting statement (not for dry runs). */
  sealed?: SealedMessage;
}

/** A refusal that a client can act on, as docs/policy.md documents them. */
export const AdmissionProblem = {
  countryBlocked: (country: string) =>
    new HttpProblem(
      422,
      'Country blocked',
      `messages to ${country} are blocked by this tenant's country rules`,
      ['to'],
    ),
  velocity: (country: string, retryAfterMs: number) =>
    Object.assign(
      new HttpProblem(
        429,
        'Velocity limit reached',
        `the OTP velocity limit for ${country} is reached; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
      ),
      { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) },
    ),
  priceUnknown: () =>
    new HttpProblem(
      422,
      'Price unknown',
      'no price is known for this destination and route, so a spend cap or maxPrice cannot be honoured',
      ['to'],
    ),
  maxPrice: (price: number, maxPrice: number) =>
    new HttpProblem(
      422,
      'Price above maxPrice',
      `the message would cost ${fromMicros(price)}, more than maxPrice ${fromMicros(maxPrice)}`,
      ['maxPrice'],
    ),
  spendCap: (spent: number, price: number, cap: number) =>
    new HttpProblem(
      422,
      'Spend cap reached',
      `the message would cost ${fromMicros(price)}; this month's spend is ${fromMicros(spent)} of a cap of ${fromMicros(cap)}`,
    ),
};

interface Evaluation {
  countryRule: 'allow' | 'monitor';
  velocity?: { limit: number; overLimit: OverLimit };
  carriers: string[];
  quote: Quote;
  cap?: number;
  spent: number;
  month: string;
}

/**
 * The checks that read only: country rule, route, price, maxPrice, cap. Throws the refusals. The
 * rules come from the configuration cache; the month's spend is read only when `spent` asks for it
 * (a dry run reports it): a real send checks the cap against the live spend in its admission
 * statement, so here only a price above the whole cap is refused early.
 */
async function evaluate(
  { config, db, cache }: AdmissionDeps,
  f: SendFacts,
  { spent: readSpent }: { spent: boolean },
): Promise<Evaluation> {
  const carriers = eligibleCarriers(config.carriers, f.country);
  const month = billingMonth(f.now);
  const [{ rule, prices, cap }, spent] = await Promise.all([
    cache.read(`policy:${f.tenant}|${f.country}|${carriers.join(',')}`, () =>
      loadPolicyRules(db, f.tenant, f.country, carriers),
    ),
    readSpent ? monthSpend(db, f.tenant, month) : 0,
  ]);
  const decision = evaluateCountryRule(rule, f.country, f.purpose);
  if (decision.kind === 'blocked') throw AdmissionProblem.countryBlocked(f.country);
  const q = quote(prices, f.tenant, carriers, f.country, f.segments);
  const refusal = checkPrice({ price: q.price, maxPrice: f.maxPrice, cap, spent });
  if (refusal?.kind === 'price_unknown') throw AdmissionProblem.priceUnknown();
  if (refusal?.kind === 'max_price_exceeded')
    throw AdmissionProblem.maxPrice(refusal.price, refusal.maxPrice);
  if (refusal?.kind === 'spend_cap_exceeded')
    throw AdmissionProblem.spendCap(refusal.spent, refusal.price, refusal.cap);
  return {
    countryRule: decision.action,
    velocity: decision.velocity,
    carriers,
    quote: q,
    cap,
    spent,
    month,
  };
}

/** What admission decided for an accepted message; goes into the workflow input. */
export interface Admission {
  countryRule: 'allow' | 'monitor';
  /** Epoch ms: the OTP waits (status `held`) until then; undefined = no hold. */
  holdUntil?: number;
  /** Micro-units; undefined = unpriced. */
  price?: number;
  /** False when the id was admitted before (a retried request). */
  fresh: boolean;
}

/**
 * Admits a real send: the read-only checks, then atomically (`admitMessage`) the velocity count (or
 * hold), the daily quota, the spend reservation and the workflow start `startFor` gives. Throws the
 * documented refusals.
 */
export async function admitSend(
  deps: AdmissionDeps,
  f: SendFacts,
  startFor: StartFor,
): Promise<Admission> {
  // A retried request (same Idempotency-Key) was admitted already: answer it as before.
  const earlier = f.idempotent ? await findCharge(deps.db, f.messageId) : undefined;
  if (earlier) return { countryRule: 'allow', price: earlier.price ?? undefined, fresh: false };
  const e = await timed(deps, 'policy', () => evaluate(deps, f, { spent: false }));
  const result = await timed(deps, 'admit', () =>
    admitMessage(
      deps.db,
      {
        messageId: f.messageId,
        tenant: f.tenant,
        keyId: f.keyId,
        requestFingerprint: f.requestFingerprint,
        month: e.month,
        country: f.country,
        purpose: f.purpose,
        segments: f.segments,
        carrier: e.quote.carrier,
        perSegment: e.quote.perSegment,
        price: e.quote.price,
        countryRule: e.countryRule,
        cap: e.cap,
        velocity: e.velocity && {
          ...e.velocity,
          windowMs: deps.config.sendingPolicy.velocityWindowMs,
          now: f.now,
        },
        quota: { defaultPerDay: deps.config.api.sendQuotaPerDay, now: new Date(f.now) },
        record: f.record && { ...f.record, acceptedAt: f.now },
        sealed: f.sealed,
      },
      startFor,
    ),
  );
  switch (result.kind) {
    case 'key_revoked':
      throw new HttpProblem(401, 'Unauthenticated', 'unknown, revoked or expired API key');
    case 'velocity_exceeded':
      throw AdmissionProblem.velocity(f.country, result.retryAfterMs);
    case 'spend_cap_exceeded':
      // Another send took the room between the read above and the reservation.
      throw AdmissionProblem.spendCap(
        await monthSpend(deps.db, f.tenant, e.month),
        e.quote.price ?? 0,
        e.cap ?? 0,
      );
    case 'quota_exceeded':
      throw new HttpProblem(
        429,
        'Send quota exceeded',
        `this tenant may send ${result.limit} messages per UTC day`,
        undefined,
        { 'retry-after': String(result.retryAfterSeconds) },
      );
    case 'duplicate':
      return { countryRule: e.countryRule, price: e.quote.price, fresh: false };
    case 'admitted':
      return {
        countryRule: e.countryRule,
        holdUntil: result.holdUntil,
        price: e.quote.price,
        fresh: true,
      };
  }
}

/** The decision a dry run returns. */
export interface DryRunDecision {
  countryRule: 'allow' | 'monitor';
  /** Epoch ms a real send would be held until (OTP velocity, hold mode). */
  holdUntil?: number;
  carriers: string[];
  quote: Quote;
  spent: number;
  cap?: number;
  sender?: { sender: string; poolId: string; strategy: 'lru' | 'sticky' };
}

/**
 * A dry run: the same checks and route as a real send, with nothing written — the velocity counter
 * is read, not counted; nothing is reserved; the sender pick is the real one, rolled back. The
 * subscriber token (for sticky pools) is the same HMAC the tokenize step derives, computed here in
 * memory only. Circuit breakers live in the workers, so a carrier a worker is skipping still shows.
 */
export async function dryRunSend(
  deps: AdmissionDeps & { tokens: Pick<SubscriberTokens, 'of'> },
  f: SendFacts & { to: string; campaign?: string; requestedSender?: string },
): Promise<DryRunDecision> {
  const e = await evaluate(deps, f, { spent: true });
  let holdUntil: number | undefined;
  if (e.velocity) {
    const windowMs = deps.config.sendingPolicy.velocityWindowMs;
    const windows = e.velocity.overLimit === 'hold' ? MAX_HOLD_WINDOWS : 1;
    let found: number | undefined;
    for (let k = 0; k < windows && found === undefined; k++) {
      const start = windowStart(f.now, windowMs, k);
      if ((await velocityCount(deps.db, f.tenant, f.country, start)) < e.velocity.limit) found = k;
    }
    if (found === undefined)
      throw AdmissionProblem.velocity(f.country, windowStart(f.now, windowMs, 1) - f.now);
    if (found > 0) holdUntil = windowStart(f.now, windowMs, found);
  }
  const subscriber = await deps.tokens.of(f.tenant, f.to);
  const picked = await pickSenderSlot(
    deps.db,
    {
      tenant: f.tenant,
      purpose: f.purpose,
      country: f.country,
      campaign: f.campaign,
      requestedSender: f.requestedSender,
      subscriber,
    },
    { dryRun: true },
  );
  return {
    countryRule: e.countryRule,
    holdUntil,
    carriers: e.carriers,
    quote: e.quote,
    spent: e.spent,
    cap: e.cap,
    sender: picked
      ? { sender: picked.number, poolId: picked.poolId, strategy: picked.strategy }
      : undefined,
  };
}

/** The JSON schema of a dry run's answer (200). */
export const dryRunSchema = {
  type: 'object',
  required: ['dryRun', 'decision', 'country', 'region', 'encoding', 'segments', 'route', 'price'],
  properties: {
    dryRun: { type: 'boolean', enum: [true] },
    decision: {
      type: 'string',
      enum: ['accept', 'hold'],
      description: 'What a real send would do now (refusals are answered as errors, as for a send)',
    },
    holdUntil: { type: 'string', format: 'date-time' },
    countryRule: { type: 'string', enum: ['allow', 'monitor'] },
    country: { type: 'string' },
    region: { type: 'string' },
    recipient: { type: 'string', description: 'Calling code and last two digits only' },
    encoding: { type: 'string', enum: ['GSM7', 'UCS2'] },
    segments: { type: 'integer' },
    route: {
      type: 'object',
      required: ['carriers'],
      properties: {
        pool: { type: 'string', nullable: true },
        sender: {
          type: 'string',
          nullable: true,
          description: 'Null: no eligible pool has an active number (a send would fail)',
        },
        strategy: { type: 'string', nullable: true },
        carrier: { type: 'string', nullable: true },
        carriers: { type: 'array', items: { type: 'string' }, description: 'Failover order' },
      },
    },
    price: {
      type: 'object',
      properties: {
        perSegment: { type: 'number', nullable: true },
        total: { type: 'number', nullable: true, description: 'segments × perSegment' },
      },
    },
    spend: {
      type: 'object',
      properties: {
        month: { type: 'string' },
        spent: { type: 'number' },
        cap: { type: 'number', nullable: true },
      },
    },
  },
} as const;

/** Runs a dry run and shapes its answer (`dryRunSchema`). */
export async function dryRunAnswer(
  deps: AdmissionDeps & { tokens: Pick<SubscriberTokens, 'of'> },
  f: SendFacts & { to: string; campaign?: string; requestedSender?: string },
  shown: { region: string; recipient: string; encoding: 'GSM7' | 'UCS2' },
) {
  const d = await dryRunSend(deps, f);
  const money = (m: number | undefined) => (m === undefined ? null : fromMicros(m));
  return {
    dryRun: true as const,
    decision: d.holdUntil === undefined ? 'accept' : 'hold',
    ...(d.holdUntil !== undefined && { holdUntil: new Date(d.holdUntil).toISOString() }),
    countryRule: d.countryRule,
    country: f.country,
    region: shown.region,
    recipient: shown.recipient,
    encoding: shown.encoding,
    segments: f.segments,
    route: {
      pool: d.sender?.poolId ?? null,
      sender: d.sender?.sender ?? null,
      strategy: d.sender?.strategy ?? null,
      carrier: d.quote.carrier ?? null,
      carriers: d.carriers,
    },
    price: { perSegment: money(d.quote.perSegment), total: money(d.quote.price) },
    spend: {
      month: billingMonth(f.now).slice(0, 7),
      spent: fromMicros(d.spent),
      cap: money(d.cap),
    },
  };
}
