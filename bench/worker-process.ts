/**
 * The bench's worker process (forked by scripts/bench/setup.ts with IPC): the pipeline worker, and later
 * the baseline worker, in a Node process of their own, as `npm start` and a deployment run them, so
 * the API's accept latency is not measured on an event loop busy with workflow tasks. Configured by
 * the environment the bench passes; answers the bench's messages:
 * - `stats` → this process's counters (bench/child.ts);
 * - `baseline` (with `taskQueue`) → starts the baseline worker, then `{ type: 'baseline-ready' }`;
 * - `shutdown` → stops both workers and exits.
 * It sends `{ type: 'ready' }` once the pipeline worker polls.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import pino from 'pino';
import { createDataConverter } from '../clients/temporal';
import { loadConfig } from '../config/config';
import { createLogger } from '../config/logger';
import { bundleWorkflows } from '../workers/bundle';
import { createPipelineWorker } from '../workers/pipeline';
import { installRuntime } from '../workers/temporal-logging';
import { baselineReceipt } from './baseline-workflow';
import { childMain, statsOf, type ChildStats } from './child';
import { countStatements } from './statement-counter';

export type ToWorker =
  { type: 'stats' } | { type: 'baseline'; taskQueue: string } | { type: 'shutdown' };
export type FromWorker = { type: 'ready' } | { type: 'baseline-ready' } | ChildStats;

childMain('bench worker', async () => {
  const statements = countStatements();
  const send = (m: FromWorker) => process.send!(m);
  const log = createLogger('bench-worker', 'warn', pino.destination(2));
  installRuntime(log, 'WARN');
  const config = loadConfig(process.env);
  const worker = await createPipelineWorker({
    config,
    log,
    region: 'global',
    workflowBundle: await bundleWorkflows(require.resolve('../workflows')),
  });
  const runs = [worker.run()];
  const { temporal } = worker;
  const { dataConverter } = createDataConverter(config, worker.vault);
  let baseline: Worker | undefined;
  let connection: NativeConnection | undefined;

  process.on('message', (m: ToWorker) => {
    void (async () => {
      if (m.type === 'stats') send(statsOf(statements, worker.vault));
      else if (m.type === 'baseline') {
        // Same shape, no work, same worker settings and server (bench/baseline-workflow.ts).
        connection = await NativeConnection.connect({ address: config.temporal.address });
        baseline = await Worker.create({
          connection,
          namespace: config.temporal.namespace,
          taskQueue: m.taskQueue,
          workflowBundle: await bundleWorkflows(require.resolve('./baseline-workflow')),
          dataConverter,
          ...config.worker,
          activities: {
            tokenize: async () => ({ token: 't' }),
            suppression: async () => false,
            pick: async () => ({ sender: 's' }),
            route: async () => ({ carriers: ['c'] }),
            submit: async ({ id }: { id: string }) => {
              setImmediate(
                () =>
                  void temporal.workflow
                    .getHandle(id)
                    .signal(baselineReceipt, { id })
                    .catch(() => undefined),
              );
              return { ids: [id] };
            },
            record: async () => undefined,
            schedulePurge: async () => undefined,
          },
        });
        runs.push(baseline.run());
        send({ type: 'baseline-ready' });
      } else {
        baseline?.shutdown();
        worker.worker.shutdown();
        await Promise.all(runs);
        await connection?.close();
        process.exit(0);
      }
    })().catch((err: Error) => {
      process.stderr.write(`bench worker: ${err.stack ?? err.message}\n`);
      process.exit(1);
    });
  });
  send({ type: 'ready' });
});
