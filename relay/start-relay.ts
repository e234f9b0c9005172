import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import {
  encodeWorkflowIdConflictPolicy,
  encodeWorkflowIdReusePolicy,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  type SearchAttributePair,
} from '@temporalio/common';
import { encodeUnifiedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { encodeToPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { temporal as proto } from '@temporalio/proto';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import {
  claimStart,
  claimStarts,
  deferStarts,
  finishStarts,
  retryStartLater,
  type ClaimedStart,
} from '../db/workflow-starts';
import { searchAttributes } from '../workflows/definitions';

export type SearchAttributeName = keyof typeof searchAttributes;

/**
 * The start arguments as the outbox keeps them: Temporal payloads encoded (encrypted) by the codec of
 * `temporal`, the client of the message's region (clients/temporal.ts, `RegionalClients`), so they are
 * sealed under the region's codec key from the API on.
 */
export async function encodeStartArgs(temporal: Client, args: unknown[]): Promise<Buffer> {
  const payloads = await encodeToPayloads(temporal.options.loadedDataConverter, ...args);
  return Buffer.from(proto.api.common.v1.Payloads.encode({ payloads }).finish());
}

export interface StartRelayOptions {
  db: Pool;
  temporal: Client;
  log: Logger;
  /** Starts leased per round trip (default 64). */
  batchSize?: number;
  /** How often due starts are looked for without a nudge: other processes' and failed ones (default 1 s). */
  pollMs?: number;
  /** How long a lease keeps other relays off a start (default 30 s). */
  leaseMs?: number;
  /**
   * Starts for a task queue wait in PostgreSQL while that queue has at least this many workflow
   * tasks backlogged in Temporal (default 100; 0: no limit).
   */
  maxBacklog?: number;
}

/** gRPC's ALREADY_EXISTS: the workflow id runs or ran already. */
const ALREADY_EXISTS = 6;

/** How long a task queue's backlog reading is trusted. */
const BACKLOG_READ_MS = 250;

/**
 * Starts the message workflows that POST /v1/messages accepted (table `workflow_starts`, written in
 * the transaction that admits the message). The route nudges it after each commit, so a start follows
 * within milliseconds; it also polls, so starts of a process that died, or that failed while Temporal
 * was unreachable, are taken over (leases keep two relays off the same row; a start that happened
 * twice is `WorkflowExecutionAlreadyStarted`, which counts as done). A failed start is retried with
 * backoff (0.5 s doubling to 30 s) and nothing is ever dropped. Logs carry the message id and the
 * error's name, never the arguments.
 */
export class StartRelay {
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly maxBacklog: number;
  /** Task queue → its last backlog reading: whether it was full, and when it was read. */
  private readonly backlogs = new Map<string, { full: boolean; at: number }>();
  private timer?: NodeJS.Timeout;
  private draining?: Promise<void>;
  private again = false;
  private closed = false;

  constructor(private readonly opts: StartRelayOptions) {
    this.batchSize = opts.batchSize ?? 64;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 1_000;
    this.maxBacklog = opts.maxBacklog ?? 100;
  }

  /** Begins polling for due starts. */
  start(): this {
    this.timer ??= setInterval(() => this.nudge(), this.pollMs).unref();
    return this;
  }

  /** Starts what is due now (after a commit): one drain at a time, another right after if nudged meanwhile. */
  nudge(): void {
    if (this.closed) return;
    if (this.draining) this.again = true;
    else void this.run();
  }

  /** Resolves once every start that was due when called (and nudged meanwhile) has been tried. */
  async drain(): Promise<void> {
    while (this.draining) await this.draining;
    await this.run();
    while (this.draining) await this.draining;
  }

  private run(): Promise<void> {
    const round = this.drainAll().finally(() => {
      this.draining = undefined;
      if (this.again) {
        this.again = false;
        this.nudge();
      }
    });
    this.draining = round;
    return round;
  }

  /**
   * Starts one message's workflow now if it is still waiting and belongs to `tenant` (a retry with
   * the same Idempotency-Key, a cancel): after this the workflow exists, or the start's error is
   * thrown. Another tenant's waiting message is left as it is (the caller then finds no workflow).
   */
  async ensureStarted(messageId: string, tenant: string): Promise<void> {
    const s = await claimStart(this.opts.db, messageId, tenant, this.leaseMs);
    if (!s) return;
    const error = await this.startOne(s);
    if (error) throw error;
    await finishStarts(this.opts.db, [messageId]);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    // What this process accepted and nudged is started before it goes (else another relay would).
    while (this.draining) await this.draining;
    this.closed = true;
  }

  private async drainAll(): Promise<void> {
    try {
      for (;;) {
        const batch = await claimStarts(this.opts.db, this.batchSize, this.leaseMs, this.full());
        if (batch.length === 0) return;
        // Backpressure: a task queue whose workers are behind gets no more starts for now; they
        // wait here, in order, rather than as a backlog in Temporal.
        const full = new Set<string>();
        for (const queue of new Set(batch.map((s) => s.taskQueue)))
          if (await this.isFull(queue)) full.add(queue);
        const waiting = batch.filter((s) => full.has(s.taskQueue));
        await deferStarts(
          this.opts.db,
          waiting.map((s) => s.messageId),
          BACKLOG_READ_MS,
        );
        const started: string[] = [];
        await Promise.all(
          batch
            .filter((s) => !full.has(s.taskQueue))
            .map(async (s) => {
              if (!(await this.startOne(s))) started.push(s.messageId);
            }),
        );
        await finishStarts(this.opts.db, started);
        if (batch.length < this.batchSize) return;
      }
    } catch (err) {
      // The database is unreachable: the poll tries again.
      this.opts.log.warn({ error: (err as Error).name }, 'workflow start relay: claim failed');
    }
  }

  /** Task queues whose last reading, still fresh, said full. */
  private full(): string[] {
    const now = Date.now();
    return [...this.backlogs]
      .filter(([, b]) => b.full && now - b.at < BACKLOG_READ_MS)
      .map(([queue]) => queue);
  }

  /** Whether a task queue has `maxBacklog` workflow tasks or more waiting (Temporal's approximate count). */
  private async isFull(taskQueue: string): Promise<boolean> {
    if (!this.maxBacklog) return false;
    const known = this.backlogs.get(taskQueue);
    if (known && Date.now() - known.at < BACKLOG_READ_MS) return known.full;
    const { temporal } = this.opts;
    const answer = await temporal.workflowService
      .describeTaskQueue({
        namespace: temporal.options.namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        reportStats: true,
      })
      // No reading (Temporal unreachable): the start itself will fail and be retried.
      .catch(() => undefined);
    const full = Number(answer?.stats?.approximateBacklogCount ?? 0) >= this.maxBacklog;
    this.backlogs.set(taskQueue, { full, at: Date.now() });
    return full;
  }

  /**
   * Starts one workflow; undefined when it exists now, else the error (and the row's next try is set).
   * The arguments go to Temporal as the outbox holds them, still encrypted: the relay never decodes
   * them (the API's Vault identity may encode under a region's codec key, never decrypt it).
   */
  private async startOne(s: ClaimedStart): Promise<Error | undefined> {
    const { temporal, db, log } = this.opts;
    try {
      await temporal.workflowService.startWorkflowExecution({
        namespace: temporal.options.namespace,
        identity: temporal.options.identity,
        requestId: randomUUID(),
        workflowId: s.messageId,
        workflowType: { name: s.workflowType },
        taskQueue: {
          kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
          name: s.taskQueue,
        },
        input: proto.api.common.v1.Payloads.decode(s.args),
        workflowIdReusePolicy: encodeWorkflowIdReusePolicy(WorkflowIdReusePolicy.REJECT_DUPLICATE),
        workflowIdConflictPolicy: encodeWorkflowIdConflictPolicy(WorkflowIdConflictPolicy.FAIL),
        searchAttributes: {
          indexedFields: encodeUnifiedSearchAttributes(
            undefined,
            Object.entries(s.searchAttributes).map(
              ([name, value]) =>
                ({
                  key: searchAttributes[name as SearchAttributeName],
                  value,
                }) as SearchAttributePair,
            ),
          ),
        },
      });
      return undefined;
    } catch (err) {
      // Started already (by another relay, or before a crash cut off the row's update): done.
      if ((err as { code?: number }).code === ALREADY_EXISTS) return undefined;
      const e = err as Error & { code?: number };
      const error = e.code === undefined ? e.name : `${e.name} (code ${e.code})`;
      const retryInMs = Math.min(30_000, 500 * 2 ** Math.min(s.attempts - 1, 6));
      log.warn(
        { messageId: s.messageId, attempts: s.attempts, error, retryInMs },
        'workflow start failed; retrying',
      );
      await retryStartLater(db, s.messageId, error, retryInMs).catch(() => undefined);
      return e;
    }
  }
}
