/**
 * Records one Temporal history per workflow type and path from real runs on the local stack (the
 * whole pipeline in this process: API, one worker per region, SMPP simulators, Vault, PostgreSQL),
 * and writes them, decoded, to `test/workflows/histories/<type>-<variant>.json`. The `workflows`
 * Jest project replays every file there against the current workflow bundle
 * (test/workflows/replay-histories.test.ts), so a change that would break a workflow already
 * running fails CI. See docs/workflow-evolution.md.
 *
 * Payloads are stored decoded (the replay runs without Vault) with the codec's own `decode`, so
 * every number, body and code sent here is synthetic: reserved test numbers (+4474009…) and a dummy
 * code (test/helpers/recorded-histories.ts), which the replay test checks are not in the files.
 * Worker identities (host name, pid) are replaced by a fixed string.
 *
 * Usage: `DATABASE_URL=… npm run histories:record [-- --only send-plain,erasure]`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { format, resolveConfig } from 'prettier';
import type { VaultPayloadCodec } from '../encryption/codec';
import { ENCODING } from '../encryption/codec';
import { createDataConverter, createTemporalClient } from '../clients/temporal';
import { vaultClientFor } from '../clients/vault';
import { messageWorkflowId } from '../domain/ids';
import { callWithKey } from '../test/helpers/api';
import {
  HISTORIES_DIR,
  RECORDED_BODY,
  RECORDED_RECIPIENTS,
} from '../test/helpers/recorded-histories';
import { startPipeline, type Pipeline } from '../test/helpers/pipeline';
import { newReviewer, setReviewPolicy, taskOf, waitForStatus } from '../test/helpers/review';
import { silentLog, unique } from '../test/helpers/stack';
import { ensureAnomalyDetector } from '../workers/schedules';
import { runAnomalyDetectionUpdate } from '../workflows/anomaly';
import { purgeSweepWorkflowId } from '../workflows/retention';
import { createApiKey } from './keys';

const TO = RECORDED_RECIPIENTS;

/** What the recorder fetched: raw history of one workflow execution. */
type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;

const text = (b: unknown) => (b instanceof Uint8Array ? Buffer.from(b).toString('utf8') : '');

/**
 * Decodes every payload the codec encrypted, in place (the proto objects keep their types), and
 * replaces worker identities, which name the recording host.
 */
async function decodeHistory(history: History, codec: VaultPayloadCodec): Promise<History> {
  const visit = async (node: unknown): Promise<void> => {
    if (!node || typeof node !== 'object' || node instanceof Uint8Array) return;
    const o = node as Record<string, unknown> & { metadata?: Record<string, unknown> };
    if (o.metadata && text(o.metadata.encoding) === ENCODING && o.data instanceof Uint8Array) {
      const [plain] = await codec.decode([o as never]);
      o.metadata = plain!.metadata as never;
      o.data = plain!.data;
      return;
    }
    for (const [key, value] of Object.entries(o)) {
      if (key === 'identity' && typeof value === 'string') o[key] = 'history-recorder';
      else await visit(value);
    }
  };
  await visit(history);
  return history;
}

/**
 * The history as protobufjs JSON (enum names, base64 bytes, string longs), read back with
 * `History.fromObject` (test/helpers/recorded-histories.ts); formatted as `prettier --check` wants.
 */
async function historyJson(history: History, file: string): Promise<string> {
  const json = JSON.stringify(proto.api.history.v1.History.fromObject(history).toJSON());
  return format(json, { ...(await resolveConfig(file)), filepath: file });
}

