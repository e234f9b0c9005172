/**
 * Retention end to end, on the real stack with a 3-second retention and a 1-second sweep: after the
 * purge no ciphertext, receipt journal, status history or Temporal history of the message remains,
 * GET /v1/messages/:id answers only the redacted billing record, and the leak scan finds nothing.
 */
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { createLogger } from '../../config/logger';
import { verifyAuditChain } from '../../db/audit';
import { findLogFiles, needleVariants, scanForLeaks } from '../../scripts/leak-scan';
import { eventually, historiesDeleted } from '../helpers/eventually';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { newTemporalClient, stack } from '../helpers/stack';
import { REGIONS, type Region } from '../../domain/regions';
import { purgeSweepWorkflowId } from '../../workflows/retention';

// Generous: the machine may be loaded; nothing here depends on how long a step takes.
jest.setTimeout(600_000);

describe('retention: a 3-second retention purges everything personal and keeps the billing record', () => {
  let p: Pipeline;
  let plain: Client;
  const lines: string[] = [];
  const run = String(Date.now() % 100000).padStart(5, '0');

  beforeAll(async () => {
    const capture = { write: (s: string) => void lines.push(s) };
    p = await startPipeline({
      log: createLogger('retention-e2e', 'debug', capture),
      env: {
        RETENTION_OTP_SECONDS: '3',
        RETENTION_TRANSACTIONAL_SECONDS: '3',
        RETENTION_MARKETING_SECONDS: '3',
        PURGE_SWEEP_INTERVAL_SECONDS: '1',
      },
    });
    plain = await newTemporalClient();
  });
  afterAll(async () => {
    await plain?.connection.close();
    await p?.close();
  });

  test('after the purge: no ciphertext, journal, events or Temporal history; GET shows only billing; no leak', async () => {
    const messages = [
      {
        to: `+4474007${run}`,
        body: `Your Acme code is 73${run.slice(-4)}. Valid 5 min.`,
        purpose: 'otp',
      },
      {
        to: `+4915114${run}1`,
        body: 'Your parcel is out for delivery today.',
        purpose: 'transactional',
      },
      { to: `+86139${run}123`, body: '【Acme】双十一大促，回复TD退订', purpose: 'marketing' },
    ];
    const ids: string[] = [];
    for (const m of messages) {
      const res = await p.send(m);
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const final = await p.waitFinal(ids);
    expect([...final.values()].map((m) => m.status)).toEqual(Array(3).fill('delivered'));

    // The sweeper purges each message about 3 s after it finished.
    const purged = await eventually('every message purged', async () => {
      const views = await Promise.all(ids.map((id) => p.get(id)));
      return views.every((v) => typeof v.purgedAt === 'string') ? views : undefined;
    });
    for (const [i, view] of purged.entries()) {
      expect(Object.keys(view).sort()).toEqual(
        [
          'carrier',
          'completedAt',
          'country',
          'createdAt',
          'id',
          'purgedAt',
          'purpose',
          'segments',
          'status',
          'submittedAt',
          'tenant',
        ].sort(),
      );
      expect(view).toMatchObject({
        id: ids[i],
        tenant: p.tenant,
        status: 'delivered',
        carrier: 'smsc-a',
        purpose: messages[i]!.purpose,
        segments: 1,
      });
      expect(view).not.toHaveProperty('recipient');
      expect(view).not.toHaveProperty('history');
    }
    expect(purged.map((v) => v.country)).toEqual(['GB', 'DE', 'CN']);

    for (const table of ['message_secrets', 'dispatch_journal', 'message_events']) {
      const { rows } = await p.db.query(
        `select count(*)::int as n from ${table} where message_id = any($1)`,
        [ids],
      );
      expect({ table, n: rows[0].n }).toEqual({ table, n: 0 });
    }
    const { rows: kept } = await p.db.query(
      `select id, recipient_hint, callback_url, purge_reason, purged_at >= completed_at as after_completion
         from messages where id = any($1) order by id`,
      [ids],
    );
    expect(kept).toHaveLength(3);
    for (const row of kept) {
      expect(row).toMatchObject({
        recipient_hint: null,
        callback_url: null,
        purge_reason: 'retention',
        after_completion: true,
      });
    }

    // DeleteWorkflowExecution is asynchronous on the server: the history disappears shortly after.
    await historiesDeleted(plain, ids, 'Temporal histories deleted');

    // Audited: one message.purged per message, and the chain still verifies.
    const { rows: audit } = await p.db.query(
      `select subject, detail from audit_log where action = 'message.purged' and subject = any($1)`,
      [ids],
    );
    expect(audit.map((r) => r.subject).sort()).toEqual([...ids].sort());
    expect(audit.every((r) => r.detail.reason === 'retention')).toBe(true);
    expect((await verifyAuditChain(p.db)).ok).toBe(true);

    // A second sweep finds nothing more to do: the purge is idempotent. Waits until every region's
    // sweeper has run a whole sweep that began after this point (its history says so), not a fixed time.
    const sweepsOf = async (region: Region) => {
      const handle = plain.workflow.getHandle(
        purgeSweepWorkflowId(region, p.config.temporal.taskQueuePrefix),
      );
      const { runId } = await handle.describe();
      const events = (await handle.fetchHistory()).events ?? [];
      return { runId, done: events.filter((e) => e.activityTaskCompletedEventAttributes).length };
    };
    const before = await Promise.all(REGIONS.map(sweepsOf));
    await eventually('another whole sweep in every region', async () => {
      const now = await Promise.all(REGIONS.map(sweepsOf));
      // The sweep in progress at `before` may have started earlier: two more, or one in a new run.
      const swept = now.every((n, i) =>
        n.runId === before[i]!.runId ? n.done >= before[i]!.done + 2 : n.done >= 1,
      );
      return swept ? true : undefined;
    });
    const { rows: again } = await p.db.query(
      `select count(*)::int as n from audit_log where action = 'message.purged' and subject = any($1)`,
      [ids],
    );
    expect(again[0].n).toBe(3);

    const needles = messages.flatMap((m) => [
      ...needleVariants(m.to),
      ...(m.purpose === 'otp' ? [`code is 73${run.slice(-4)}`] : []),
    ]);
    const findings = await scanForLeaks({
      needles,
      logLines: lines,
      logFiles: findLogFiles(join(stack.dataDir, 'logs')),
      temporal: { client: plain, query: `Tenant = '${p.tenant}'` },
      db: p.db,
    });
    expect(findings).toEqual([]);
    expect(lines.some((l) => l.includes('retention purge'))).toBe(true);
  }, 600_000);
});
