/**
 * `sendMessageWorkflow` against stubbed activities on the time-skipping test server: every branch of
 * run() (retries, failover, receipts, timeout, cancel, callbacks) and a replay of a recorded history.
 * No Vault, PostgreSQL or carrier: the stubs are plain functions that record their inputs.
 */
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, type TypedSearchAttributes } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  Worker,
  type WorkflowBundle,
} from '@temporalio/worker';
import { ulid } from 'ulid';
import type {
  BookkeepingActivities,
  NotifyClientInput,
  RecordStatusInput,
} from '../../activities/bookkeeping/bookkeeping-activities';
import type {
  CarrierActivities,
  SubmitToCarrierInput,
  SubmitToCarrierResult,
} from '../../activities/carriers/carrier-activities';
import type {
  PickSenderInput,
  PickSenderResult,
  PoolActivities,
} from '../../activities/pools/pick-sender';
import type { PrivacyActivities } from '../../activities/privacy/privacy-activities';
import type {
  TokenizeMessageInput,
  VaultActivities,
} from '../../activities/vault/tokenize-message';
import type {
  ResolveReviewInput,
  ReviewActivities,
  ReviewPlan,
} from '../../activities/review/review-activities';
import { reviewDecisionSignal } from '../../workflows/review-signal';
import { messageWorkflowId, newMessageId } from '../../domain/ids';
import {
  cancelSignal,
  deliveryReceiptSignal,
  getStatusQuery,
  searchAttributes,
  type DeliveryReceiptSignal,
  type SendMessageInput,
} from '../../workflows/definitions';
import type { MessageStatus } from '../../domain/statuses';
import { ErrorType } from '../../domain/error-types';
import type { SendMessageOptions, sendMessageWorkflow } from '../../workflows/send-message';
import { timeSkippingServerPath, unique } from '../helpers/stack';

/** `temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD` (@temporalio/proto is not our dependency). */
const INDEXED_VALUE_TYPE_KEYWORD = 2;

const TO = '+447700900123';
const NATIONAL = '7700900123';
const CODE = '482913';
const BODY = `Your Acme verification code is ${CODE}. It expires in 10 minutes.`;
const SENDER = '+447700900555';

type Activities = VaultActivities &
  PoolActivities &
  CarrierActivities &
  BookkeepingActivities &
  Pick<PrivacyActivities, 'checkSuppression' | 'schedulePurge'> &
  Partial<ReviewActivities>;
type SubmitBehaviour = (
  input: SubmitToCarrierInput,
  attempt: number,
) => SubmitToCarrierResult | Promise<SubmitToCarrierResult>;

interface Calls {
  order: string[];
  tokenizeMessage: TokenizeMessageInput[];
  pickSender: PickSenderInput[];
  routeCarriers: { country: string }[];
  submitToCarrier: { input: SubmitToCarrierInput; attempt: number; ok: boolean }[];
  recordStatus: RecordStatusInput[];
  notifyClient: NotifyClientInput[];
}

interface StubOptions {
  carriers?: string[];
  submit?: SubmitBehaviour;
  pickSender?: (input: PickSenderInput) => Promise<PickSenderResult>;
  notifyClient?: (input: NotifyClientInput) => Promise<void>;
}

const oneId: SubmitBehaviour = (input) => ({
  carrierMessageIds: [`${input.carrier}-${input.messageId}-0`],
  parts: 1,
  encoding: 'GSM7',
});

const picked = (notBefore = 0, waitMs = 0): PickSenderResult => ({
  sender: SENDER,
  poolId: 'pool_otp_gb',
  numberId: 'num_1',
  strategy: 'lru',
  notBefore,
  waitMs,
});

/** Plain-function activities that record what they were given, in the order they ran. */
function stubActivities(opts: StubOptions = {}): { activities: Activities; calls: Calls } {
  const calls: Calls = {
    order: [],
    tokenizeMessage: [],
    pickSender: [],
    routeCarriers: [],
    submitToCarrier: [],
    recordStatus: [],
    notifyClient: [],
  };
  const submit = opts.submit ?? oneId;
  const activities: Activities = {
    async tokenizeMessage(input) {
      calls.order.push('tokenizeMessage');
      calls.tokenizeMessage.push(input);
      return { stored: true };
    },
    async pickSender(input) {
      calls.order.push('pickSender');
      calls.pickSender.push(input);
      return opts.pickSender ? opts.pickSender(input) : picked();
    },
    async routeCarriers(input) {
      calls.order.push('routeCarriers');
      calls.routeCarriers.push(input);
      return { carriers: opts.carriers ?? ['alpha', 'beta'] };
    },
    async submitToCarrier(input) {
      calls.order.push('submitToCarrier');
      const attempt = Context.current().info.attempt;
      const call = { input, attempt, ok: false };
      calls.submitToCarrier.push(call);
      const result = await submit(input, attempt);
      call.ok = true;
      return result;
    },
    async recordStatus(input) {
      calls.order.push('recordStatus');
      calls.recordStatus.push(input);
    },
    async notifyClient(input) {
      calls.order.push('notifyClient');
      calls.notifyClient.push(input);
      if (opts.notifyClient) await opts.notifyClient(input);
    },
    async checkSuppression() {
      calls.order.push('checkSuppression');
      return { suppressed: false };
    },
    async schedulePurge(input) {
      calls.order.push('schedulePurge');
      return { purgeAfter: input.finishedAt + 86_400_000 };
    },
  };
  return { activities, calls };
}

