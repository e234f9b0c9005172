/**
 * The purge backstop from the moment personal data is stored: a message the API accepted but no
 * workflow ever started (its sealed number and text in `message_intake`, its start in
 * `workflow_starts`) is due for purge from admission on, and the region's sweep purges it. On a
 * PostgreSQL of the test's own (nothing else's relay or sweeper touches its rows), the real Vault
 * and an API whose Temporal is unreachable, so the message never leaves the outbox.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { Pool } from 'pg';
import { createPrivacyActivities } from '../../activities/privacy/privacy-activities';
import { SubscriberTokens } from '../../encryption/subscriber-token';
import { createRegionalConverters, RegionalClients } from '../../clients/temporal';
import { messageWorkflows } from '../../workers/message-workflows';
import { startApiWithoutTemporal } from '../helpers/api';
import { eventually } from '../helpers/eventually';
import { seedTenant } from '../helpers/pipeline';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { config, newTemporalClient, newVault, silentLog, unique } from '../helpers/stack';

const STUCK_AFTER_SECONDS = 1;
const RETENTION_SECONDS = 1;
const VALIDITY_SECONDS = 1;

describe('purge backstop from admission', () => {
  let pg: PrivatePostgres;
  let db: Pool;
  let temporal: Client;
  let api: Awaited<ReturnType<typeof startApiWithoutTemporal>>;
  const tenant = unique('backstop').toLowerCase();
  let apiKey: string;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    db = new Pool({ connectionString: pg.url, max: 4 });
    ({ apiKey } = await seedTenant(db, tenant));
    await db.query(
      `insert into tenant_privacy_policies (tenant, transactional_retention_seconds) values ($1, $2)`,
      [tenant, RETENTION_SECONDS],
    );
    api = await startApiWithoutTemporal(db, {
      PURGE_STUCK_AFTER_SECONDS: String(STUCK_AFTER_SECONDS),
    });
    temporal = await newTemporalClient();
  }, 180_000);
  afterAll(async () => {
    await api?.close();
    await temporal?.connection.close();
    await db?.end();
    pg?.destroy();
  });

  const rowsOf = async (id: string) => {
    const { rows } = await db.query<{
      due_ms: number | null;
      created_ms: number;
      purged: boolean;
      intake: number;
      outbox: number;
    }>(
      `select (extract(epoch from purge_after) * 1000)::float8 as due_ms,
              (extract(epoch from created_at) * 1000)::float8 as created_ms,
              purged_at is not null as purged,
              (select count(*)::int from message_intake where message_id = $1) as intake,
              (select count(*)::int from workflow_starts where message_id = $1) as outbox
         from messages where id = $1`,
      [id],
    );
    return rows[0]!;
  };

  test('a message accepted and never started is due from admission; the sweep purges its sealed data and outbox row', async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: {
        to: '+447400765501',
        body: 'Your table is booked.',
        purpose: 'transactional',
        validitySeconds: VALIDITY_SECONDS,
      },
    });
    expect(res.statusCode).toBe(202);
    const { id } = res.json<{ id: string }>();

    // Due at once: its validity's end, plus the stuck-after allowance, plus the tenant's retention.
    const before = await rowsOf(id);
    expect(before).toMatchObject({ purged: false, intake: 1, outbox: 1 });
    expect(before.due_ms).toBe(
      before.created_ms + (VALIDITY_SECONDS + STUCK_AFTER_SECONDS + RETENTION_SECONDS) * 1000,
    );

    // The region's sweep (the real activity; a task queue of its own, so it lists no one's workflows).
    const privacy = createPrivacyActivities({
      db,
      temporal,
      messages: messageWorkflows(
        new RegionalClients(
          temporal.connection,
          config.temporal.namespace,
          createRegionalConverters(config, newVault()),
        ),
      ),
      log: silentLog,
      retentionDefaults: config.retention.defaults,
      otpExemptDefault: config.optOut.otpExempt,
      tokens: new SubscriberTokens({ vault: newVault(), db }),
    });
    const env = new MockActivityEnvironment(
      { taskQueue: unique('backstop-sweep') },
      { logger: new DefaultLogger('ERROR', () => undefined) },
    );
    await eventually(
      'the never-started message purged',
      async () => {
        await env.run(privacy.purgeDueMessages, {
          region: 'global' as const,
          now: Date.now(),
          limit: 10,
        });
        return (await rowsOf(id)).purged ? true : undefined;
      },
      60_000,
    );
    expect(await rowsOf(id)).toMatchObject({ purged: true, intake: 0, outbox: 0 });
    const { rows: audit } = await db.query(
      `select detail from audit_log where action = 'message.purged' and subject = $1`,
      [id],
    );
    expect(audit).toEqual([{ detail: { reason: 'retention', stage: 'before_tokenize' } }]);
  });
});