async function send(p: Pipeline, body: Record<string, unknown>): Promise<string> {
  const res = await p.send({ body: RECORDED_BODY, purpose: 'otp', ...body });
  if (res.status !== 202) throw new Error(`send refused: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** The send variants: each one message through a different path of `sendMessageWorkflow`. */
async function sendVariants(p: Pipeline): Promise<Record<string, string>> {
  const [primary] = p.smscs;
  primary!.setBehaviour({
    permanentErrorFor: (d) => d === TO.failover,
    receiptOutcome: (d) => (d === TO.receiptFailover ? 'UNDELIV' : 'DELIVRD'),
    receiptErrorCode: () => '012',
  });
  await setReviewPolicy(p, {
    campaign: 'review',
    mode: 'pre_send',
    sampleRate: 1,
    slaSeconds: 600,
  });
  await setReviewPolicy(p, {
    campaign: 'audit',
    mode: 'post_delivery',
    sampleRate: 1,
    slaSeconds: 1,
    defaultDecision: 'approve',
  });
  const ids: Record<string, string> = {
    'send-plain': await send(p, { to: TO.plain }),
    'send-review': await send(p, { to: TO.review, campaign: 'review' }),
    'send-post-delivery-audit': await send(p, { to: TO.audit, campaign: 'audit' }),
    'send-scheduled': await send(p, {
      to: TO.scheduled,
      sendAt: new Date(Date.now() + 5_000).toISOString(),
    }),
    'send-scheduled-cancelled': await send(p, {
      to: TO.cancelled,
      sendAt: new Date(Date.now() + 3_600_000).toISOString(),
    }),
    'send-failover': await send(p, { to: TO.failover }),
    'send-receipt-failover': await send(p, { to: TO.receiptFailover }),
  };
  // A reviewer approves the pre-send review (the reviewDecision signal).
  const reviewer = await newReviewer(p);
  await waitForStatus(p, ids['send-review']!, 'in_review');
  const taskId = await taskOf(p, ids['send-review']!);
  for (const [path, body] of [
    ['tasks/claim', { taskId }],
    [`tasks/${taskId}/complete`, { verdict: 'approve', reasonCode: 'ok' }],
  ] as const) {
    const r = await reviewer.call('POST', path, body);
    if (r.status !== 200) throw new Error(`review ${path}: ${r.status}`);
  }
  await waitForStatus(p, ids['send-scheduled-cancelled']!, 'scheduled');
  const res = await fetch(`${p.base}/v1/messages/${ids['send-scheduled-cancelled']}/cancel`, {
    method: 'POST',
    headers: { authorization: `Bearer ${p.apiKey}` },
  });
  if (res.status !== 202) throw new Error(`cancel refused: ${res.status}`);
  const final = await p.waitFinal(Object.values(ids), 180_000);
  const statuses = Object.fromEntries(
    Object.entries(ids).map(([variant, id]) => [variant, final.get(id)!.status]),
  );
  console.log('send variants ended', statuses);
  return Object.fromEntries(
    Object.entries(ids).map(([variant, id]) => [variant, messageWorkflowId(id)]),
  );
}

/** An erasure of a subject with one delivered message (its own history is deleted by it). */
async function erasureVariant(p: Pipeline): Promise<string> {
  const id = await send(p, { to: TO.erased });
  await p.waitFinal([id]);
  const dpoKey = (await createApiKey(p.db, p.tenant, ['dpo'])).secret;
  const r = await callWithKey(p.base, dpoKey, 'POST', '/v1/subjects/erasure', {
    number: TO.erased,
  });
  const erasureId = (r.json as { id: string }).id;
  const deadline = Date.now() + 180_000;
  for (;;) {
    const view = await callWithKey(p.base, dpoKey, 'GET', `/v1/subjects/erasure/${erasureId}`);
    if ((view.json as { status: string }).status === 'completed') return erasureId;
    if (Date.now() > deadline) throw new Error('erasure not completed in time');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The anomaly detector: one window at start, one through the `runNow` update, then terminated. */
async function anomalyVariant(p: Pipeline, temporal: Client): Promise<string> {
  const workflowId = await ensureAnomalyDetector(temporal, p.config, {
    workflowId: unique('anomaly-history'),
    intervalSeconds: 3600,
  });
  const handle = temporal.workflow.getHandle(workflowId);
  await handle.executeUpdate(runAnomalyDetectionUpdate);
  await handle.terminate('history recorded');
  return workflowId;
}

async function main() {
  const only = process.argv.includes('--only')
    ? new Set(process.argv[process.argv.indexOf('--only') + 1]!.split(','))
    : undefined;
  const p = await startPipeline({
    smscCount: 2,
    env: {
      RECEIPT_FAILOVER_ERROR_CODES: '012',
      RECEIPT_FAILOVER_MAX_REDISPATCHES: '1',
      PURGE_SWEEP_INTERVAL_SECONDS: '2',
    },
  });
  const vault = vaultClientFor(p.config, 'api', { log: silentLog });
  const { dataConverter } = createDataConverter(p.config, vault);
  // Histories are decoded as the operators' codec server does: the API's identity decrypts no payload.
  const { codec } = createDataConverter(
    p.config,
    vaultClientFor(p.config, 'codec-server', { log: silentLog }),
  );
  const temporal = await createTemporalClient(p.config, vault, dataConverter);
  try {
    const workflowIds: Record<string, string> = {
      ...(await sendVariants(p)),
      'erasure-subject': await erasureVariant(p),
      'anomaly-run': await anomalyVariant(p, temporal),
      'purge-sweep-region': purgeSweepWorkflowId('global', p.config.temporal.taskQueuePrefix),
    };
    mkdirSync(HISTORIES_DIR, { recursive: true });
    for (const [name, workflowId] of Object.entries(workflowIds)) {
      if (only && !only.has(name)) continue;
      const raw = await temporal.workflow.getHandle(workflowId).fetchHistory();
      const history = await decodeHistory(raw, codec);
      const file = join(HISTORIES_DIR, `${name}.json`);
      writeFileSync(file, await historyJson(history, file));
      console.log(`${name}: ${history.events?.length ?? 0} events`);
    }
  } finally {
    await temporal.connection.close();
    await p.close();
    await vault.close();
  }
}

if (require.main === module)
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
