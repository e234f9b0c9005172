/**
 * The baseline and the ceiling: workflows of the pipeline's shape with no work (`baselineWorkflow`), and
 * of one workflow task and nothing else (`ceilingWorkflow`, bench/baseline-workflow.ts), started on the
 * same client, worker settings and server at the run's pacing.
 */
import type { Client } from '@temporalio/client';
import type { BenchArgs } from './args';
import { pool, progress } from './load';

export type BaselineType = 'baselineWorkflow' | 'ceilingWorkflow';

export interface BaselineRuns {
  temporal: Client;
  /** The run's task-queue prefix; workflow ids are `<prefix><tag>-<i>`. */
  prefix: string;
  /** The queue the worker serves the baseline workflows on. */
  taskQueue: string;
  args: BenchArgs;
}

/** Starts `count` workflows of `type` (ids `<prefix><tag>-<i>`) on the baseline's queue at the run's pacing and waits for them; their start latencies. */
async function baselineRun(
  b: BaselineRuns,
  count: number,
  tag: string,
  label: string,
  type: BaselineType,
) {
  const { temporal, prefix } = b;
  const C = b.args.concurrency;
  const starts: number[] = [];
  await pool(
    count,
    C,
    async (i) => {
      const id = `${prefix}${tag}-${i}`;
      const t0 = performance.now();
      await temporal.workflow.start(type, {
        taskQueue: b.taskQueue,
        workflowId: id,
        args: [{ id, to: '+440000000000', body: 'x' }],
      });
      starts.push(performance.now() - t0);
    },
    b.args.rate,
  );
  let done = 0;
  await pool(count, C, async (i) => {
    await temporal.workflow.getHandle(`${prefix}${tag}-${i}`).result();
    progress(label, ++done, count);
  });
  return starts;
}

/** A warm-up of min(W, M), then M timed: workflows per second and start latencies. */
export async function measured(b: BaselineRuns, type: BaselineType, tag: string) {
  const { warmup: WARMUP, baselineMessages: BASELINE_N } = b.args;
  const label = type === 'baselineWorkflow' ? 'baseline' : 'ceiling';
  if (WARMUP > 0)
    await baselineRun(b, Math.min(WARMUP, BASELINE_N), `${tag}w`, `${label} warm-up `, type);
  const t0 = performance.now();
  const starts = await baselineRun(b, BASELINE_N, tag, `${label} `, type);
  return { perSecond: BASELINE_N / ((performance.now() - t0) / 1000), starts };
}
