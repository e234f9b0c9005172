/**
 * The local stack of real services, without Docker: Temporal (the dev server, or with
 * STACK_TEMPORAL=server the real server on PostgreSQL and its UI), OpenBao (Vault API) and PostgreSQL,
 * each persisted under `.data/`, logs in `.data/logs/`.
 *
 *   tsx scripts/stack.ts up [--started-file F]   start what is not running (idempotent), migrate;
 *                                                 F receives the names of the services this call started
 *   tsx scripts/stack.ts down [--only a,b]        stop the stack's services (or only those named)
 *   tsx scripts/stack.ts status                   address and health of each service, and the pollers
 *                                                 of each region's task queue
 *   tsx scripts/stack.ts tools                    install the external binaries only, print their paths as JSON
 *   tsx scripts/stack.ts chart-tools              build/install helm, kubeconform and the Kubernetes schemas
 *                                                 (the Helm chart's check), print their paths as JSON
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { REGIONS, taskQueueFor } from '../domain/regions';
import { loadStackConfig } from '../config/stack';
import { migrate } from './migrate';
import { openbaoService } from './stack/openbao';
import { postgresService } from './stack/postgres';
import type { Service } from './stack/service';
import { temporalService } from './stack/temporal';
import { temporalServerService } from './stack/temporal-server';
import { ensureChartTools, ensureTools } from './stack/tools';

const log = (s: string) => process.stderr.write(`[stack] ${s}\n`);

function services(): Service[] {
  const cfg = loadStackConfig();
  mkdirSync(cfg.logDir, { recursive: true });
  const tools = ensureTools(cfg, log);
  const temporal = tools.temporalServer
    ? temporalServerService(cfg, tools.temporal, tools.temporalServer, log)
    : temporalService(cfg, tools.temporal);
  const list = [temporal, openbaoService(cfg, tools.bao)];
  if (!cfg.postgres.external) list.push(postgresService(cfg, log));
  return list;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function up() {
  const started: string[] = [];
  // Start services concurrently: on two cores Temporal's start-up dominates, the others overlap with it.
  await Promise.all(
    services().map(async (s) => {
      if (await s.healthy()) {
        await s.configure?.();
        log(`${s.name}: already running`);
        return;
      }
      if (s.running() && s.configure) {
        log(`${s.name}: running, configuring`);
        await s.configure();
        return;
      }
      log(`${s.name}: starting`);
      await s.start();
      started.push(s.name);
      log(`${s.name}: up`);
    }),
  );
  const file = flag('--started-file');
  if (file) writeFileSync(file, started.join('\n'));
  await migrate(log);
  await status();
}

async function down() {
  const only = flag('--only')?.split(',').filter(Boolean);
  // Temporal first: the real server (STACK_TEMPORAL=server) persists in the stack's PostgreSQL.
  for (const s of services()) {
    if (only && !only.includes(s.name)) continue;
    log(`${s.name}: ${(await s.stop()) ? 'stopped' : 'was not running'}`);
  }
}

async function status(): Promise<boolean> {
  let allUp = true;
  let temporalUp = false;
  for (const s of services()) {
    const ok = await s.healthy();
    allUp &&= ok;
    if (s.name === 'temporal') temporalUp = ok;
    process.stdout.write(`${s.name.padEnd(9)} ${ok ? 'up  ' : 'DOWN'}  ${s.describe()}\n`);
  }
  if (temporalUp) await printPollers();
  return allUp;
}

/** Each region's task queue and the workers polling it (a region without one never moves its messages). */
async function printPollers(): Promise<void> {
  const cfg = loadStackConfig();
  const connection = await Connection.connect({ address: `${cfg.host}:${cfg.temporal.port}` });
  try {
    for (const region of REGIONS) {
      const name = taskQueueFor(region);
      const { pollers } = await connection.workflowService.describeTaskQueue({
        namespace: cfg.temporal.namespace,
        taskQueue: { name },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      const who = (pollers ?? []).map((p) => p.identity).join(', ');
      process.stdout.write(
        `${'queue'.padEnd(9)} ${who ? 'poll' : 'NONE'}  ${name} (region ${region})${who ? `: ${who}` : ': no worker polls it; its messages wait'}\n`,
      );
    }
  } finally {
    await connection.close();
  }
}

async function main() {
  const command = process.argv[2];
  switch (command) {
    case 'up':
      return up();
    case 'down':
      return down();
    case 'status':
      if (!(await status())) process.exitCode = 1;
      return;
    case 'tools':
      process.stdout.write(JSON.stringify(ensureTools(loadStackConfig(), log)) + '\n');
      return;
    case 'chart-tools':
      process.stdout.write(JSON.stringify(ensureChartTools(loadStackConfig(), log)) + '\n');
      return;
    default:
      throw new Error(
        `usage: stack.ts up|down|status|tools|chart-tools (got ${command ?? 'nothing'})`,
      );
  }
}

main().catch((err: Error) => {
  log(err.message);
  process.exit(1);
});