/** The carrier of the one submit that succeeded. */
function successfulCarrier(calls: Calls): string {
  const ok = calls.submitToCarrier.filter((c) => c.ok);
  expect(ok).toHaveLength(1);
  return ok[0]!.input.carrier;
}

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  // The stubs' failures and the workflow's own `log.warn` lines are expected; other SDK and core warnings are shown.
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (
        entry.meta?.sdkComponent === 'workflow' ||
        entry.message === 'Activity failed' ||
        /heartbeat details/.test(entry.message)
      )
        return;
      console.warn(`[${entry.level}] ${entry.message}`, entry.meta ?? '');
    }),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
    },
  });
  const [testEnv, bundle] = await Promise.all([
    TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: timeSkippingServerPath } },
    }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      logger: new DefaultLogger('WARN'),
    }),
  ]);
  env = testEnv;
  workflowBundle = bundle;
  // The test server knows none of our search attributes; upserting an unknown one fails every workflow task.
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(
      Object.values(searchAttributes).map((k) => [k.name, INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
}, 90_000);

afterAll(async () => {
  await env?.teardown();
});

function newInput(overrides: Partial<SendMessageInput> = {}): SendMessageInput {
  return {
    messageId: newMessageId(ulid),
    tenant: 'tenant_acme',
    purpose: 'otp',
    region: 'global',
    country: 'GB',
    recipientHint: '+44••••••••23',
    encoding: 'GSM7',
    segments: 1,
    acceptedAt: Date.now(),
    to: TO,
    body: BODY,
    ...overrides,
  };
}

type Handle = WorkflowHandle<typeof sendMessageWorkflow>;
interface Run {
  start(input?: Partial<SendMessageInput>, options?: SendMessageOptions): Promise<Handle>;
}

/** Runs `fn` with a worker of the stubs on a task queue of its own. */
async function withWorker<T>(activities: Activities, fn: (run: Run) => Promise<T>): Promise<T> {
  const taskQueue = unique('wf-send');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities,
  });
  const run: Run = {
    start: (overrides = {}, options = {}) => {
      const input = newInput(overrides);
      return env.client.workflow.start<typeof sendMessageWorkflow>('sendMessageWorkflow', {
        taskQueue,
        workflowId: messageWorkflowId(input.messageId),
        args: [input, options],
        // As the API starts it (api/routes/messages.ts).
        typedSearchAttributes: [
          { key: searchAttributes.status, value: 'accepted' },
          { key: searchAttributes.tenant, value: input.tenant },
          { key: searchAttributes.purpose, value: input.purpose },
          { key: searchAttributes.country, value: input.country },
          { key: searchAttributes.region, value: input.region },
        ],
      });
    },
  };
  return worker.runUntil(fn(run));
}

