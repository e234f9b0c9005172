import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { decodeOptionalSinglePayload } from '@temporalio/common/lib/internal-non-workflow';
import type { FastifyInstance } from 'fastify';
import { createAnomalyActivities } from '../../activities/anomaly/detect-anomalies';
import { buildApp } from '../../api/app';
import { METRIC_NAMES } from '../../clients/metrics';
import { createDataConverter } from '../../clients/temporal';
import { vaultClientFor } from '../../clients/vault';
import { loadConfig } from '../../config/config';
import { hasLiveWorker } from '../../db/worker-heartbeats';
import { createPipelineWorker, type PipelineWorker } from '../../workers/pipeline';
import { taskQueueFor } from '../../domain/regions';
import { eventually } from '../helpers/eventually';
import { startPipeline, workflowBundle, type Pipeline } from '../helpers/pipeline';
import { silentLog, unique } from '../helpers/stack';

const CN = '+8613812345678';

/** The value of `name`'s sample with the label `region` (undefined if absent). */
function gauge(text: string, name: string, region: string): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && l.includes(`region="${region}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * A region without a worker: its messages wait in plain sight. The API under test reads only
 * PostgreSQL: its Temporal client points at a TCP listener that counts connections (none may come),
 * and its start relay is stopped (the pipeline's own API starts the workflows).
 */
describe('a region without a worker: reads from PostgreSQL, a waiting status, a gauge and an alert', () => {
  let p: Pipeline;
  let reader: FastifyInstance;
  let fakeTemporal: Server;
  let connections = 0;
  let cnAgain: { worker: PipelineWorker; running: Promise<void> } | undefined;

  beforeAll(async () => {
    p = await startPipeline();
    fakeTemporal = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => fakeTemporal.listen(0, '127.0.0.1', resolve));
    const config = p.config;
    const vault = vaultClientFor(config, 'api', { log: silentLog });
    const { dataConverter } = createDataConverter(config, vault);
    const connection = Connection.lazy({
      address: `127.0.0.1:${(fakeTemporal.address() as AddressInfo).port}`,
    });
    const temporal = new Client({
      connection,
      namespace: config.temporal.namespace,
      dataConverter,
    });
    reader = await buildApp({ config, log: silentLog, temporal, db: p.db, vault });
    // This API starts no workflows: only its reads are under test.
    await reader.startRelay.close();
    await reader.ready();
  }, 120_000);

  afterAll(async () => {
    await reader?.close();
    fakeTemporal?.close();
    await p?.close();
    await cnAgain?.running;
  });

  const read = async (id: string) => {
    const res = await reader.inject({
      url: `/v1/messages/${id}`,
      headers: { authorization: `Bearer ${p.apiKey}` },
    });
    expect(res.statusCode).toBe(200);
    return res.json() as { status: string; reason?: string; history: { status: string }[] };
  };

  test('the CN worker stops: GET answers waiting from PostgreSQL, the gauge counts it, the detector alerts; the worker returns and it is delivered', async () => {
    const prefix = p.config.temporal.taskQueuePrefix;
    const cnQueue = taskQueueFor('cn', prefix);
    const index = p.workers.findIndex((w) => w.identity.startsWith('sms-worker-cn/'));
    await eventually('the CN worker heartbeat', async () =>
      (await hasLiveWorker(p.db, cnQueue)) ? true : undefined,
    );
    // Out of the pipeline's list too, so its close stops only running workers.
    const [stopped] = p.workers.splice(index, 1);
    stopped!.worker.shutdown();
    await eventually('the CN worker marked stopped', async () =>
      (await hasLiveWorker(p.db, cnQueue)) ? undefined : true,
    );

    const res = await p.send({ to: CN, body: 'Your code is 424242', purpose: 'otp' });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };

    // The API that cannot reach Temporal answers, from the moment of the 202 on.
    const waiting = await read(id);
    expect(waiting).toMatchObject({ status: 'waiting', reason: 'no_worker_for_region' });
    expect(waiting.history.map((e) => e.status)).toEqual(['accepted']);
    // The pipeline's API started its workflow meanwhile; it still waits, and reads still say so.
    await p.app.startRelay.drain();
    expect(await read(id)).toMatchObject({ status: 'waiting', reason: 'no_worker_for_region' });

    const metrics = await reader.metrics.registry.metrics();
    expect(gauge(metrics, METRIC_NAMES.waitingForWorker, 'cn')).toBeGreaterThanOrEqual(1);
    // The other regions have their workers: nothing of theirs counts as waiting.
    expect(gauge(metrics, METRIC_NAMES.waitingForWorker, 'global')).toBe(0);
    expect(gauge(metrics, METRIC_NAMES.waitingForWorker, 'eu')).toBe(0);

    // The anomaly detector alerts once the region has been without a worker for its threshold
    // (a minute by default; one second here), and only for that region.
    const detector = createAnomalyActivities({ db: p.db, log: silentLog });
    const input = {
      detector: unique('no-worker'),
      firstWindowSeconds: 60,
      workers: { taskQueuePrefix: prefix, afterSeconds: 1 },
    };
    // Only this kind: the window's failure rates and key volumes are other tests' traffic too.
    const noWorker = (alerts: { kind: string }[]) =>
      alerts.filter((a) => a.kind === 'region_no_worker');
    const alerted = await eventually('a region_no_worker alert', async () => {
      const r = await detector.detectAnomalies(input);
      return noWorker(r.alerts).length ? r : undefined;
    });
    expect(noWorker(alerted.alerts)).toEqual([
      expect.objectContaining({ kind: 'region_no_worker', subject: 'cn', volume: 0 }),
    ]);
    // One alert per episode.
    expect(noWorker((await detector.detectAnomalies(input)).alerts)).toEqual([]);

    // Not one connection reached the reading API's Temporal.
    expect(connections).toBe(0);

    // The worker comes back (a new instance for the region, same task queues): the message moves.
    const worker = await createPipelineWorker({
      config: loadConfig({
        ...process.env,
        TASK_QUEUE_PREFIX: prefix,
        WORKER_METRICS_PORT: '0',
        RECEIPT_TIMEOUT_SECONDS: '120',
        LOG_LEVEL: 'silent',
        CARRIERS: JSON.stringify(p.config.carriers),
        API_PUBLIC_URL: p.base,
      }),
      log: silentLog,
      region: 'cn',
      workflowBundle: await workflowBundle(),
    });
    cnAgain = { worker, running: worker.run() };
    // The pipeline's close stops it like the others.
    p.workers.push(worker);
    const delivered = await eventually('the CN message delivered', async () => {
      const m = await read(id);
      return m.status === 'delivered' ? m : undefined;
    });
    expect(delivered.reason ?? null).toBeNull();
    expect(delivered.history.map((e) => e.status)).toEqual(
      expect.arrayContaining(['accepted', 'tokenized', 'submitted', 'delivered']),
    );
    // Every activity, local activity and timer of its history carries a summary for the Temporal UI.
    const handle = worker.temporal.workflow.getHandle(id);
    await handle.result();
    const history = await handle.fetchHistory();
    const steps = (history.events ?? []).filter(
      (e) =>
        e.activityTaskScheduledEventAttributes ||
        e.timerStartedEventAttributes ||
        e.markerRecordedEventAttributes,
    );
    const summaries = await Promise.all(
      steps.map((e) =>
        decodeOptionalSinglePayload<string>(
          worker.temporal.options.loadedDataConverter,
          e.userMetadata?.summary,
        ),
      ),
    );
    expect(summaries).not.toContain(undefined);
    // The receipt wait is a timer only when the receipt has not arrived by then (here it may have).
    expect(summaries).toEqual(
      expect.arrayContaining([
        'tokenize: encrypt number and body in the region (Vault transit)',
        'opt-out check (PostgreSQL)',
        'pick sender: reserve a pool number',
        "route: the carriers eligible for the recipient's country",
        'dispatch: decrypt just in time, submit to the carrier',
        'record status (PostgreSQL)',
        'schedule purge: due after the retention period',
      ]),
    );
    const after = await detector.detectAnomalies(input);
    expect(after.recovered).toContain('region_no_worker:cn');
    expect(connections).toBe(0);
  }, 240_000);
});
