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
} from '../../activities/bookkeeping';
import type {
  CarrierActivities,
  SubmitToCarrierInput,
  SubmitToCarrierResult,
} from '../../activities/carriers';
import type { PickSenderInput, PickSenderResult, PoolActivities } from '../../activities/pools';
import type { PrivacyActivities } from '../../activities/privacy';
import type { TokenizeMessageInput, VaultActivities } from '../../activities/vault';
import { messageWorkflowId, newMessageId } from '../../domain/ids';
import {
  cancelSignal,
  deliveryReceiptSignal,
  getStatusQuery,
  searchAttributes,
  type DeliveryReceiptSignal,
  type MessageStatus,
  type SendMessageInput,
} from '../../workflows/definitions';
import { ErrorType } from '../../workflows/options';
import type { SendMessageOptions, sendMessageWorkflow } from '../../workflows/send-message';
import { timeSkippingServerPath, unique } from '../helpers/stack';

/** `temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD` (@temporalio/proto is not our dependency). */
const INDEXED_VALUE_TYPE_KEYWORD = 2;

const TO = '+447700900123';
const NATIONAL = '7700900123';
const CODE = '482913';
const BODY = `Your Acme verification code is ${CODE}. It expires in 10 minutes.`;
const TOKEN = 'sub_tok_5f2c9e';
const SENDER = '+447700900555';

type Activities = VaultActivities &
  PoolActivities &
  CarrierActivities &
  BookkeepingActivities &
  Pick<PrivacyActivities, 'checkSuppression' | 'schedulePurge'>;
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

const picked = (notBefore = 0): PickSenderResult => ({
  sender: SENDER,
  poolId: 'pool_otp_gb',
  numberId: 'num_1',
  strategy: 'lru',
  notBefore,
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
      return { subscriberToken: TOKEN };
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
    requestFingerprint: 'a3f1c2d4e5b60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9',
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

describe('sendMessageWorkflow', () => {
  let happyHistory: Awaited<ReturnType<Handle['fetchHistory']>> | undefined;

  test('happy path: tokenize, pick, route (local), submit, receipts → delivered; nothing personal after tokenize', async () => {
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
    expect(calls.pickSender[0]).toMatchObject({
      subscriberToken: TOKEN,
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

    // routeCarriers ran as a local activity: a marker, not a scheduled activity task.
    const events = happyHistory!.events ?? [];
    const scheduled = events.flatMap((e) =>
      e.activityTaskScheduledEventAttributes
        ? [e.activityTaskScheduledEventAttributes.activityType?.name]
        : [],
    );
    expect(scheduled).toEqual([
      'tokenizeMessage',
      'checkSuppression',
      'pickSender',
      'submitToCarrier',
      'recordStatus',
      'schedulePurge',
    ]);
    expect(events.filter((e) => e.markerRecordedEventAttributes)).toHaveLength(1);
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

  test('every carrier fails → failed with the last error type; exhausted transient retries fail over too', async () => {
    const { activities, calls } = stubActivities({
      carriers: ['alpha', 'beta'],
      submit: (input) => {
        if (input.carrier === 'alpha')
          throw ApplicationFailure.retryable('alpha: timeout', ErrorType.CARRIER_TRANSIENT);
        throw ApplicationFailure.nonRetryable(
          'beta: invalid destination',
          ErrorType.CARRIER_PERMANENT,
        );
      },
    });
    await withWorker(activities, async (run) => {
      const handle = await run.start();
      expect(await handle.result()).toEqual({
        status: 'failed',
        reason: ErrorType.CARRIER_PERMANENT,
      });
    });
    // carrierSubmit allows 6 attempts per carrier.
    expect(
      calls.submitToCarrier.filter((c) => c.input.carrier === 'alpha').map((c) => c.attempt),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    expect(calls.submitToCarrier.filter((c) => c.input.carrier === 'beta')).toHaveLength(1);
    expect(calls.recordStatus).toEqual([
      expect.objectContaining({
        status: 'failed',
        reason: ErrorType.CARRIER_PERMANENT,
        final: true,
      }),
    ]);
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
      pickSender: async () => picked((await env.currentTimeMs()) + 3600_000),
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