/** Polls the status query (real time; time skipping stays locked while no result is awaited). */
async function waitForStatus(
  handle: Handle,
  status: MessageStatus,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await handle.query(getStatusQuery);
    if (view.status === status) return;
    if (Date.now() > deadline) throw new Error(`status stayed ${view.status}, expected ${status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the workflow has handled everything sent to it: no workflow task scheduled after the last completed one. */
async function waitIdle(handle: Handle, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = (await handle.fetchHistory()).events ?? [];
    const completed = events.findLastIndex((e) => e.workflowTaskCompletedEventAttributes);
    const scheduled = events.findLastIndex((e) => e.workflowTaskScheduledEventAttributes);
    if (completed >= 0 && completed > scheduled) return;
    if (Date.now() > deadline) throw new Error('the workflow did not settle');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const receipt = (
  carrier: string,
  carrierMessageId: string,
  status: DeliveryReceiptSignal['status'] = 'delivered',
  errorCode?: string,
): DeliveryReceiptSignal => ({
  carrier,
  carrierMessageId,
  status,
  errorCode,
  doneAt: new Date().toISOString(),
});

/** Once the workflow reports `submitted`, signals a receipt for every part of the successful submit. */
async function receiptsForAll(
  handle: Handle,
  calls: Calls,
  results: Map<string, SubmitToCarrierResult>,
  status: DeliveryReceiptSignal['status'] = 'delivered',
  errorCode?: string,
) {
  await waitForStatus(handle, 'submitted');
  const carrier = successfulCarrier(calls);
  for (const id of results.get(carrier)!.carrierMessageIds)
    await handle.signal(deliveryReceiptSignal, receipt(carrier, id, status, errorCode));
}

/** A submit behaviour that remembers what it returned per carrier. */
function remembering(behaviour: SubmitBehaviour = oneId): {
  submit: SubmitBehaviour;
  results: Map<string, SubmitToCarrierResult>;
} {
  const results = new Map<string, SubmitToCarrierResult>();
  return {
    results,
    submit: async (input, attempt) => {
      const result = await behaviour(input, attempt);
      results.set(input.carrier, result);
      return result;
    },
  };
}

const containsPersonalData = (value: unknown) => {
  const json = JSON.stringify(value);
  return json.includes(NATIONAL) || json.includes(CODE) || json.includes(BODY);
};

// First in the file: a time-skipping server that earlier tests advanced would skip the holds.
describe('sendMessageWorkflow: sending policy (velocity hold, spend release)', () => {
  /** The stubs plus `releaseCharge`, recording the ids it released. */
  function withRelease(activities: Activities, calls: Calls) {
    const released: string[] = [];
    const all = {
      ...activities,
      async releaseCharge({ messageId }: { messageId: string }) {
        calls.order.push('releaseCharge');
        released.push(messageId);
        return { released: true };
      },
    };
    return { all, released };
  }

  test('cancelled while held → cancelled, never routed, its reservation released once', async () => {
    const { activities, calls } = stubActivities();
    const { all, released } = withRelease(activities, calls);
    await withWorker(all as Activities, async (run) => {
      const handle = await run.start({
        policy: { holdUntil: Date.now() + 3_600_000, charged: true },
      });
      await waitForStatus(handle, 'held');
      await handle.signal(cancelSignal, { reason: 'client' });
      expect(await handle.result()).toMatchObject({ status: 'cancelled' });
      expect(calls.pickSender).toEqual([]);
      expect(calls.submitToCarrier).toEqual([]);
      expect(released).toEqual([handle.workflowId]);
    });
  });

  test('a held OTP shows `held`, waits durably until its window, then is routed and billed', async () => {
    const { activities, calls } = stubActivities();
    const { all, released } = withRelease(activities, calls);
    await withWorker(all as Activities, async (run) => {
      // The test server's clock runs ahead of the wall clock once earlier tests skipped time.
      const holdUntil = (await env.currentTimeMs()) + 30 * 86_400_000;
      const handle = await run.start(
        { policy: { holdUntil, charged: true } },
        { receiptTimeoutSeconds: 60 },
      );
      await waitForStatus(handle, 'held');
      const view = await handle.query(getStatusQuery);
      expect(view.history.map((e) => e.status)).toEqual(['accepted', 'tokenized', 'held']);
      const described = await handle.describe();
      expect(described.typedSearchAttributes.get(searchAttributes.status)).toBe('held');
      // No receipt comes: the time-skipped wait ends `unconfirmed`, a billed status.
      expect((await handle.result()).status).toBe('unconfirmed');
      const order = calls.order.filter((c) => c !== 'notifyClient');
      expect(order.slice(0, 4)).toEqual([
        'tokenizeMessage',
        'checkSuppression',
        'recordStatus',
        'pickSender',
      ]);
      expect(calls.recordStatus[0]).toMatchObject({ status: 'held', final: false });
      expect(released).toEqual([]);
    });
  });

  test('failed before any submit → the reservation is released; without a charge nothing is', async () => {
    for (const charged of [true, false]) {
      const { activities, calls } = stubActivities({
        pickSender: async () => {
          throw ApplicationFailure.nonRetryable('none', ErrorType.NO_SENDER_AVAILABLE);
        },
      });
      const { all, released } = withRelease(activities, calls);
      await withWorker(all as Activities, async (run) => {
        const handle = await run.start(charged ? { policy: { charged } } : {});
        expect((await handle.result()).status).toBe('failed');
        expect(released).toEqual(charged ? [handle.workflowId] : []);
      });
    }
  });
});

describe('sendMessageWorkflow', () => {
  let happyHistory: Awaited<ReturnType<Handle['fetchHistory']>> | undefined;

  test('happy path: tokenize, pick, route (local activities), submit, receipts → delivered; nothing personal after tokenize', async () => {
    const { submit, results } = remembering();
    const { activities, calls } = stubActivities({ submit, carriers: ['alpha', 'beta'] });
    await withWorker(activities, async (run) => {
      const handle = await run.start();
      await receiptsForAll(handle, calls, results);
      expect(await handle.result()).toEqual({ status: 'delivered', carrier: 'alpha' });

      const view = await handle.query(getStatusQuery);
      expect(view.history.map((e) => e.status)).toEqual([
        'accepted',
        'tokenized',
        'routed',
        'submitted',
        'delivered',
      ]);
      expect(view).toMatchObject({ sender: SENDER, carrier: 'alpha', attempts: 1 });
      expect(containsPersonalData(view)).toBe(false);

      const sa: TypedSearchAttributes = (await handle.describe()).typedSearchAttributes;
      expect(sa.get(searchAttributes.status)).toBe('delivered');
      expect(sa.get(searchAttributes.carrier)).toBe('alpha');
      expect(sa.get(searchAttributes.tenant)).toBe('tenant_acme');

      happyHistory = await handle.fetchHistory();
    });

    expect(calls.order).toEqual([
      'tokenizeMessage',
      'checkSuppression',
      'pickSender',
      'routeCarriers',
      'submitToCarrier',
      'recordStatus',
      'schedulePurge',
    ]);
    // tokenize is the one step that sees the number and the body...
    expect(calls.tokenizeMessage).toEqual([
      expect.objectContaining({ to: TO, body: BODY, tenant: 'tenant_acme', region: 'global' }),
    ]);
    // ...and nothing after it does.
    for (const input of [
      ...calls.pickSender,
      ...calls.routeCarriers,
      ...calls.submitToCarrier.map((c) => c.input),
      ...calls.recordStatus,
    ]) {
      expect(input).not.toHaveProperty('to');
      expect(input).not.toHaveProperty('body');
      expect(containsPersonalData(input)).toBe(false);
    }
    // No activity input carries a subscriber token: the activities read it by message id.
    expect(JSON.stringify(calls)).not.toMatch(/subscriberToken|vault:v\d|st\d+_/);
    expect(calls.pickSender[0]).toMatchObject({
      messageId: expect.any(String),
      tenant: 'tenant_acme',
      country: 'GB',
      purpose: 'otp',
    });
    expect(calls.submitToCarrier[0]).toMatchObject({
      input: { carrier: 'alpha', sender: SENDER },
      attempt: 1,
    });
    expect(calls.recordStatus).toEqual([
      expect.objectContaining({ status: 'delivered', carrier: 'alpha', final: true }),
    ]);
    expect(calls.notifyClient).toHaveLength(0); // no callbackUrl

    // The carrier submit is the one activity task; the bookkeeping ran as local activities (markers).
    const events = happyHistory!.events ?? [];
    const scheduled = events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes
        ? [e.activityTaskScheduledEventAttributes.activityType?.name]
        : [],
    );
    expect(scheduled).toEqual(['submitToCarrier']);
    expect(events.filter((e) => e.markerRecordedEventAttributes)).toHaveLength(6);
  });

  test('replay: the happy-path history replays against the current bundle', async () => {
    expect(happyHistory).toBeDefined();
    await expect(
      Worker.runReplayHistory({ workflowBundle }, happyHistory!),
    ).resolves.toBeUndefined();
  });

  test('transient carrier errors are retried on the same carrier: 3 attempts, then delivered', async () => {
    const { submit, results } = remembering((input, attempt) => {
      if (attempt < 3)
        throw ApplicationFailure.retryable('alpha: connection reset', ErrorType.CARRIER_TRANSIENT);
      return oneId(input, attempt);
    });
    const { activities, calls } = stubActivities({ submit });
    await withWorker(activities, async (run) => {
      const handle = await run.start();
      await receiptsForAll(handle, calls, results);
      expect(await handle.result()).toEqual({ status: 'delivered', carrier: 'alpha' });
    });
    expect(calls.submitToCarrier.map((c) => [c.input.carrier, c.attempt])).toEqual([
      ['alpha', 1],
      ['alpha', 2],
      ['alpha', 3],
    ]);
  });

  test.each([ErrorType.CARRIER_PERMANENT, ErrorType.CARRIER_UNAVAILABLE])(
    '%s on the first carrier fails over at once to the second',
    async (type) => {
      const { submit, results } = remembering((input, attempt) => {
        if (input.carrier === 'alpha')
          throw ApplicationFailure.nonRetryable(`alpha refused the message`, type);
        return oneId(input, attempt);
      });
      const { activities, calls } = stubActivities({ submit, carriers: ['alpha', 'beta'] });
      await withWorker(activities, async (run) => {
        const handle = await run.start();
        await receiptsForAll(handle, calls, results);
        expect(await handle.result()).toEqual({ status: 'delivered', carrier: 'beta' });
        expect((await handle.query(getStatusQuery)).attempts).toBe(2);
      });
      expect(calls.submitToCarrier.map((c) => [c.input.carrier, c.attempt])).toEqual([
        ['alpha', 1],
        ['beta', 1],
      ]);
      expect(calls.recordStatus).toEqual([
        expect.objectContaining({ status: 'delivered', carrier: 'beta', final: true }),
      ]);
    },
  );

  test('every carrier refuses the message for good → failed with the last error type', async () => {
    const { activities, calls } = stubActivities({
      carriers: ['alpha', 'beta'],
      submit: (input) => {
        throw ApplicationFailure.nonRetryable(
          `${input.carrier}: invalid destination`,
          ErrorType.CARRIER_PERMANENT,
        );
      },
    });
    await withWorker(activities, async (run) => {
      const handle = await run.start({
        acceptedAt: await env.currentTimeMs(),
        validitySeconds: 300,
      });
      expect(await handle.result()).toEqual({
        status: 'failed',
        reason: ErrorType.CARRIER_PERMANENT,
      });
    });
    expect(calls.submitToCarrier.map((c) => c.input.carrier)).toEqual(['alpha', 'beta']);
    expect(calls.recordStatus).toEqual([
      expect.objectContaining({
        status: 'failed',
        reason: ErrorType.CARRIER_PERMANENT,
        final: true,
      }),
    ]);
  });

  test('exhausted transient retries fail over; when no carrier can take it now, the message waits and is sent when one is back', async () => {
    let alphaBack = false;
    const { submit, results } = remembering((input, attempt) => {
      if (input.carrier === 'beta')
        throw ApplicationFailure.nonRetryable(
          'beta: invalid destination',
          ErrorType.CARRIER_PERMANENT,
        );
      if (!alphaBack) {
        if (attempt === 6) alphaBack = calls.submitToCarrier.length > 12;
        throw ApplicationFailure.retryable('alpha: timeout', ErrorType.CARRIER_TRANSIENT);
      }
      return oneId(input, attempt);
    });
    const { activities, calls } = stubActivities({ carriers: ['alpha', 'beta'], submit });
    await withWorker(activities, async (run) => {
      const handle = await run.start({
        acceptedAt: await env.currentTimeMs(),
        validitySeconds: 3600,
      });
      // Status polling holds time still; let the retries and the wait pass in test time.
      await env.sleep(120_000);
      await receiptsForAll(handle, calls, results);
      expect(await handle.result()).toEqual({ status: 'delivered', carrier: 'alpha' });
    });
    // Round 1: alpha's 6 attempts, then beta once (refused for good, never tried again); round 2:
    // alpha's 6 attempts; round 3: alpha takes it.
    expect(calls.submitToCarrier.map((c) => [c.input.carrier, c.attempt])).toEqual([
      ...[1, 2, 3, 4, 5, 6].map((a) => ['alpha', a]),
      ['beta', 1],
      ...[1, 2, 3, 4, 5, 6].map((a) => ['alpha', a]),
      ['alpha', 1],
    ]);
  });

  test('the only carrier unavailable (a 20 s outage): the message waits within its validity, then is delivered', async () => {
    const outageEnds = (await env.currentTimeMs()) + 20_000;
    const { submit, results } = remembering(async (input, attempt) => {
      if ((await env.currentTimeMs()) < outageEnds)
        throw ApplicationFailure.nonRetryable('alpha: not bound', ErrorType.CARRIER_UNAVAILABLE);
      return oneId(input, attempt);
    });
    const { activities, calls } = stubActivities({ carriers: ['alpha'], submit });
    await withWorker(activities, async (run) => {
      const handle = await run.start({
        acceptedAt: await env.currentTimeMs(),
        validitySeconds: 300,
      });
      await env.sleep(60_000);
      await receiptsForAll(handle, calls, results);
      expect(await handle.result()).toEqual({ status: 'delivered', carrier: 'alpha' });
    });
    const tries = calls.submitToCarrier.length;
    // Backoff 1, 2, 4, 8, 16 s (±20 %): a handful of tries, not one per second and not a failure.
    expect(tries).toBeGreaterThanOrEqual(3);
    expect(tries).toBeLessThanOrEqual(7);
  });

  test('a circuit breaker asking to wait is honoured; still unavailable at the end of the validity → expired, never failed', async () => {
    const { activities, calls } = stubActivities({
      carriers: ['alpha'],
      submit: () => {
        throw ApplicationFailure.create({
          message: 'alpha: circuit open',
          type: ErrorType.CARRIER_UNAVAILABLE,
          nonRetryable: true,
          details: [{ commandStatus: null, retryAfterMs: 30_000, ackedParts: {}, parts: 0 }],
        });
      },
    });
    await withWorker(activities, async (run) => {
      const handle = await run.start({
        acceptedAt: await env.currentTimeMs(),
        validitySeconds: 100,
      });
      expect(await handle.result()).toMatchObject({
        status: 'expired',
        reason: 'validity_elapsed',
      });
    });
    // Waits of at least 24 s (30 s − 20 % jitter) within 100 s: at most 5 tries.
    expect(calls.submitToCarrier.length).toBeGreaterThanOrEqual(2);
    expect(calls.submitToCarrier.length).toBeLessThanOrEqual(5);
  });

  test('a partial send is reported (carrier, parts) and ends undelivered when the validity cuts the rest', async () => {
    const { activities, calls } = stubActivities({
      carriers: ['alpha', 'beta'],
      submit: () => {
        throw ApplicationFailure.create({
          message: 'alpha: validity ended',
          type: ErrorType.VALIDITY_EXPIRED,
          nonRetryable: true,
          details: [{ commandStatus: null, ackedParts: { 0: 'a-0', 1: 'a-1' }, parts: 3 }],
        });
      },
    });
    await withWorker(activities, async (run) => {
      const handle = await run.start({
        acceptedAt: await env.currentTimeMs(),
        segments: 3,
        validitySeconds: 60,
      });
      await waitForStatus(handle, 'submitted');
      const view = await handle.query(getStatusQuery);
      expect(view.carrier).toBe('alpha');
      expect(view.history.at(-1)?.detail).toMatch(/^2 of 3 part\(s\)/);
      await handle.signal(deliveryReceiptSignal, receipt('alpha', 'a-0'));
      await handle.signal(deliveryReceiptSignal, receipt('alpha', 'a-1'));
      expect(await handle.result()).toEqual({
        status: 'undelivered',
        carrier: 'alpha',
        reason: 'partial_send:2/3',
      });
    });
    // Parts on alpha pin the message to alpha: beta never sends the whole message again.
    expect(calls.submitToCarrier.map((c) => c.input.carrier)).toEqual(['alpha']);
  });

  test('MESSAGE_PURGED stops the failover: no other carrier is tried', async () => {
    const { activities, calls } = stubActivities({
      carriers: ['alpha', 'beta'],
      submit: () => {
        throw ApplicationFailure.nonRetryable(
          'the message has no personal data left to send',
          ErrorType.MESSAGE_PURGED,
        );
      },
    });
    await withWorker(activities, async (run) => {
      expect(await (await run.start()).result()).toEqual({
        status: 'failed',
        reason: ErrorType.MESSAGE_PURGED,
      });
    });
    expect(calls.submitToCarrier.map((c) => c.input.carrier)).toEqual(['alpha']);
  });

  test('no receipt within receiptTimeoutSeconds → unconfirmed (receipt_timeout), by time skipping', async () => {
    const { activities, calls } = stubActivities();
    await withWorker(activities, async (run) => {
      const handle = await run.start({}, { receiptTimeoutSeconds: 3600 });
      await waitForStatus(handle, 'submitted');
      const before = await env.currentTimeMs();
      expect(await handle.result()).toEqual({
        status: 'unconfirmed',
        carrier: 'alpha',
        reason: 'receipt_timeout',
      });
      expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(3600_000 - 5_000);
    });
    expect(calls.recordStatus).toEqual([
      expect.objectContaining({ status: 'unconfirmed', reason: 'receipt_timeout', final: true }),
    ]);
  });

  test('an undeliverable receipt → undelivered with the carrier error code', async () => {
    const { submit, results } = remembering();
    const { activities, calls } = stubActivities({ submit });
    await withWorker(activities, async (run) => {
      const handle = await run.start();
      await receiptsForAll(handle, calls, results, 'undeliverable', '001');
      expect(await handle.result()).toEqual({
        status: 'undelivered',
        carrier: 'alpha',
        reason: 'undeliverable:001',
      });
    });
    expect(calls.recordStatus).toEqual([
      expect.objectContaining({ status: 'undelivered', reason: 'undeliverable:001', final: true }),
    ]);
  });

  test('multi-part: waits for a final receipt of every part', async () => {
    const ids = ['mp-0', 'mp-1', 'mp-2'];
    const { activities } = stubActivities({
      submit: () => ({ carrierMessageIds: ids, parts: 3, encoding: 'GSM7' }),
    });
    await withWorker(activities, async (run) => {
      const handle = await run.start({ segments: 3 });
      await waitForStatus(handle, 'submitted');
      await handle.signal(deliveryReceiptSignal, receipt('alpha', ids[0]!));
      await handle.signal(deliveryReceiptSignal, receipt('alpha', ids[1]!));
      await handle.signal(deliveryReceiptSignal, receipt('alpha', ids[2]!, 'accepted')); // intermediate, not final
      await waitIdle(handle);
      expect((await handle.query(getStatusQuery)).status).toBe('submitted');
      expect((await handle.describe()).status.name).toBe('RUNNING');

      await handle.signal(deliveryReceiptSignal, receipt('alpha', ids[2]!));
      expect(await handle.result()).toEqual({ status: 'delivered', carrier: 'alpha' });
    });
  });

  test('a late intermediate receipt does not undo a final one (expected: delivered)', async () => {
    // Receipts are not ordered: an ENROUTE (`accepted`) report can arrive after the DELIVRD of the same part
    // (HTTP webhook retries, several SMPP binds). The workflow must keep the final status of each part.
    // FAILS until workflows/send-message.ts keeps a final receipt over a later non-final one (deliveryReceiptSignal handler).
    const ids = ['late-0', 'late-1'];
    const { activities, calls } = stubActivities({
      submit: () => ({ carrierMessageIds: ids, parts: 2, encoding: 'GSM7' }),
    });
    await withWorker(activities, async (run) => {
      const handle = await run.start({ segments: 2 }, { receiptTimeoutSeconds: 600 });
      await waitForStatus(handle, 'submitted');
      await handle.signal(deliveryReceiptSignal, receipt('alpha', ids[0]!, 'delivered'));
      await waitIdle(handle);
      await handle.signal(deliveryReceiptSignal, receipt('alpha', ids[0]!, 'accepted')); // late, out of order
      await waitIdle(handle);
      await handle.signal(deliveryReceiptSignal, receipt('alpha', ids[1]!, 'delivered'));
      expect(await handle.result()).toEqual({ status: 'delivered', carrier: 'alpha' });
    });
    expect(calls.recordStatus).toEqual([
      expect.objectContaining({ status: 'delivered', final: true }),
    ]);
  });

  test('cancel while waiting for the send slot → cancelled, nothing submitted', async () => {
    const { activities, calls } = stubActivities({
      pickSender: async () => picked((await env.currentTimeMs()) + 3600_000, 3600_000),
    });
    await withWorker(activities, async (run) => {
      const handle = await run.start();
      await waitForStatus(handle, 'routed');
      await waitIdle(handle);
      await handle.signal(cancelSignal, { reason: 'user_request' });
      expect(await handle.result()).toEqual({ status: 'cancelled', reason: 'cancelled_by_client' });
    });
    expect(calls.submitToCarrier).toHaveLength(0);
    expect(calls.recordStatus).toEqual([
      expect.objectContaining({ status: 'cancelled', final: true }),
    ]);
  });

  test('cancel after submit is ignored: still delivered', async () => {
    const { submit, results } = remembering();
    const { activities, calls } = stubActivities({ submit });
    await withWorker(activities, async (run) => {
      const handle = await run.start();
      await waitForStatus(handle, 'submitted');
      await handle.signal(cancelSignal, {});
      await waitIdle(handle);
      expect((await handle.query(getStatusQuery)).status).toBe('submitted');
      await receiptsForAll(handle, calls, results);
      expect(await handle.result()).toEqual({ status: 'delivered', carrier: 'alpha' });
    });
  });

  test('NO_SENDER_AVAILABLE from pickSender → failed, no route, no submit', async () => {
    const { activities, calls } = stubActivities({
      pickSender: async () => {
        throw ApplicationFailure.nonRetryable('no sender available', ErrorType.NO_SENDER_AVAILABLE);
      },
    });
    await withWorker(activities, async (run) => {
      expect(await (await run.start()).result()).toEqual({
        status: 'failed',
        reason: ErrorType.NO_SENDER_AVAILABLE,
      });
    });
    expect(calls.pickSender).toHaveLength(1); // non-retryable under the bookkeeping preset
    expect(calls.routeCarriers).toHaveLength(0);
    expect(calls.submitToCarrier).toHaveLength(0);
    expect(calls.recordStatus).toEqual([
      expect.objectContaining({
        status: 'failed',
        reason: ErrorType.NO_SENDER_AVAILABLE,
        final: true,
      }),
    ]);
  });

  test('status callback: notifyClient once with the final status', async () => {
    const callbackUrl = 'https://hooks.acme.example/sms/status';
    const { submit, results } = remembering();
    const { activities, calls } = stubActivities({ submit });
    await withWorker(activities, async (run) => {
      const handle = await run.start({ callbackUrl });
      await receiptsForAll(handle, calls, results);
      expect(await handle.result()).toEqual({ status: 'delivered', carrier: 'alpha' });
    });
    expect(calls.notifyClient).toEqual([
      expect.objectContaining({
        callbackUrl,
        status: 'delivered',
        messageId: calls.recordStatus[0]!.messageId,
      }),
    ]);
    expect(containsPersonalData(calls.notifyClient)).toBe(false);
    expect(calls.order.slice(-3)).toEqual(['recordStatus', 'notifyClient', 'schedulePurge']);
  });

  test('status callback rejected (CALLBACK_REJECTED) → the workflow still completes with its status', async () => {
    const { activities, calls } = stubActivities({
      pickSender: async () => {
        throw ApplicationFailure.nonRetryable('no sender available', ErrorType.NO_SENDER_AVAILABLE);
      },
      notifyClient: async () => {
        throw ApplicationFailure.nonRetryable('callback answered 410', ErrorType.CALLBACK_REJECTED);
      },
    });
    await withWorker(activities, async (run) => {
      const handle = await run.start({ callbackUrl: 'https://hooks.acme.example/sms/gone' });
      expect(await handle.result()).toEqual({
        status: 'failed',
        reason: ErrorType.NO_SENDER_AVAILABLE,
      });
    });
    expect(calls.notifyClient).toHaveLength(1);
    expect(calls.notifyClient[0]).toMatchObject({
      status: 'failed',
      reason: ErrorType.NO_SENDER_AVAILABLE,
    });
  });
});

describe('sending controls', () => {
  const DAY = 86_400_000;

  test('a send scheduled 30 days ahead waits durably (time skipping), then dispatches', async () => {
    const { activities, calls } = stubActivities();
    await withWorker(activities, async (run) => {
      // The test server's clock, which earlier tests have skipped ahead of the real one.
      const sendAt = (await env.currentTimeMs()) + 30 * DAY;
      const handle = await run.start({ sendAt }, { receiptTimeoutSeconds: 60 });
      await waitForStatus(handle, 'scheduled');
      expect(calls.submitToCarrier).toEqual([]);
      // Awaiting the result lets the test server skip the 30 days (and then the receipt timeout).
      expect(await handle.result()).toMatchObject({ status: 'unconfirmed', carrier: 'alpha' });
      const view = await handle.query(getStatusQuery);
      expect(view.history.map((e) => e.status)).toEqual([
        'accepted',
        'tokenized',
        'scheduled',
        'routed',
        'submitted',
        'unconfirmed',
      ]);
      const routedAt = Date.parse(view.history.find((e) => e.status === 'routed')!.at);
      expect(routedAt).toBeGreaterThanOrEqual(sendAt);
    });
    expect(calls.recordStatus[0]).toMatchObject({ status: 'scheduled', final: false });
    expect(calls.submitToCarrier).toHaveLength(1);
  });

  test('a scheduled send cancelled during its wait is never dispatched', async () => {
    const { activities, calls } = stubActivities();
    await withWorker(activities, async (run) => {
      const handle = await run.start({ sendAt: (await env.currentTimeMs()) + 30 * DAY });
      await waitForStatus(handle, 'scheduled');
      await handle.signal(cancelSignal, { reason: 'client' });
      expect(await handle.result()).toMatchObject({
        status: 'cancelled',
        reason: 'cancelled_by_client',
      });
    });
    expect(calls.pickSender).toEqual([]);
    expect(calls.submitToCarrier).toEqual([]);
  });

  test('a carrier throttling past the validity: no retry after the deadline, ends expired', async () => {
    const { activities, calls } = stubActivities({
      submit: () => {
        throw ApplicationFailure.create({
          message: 'alpha: throttled',
          type: ErrorType.CARRIER_THROTTLED,
          nextRetryDelay: '5s',
        });
      },
    });
    const acceptedAt = await env.currentTimeMs();
    await withWorker(activities, async (run) => {
      const handle = await run.start({ acceptedAt, validitySeconds: 12 });
      expect(await handle.result()).toMatchObject({
        status: 'expired',
        reason: 'validity_elapsed',
      });
    });
    expect(calls.submitToCarrier.length).toBeGreaterThan(0);
    // 5 s apart within 12 s: at most 3 tries, all told the deadline.
    expect(calls.submitToCarrier.length).toBeLessThanOrEqual(3);
    for (const c of calls.submitToCarrier) expect(c.input.notAfter).toBe(acceptedAt + 12_000);
  });

  test('a failed receipt with a routable code re-dispatches through the next carrier, once', async () => {
    const { activities, calls } = stubActivities({ carriers: ['alpha', 'beta', 'gamma'] });
    await withWorker(activities, async (run) => {
      const handle = await run.start(
        {},
        { receiptFailover: { errorCodes: ['12'], maxRedispatches: 1 } },
      );
      await waitForStatus(handle, 'submitted');
      const first = calls.submitToCarrier[0]!.input;
      await handle.signal(
        deliveryReceiptSignal,
        receipt('alpha', `alpha-${first.messageId}-0`, 'undeliverable', '012'),
      );
      for (let i = 0; i < 200 && calls.submitToCarrier.length < 2; i++)
        await new Promise((r) => setTimeout(r, 50));
      await waitForStatus(handle, 'submitted');
      await handle.signal(
        deliveryReceiptSignal,
        receipt('beta', `beta-${first.messageId}-0`, 'undeliverable', '012'),
      );
      // The limit is one re-dispatch: the second failure is final.
      expect(await handle.result()).toMatchObject({
        status: 'undelivered',
        carrier: 'beta',
        reason: 'undeliverable:012',
      });
    });
    expect(calls.submitToCarrier.map((c) => [c.input.carrier, c.input.messageId])).toEqual([
      ['alpha', calls.submitToCarrier[0]!.input.messageId],
      ['beta', calls.submitToCarrier[0]!.input.messageId],
    ]);
  });
});

describe('sendMessageWorkflow with a pre-send review (options.review)', () => {
  const TASK = 'rev_01JTESTTASK0000000000000000';
  /** Review stubs: a pre-send plan with a 1-hour SLA; resolveReview returns what the database would. */
  function reviewStubs(decided?: 'approve' | 'reject') {
    const resolved: ResolveReviewInput[] = [];
    const review: Partial<ReviewActivities> = {
      async planReview(): Promise<ReviewPlan> {
        return {
          mode: 'pre_send',
          trigger: 'sampled',
          slaSeconds: 3600,
          defaultDecision: 'reject',
          taskId: TASK,
        };
      },
      async resolveReview(input) {
        resolved.push(input);
        return decided
          ? { verdict: decided, reasonCode: 'wrong_sender', defaultApplied: false }
          : { verdict: input.defaultDecision, reasonCode: 'sla_timeout', defaultApplied: true };
      },
    };
    return { review, resolved };
  }

  test('a reviewer rejects: rejected_by_review, no sender picked, nothing submitted', async () => {
    const { review, resolved } = reviewStubs('reject');
    const { activities, calls } = stubActivities();
    await withWorker({ ...activities, ...review }, async (run) => {
      const handle = await run.start({}, { review: true });
      await waitForStatus(handle, 'in_review');
      await handle.signal(reviewDecisionSignal, {
        taskId: TASK,
        verdict: 'reject',
        reasonCode: 'wrong_sender',
        note: '',
      });
      expect(await handle.result()).toMatchObject({
        status: 'rejected_by_review',
        reason: 'review_reject:wrong_sender',
      });
    });
    expect(resolved).toHaveLength(1);
    expect(calls.pickSender).toHaveLength(0);
    expect(calls.submitToCarrier).toHaveLength(0);
    expect(calls.recordStatus.map((r) => r.status)).toEqual(['in_review', 'rejected_by_review']);
  });

  test('nobody decides: after the SLA (time skipped) the default applies and the history says so', async () => {
    const { review, resolved } = reviewStubs();
    const { submit, results } = remembering();
    const { activities, calls } = stubActivities({ submit });
    await withWorker({ ...activities, ...review }, async (run) => {
      const handle = await run.start({}, { review: true });
      // The default here is reject: the message never reaches a carrier.
      expect(await handle.result()).toMatchObject({
        status: 'rejected_by_review',
        reason: 'review_default_reject',
      });
      const view = await handle.query(getStatusQuery);
      expect(view.history).toContainEqual(
        expect.objectContaining({
          status: 'in_review',
          detail: 'pre-send review: no decision within the SLA: default reject applied',
        }),
      );
    });
    expect(resolved).toEqual([
      expect.objectContaining({ taskId: TASK, defaultDecision: 'reject' }),
    ]);
    expect(calls.submitToCarrier).toHaveLength(0);
    expect(results.size).toBe(0);
  });
});
