import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Client } from '@temporalio/client';
import { checkWebhookSignature } from '../../domain/webhook-signature';
import { createDataConverter, createTemporalClient } from '../../clients/temporal';
import { vaultClientFor } from '../../clients/vault';
import { needleVariants, scanForLeaks } from '../../scripts/leak-scan';
import { ensureAnomalyDetector } from '../../workers/schedules';
import { runAnomalyDetectionUpdate } from '../../workflows/anomaly';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { silentLog, unique } from '../helpers/stack';

/**
 * The anomaly detector end to end: its Temporal Schedule runs the detector workflow on the global
 * worker; the SMPP simulator is driven into a failure spike (every receipt UNDELIV) for messages
 * sent from one sender number. Exactly one alert (log line, row, webhook) and that number
 * quarantined; a second anomalous window in the same episode raises nothing new.
 */
describe('anomaly detection on a Temporal Schedule', () => {
  let p: Pipeline;
  let temporal: Client;
  let webhook: Server;
  const posted: { kind: string; subject: string; quarantined: string[] }[] = [];
  /** Whether each POST verified with the operators' secret (never a tenant's). */
  const signedByOperators: boolean[] = [];
  const operatorSecret = 'test-operators-anomaly-webhook-secret';
  const logLines: string[] = [];
  const carrier = `anom-${Math.random().toString(36).slice(2, 8)}`;
  const sender = '+447000000013';
  let detectorId: string;
  const recipients: string[] = [];

  const sendBatch = async (n: number) => {
    const ids = await Promise.all(
      Array.from({ length: n }, async () => {
        const to = `+4474009${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`;
        recipients.push(to);
        const res = await p.send({ to, body: 'Your code is 818181', purpose: 'otp', sender });
        expect(res.status).toBe(202);
        return ((await res.json()) as { id: string }).id;
      }),
    );
    return p.waitFinal(ids);
  };

  /** Asks the long-running detector to evaluate the window up to now, and answers its result. */
  const runDetector = async () =>
    temporal.workflow.getHandle(detectorId).executeUpdate(runAnomalyDetectionUpdate);

  const alertsFor = async (subject: string) =>
    (
      await p.db.query<{ kind: string; quarantined: string[] }>(
        `select kind, quarantined from anomaly_alerts where detector = $1 and subject = $2`,
        [detectorId, subject],
      )
    ).rows;

  beforeAll(async () => {
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posted.push(JSON.parse(body) as (typeof posted)[number]);
        signedByOperators.push(
          checkWebhookSignature(operatorSecret, req.headers, body, Math.floor(Date.now() / 1000))
            .ok,
        );
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const log = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(chunk.toString());
          done();
        },
      }),
    );
    p = await startPipeline({
      log,
      env: {
        ANOMALY_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts`,
        ANOMALY_WEBHOOK_SECRET: operatorSecret,
        // The receiver listens on loopback, which outbound requests refuse unless allowed.
        ANOMALY_WEBHOOK_ALLOW_CIDRS: '127.0.0.1/32',
      },
      carriers: ([smsc]) => [
        {
          kind: 'smpp',
          name: carrier,
          priority: 10,
          countries: [],
          host: '127.0.0.1',
          port: smsc!.port,
          systemId: 'sms',
          password: 'sms',
          windowSize: 10,
          throughputPerSecond: 1000,
        },
      ],
    });
    // The detector runs on the global worker: its update and result under the global worker's codec.
    const vault = vaultClientFor(p.config, 'worker-global', { log: silentLog });
    temporal = await createTemporalClient(
      p.config,
      vault,
      createDataConverter(p.config, vault).dataConverter,
    );
    // A long interval: after its first window the test runs each one itself (the `runNow` update),
    // so windows do not depend on timing.
    detectorId = await ensureAnomalyDetector(temporal, p.config, {
      workflowId: unique('anomaly'),
      intervalSeconds: 3600,
    });
  }, 120_000);

  afterAll(async () => {
    await temporal?.workflow
      .getHandle(detectorId)
      .terminate('test finished')
      .catch(() => undefined);
    await temporal?.connection.close();
    await p?.close();
    await new Promise((r) => webhook?.close(r));
  });

  test('a failure spike on one sender number raises exactly one alert and quarantines that number', async () => {
    const subject = `${p.tenant}/${sender}`;
    // A healthy window teaches the baseline.
    const healthy = await sendBatch(6);
    expect([...healthy.values()].map((m) => m.status)).toEqual(Array(6).fill('delivered'));
    await runDetector();
    expect(await alertsFor(subject)).toEqual([]);

    // The spike: the carrier reports every message undeliverable.
    p.smscs[0]!.setBehaviour({ receiptOutcome: () => 'UNDELIV' });
    const spike = await sendBatch(6);
    expect([...spike.values()].map((m) => m.status)).toEqual(Array(6).fill('undelivered'));
    const run = await runDetector();
    expect(run.alerts.filter((a) => a.subject === subject)).toHaveLength(1);

    const numbers = await p.db.query<{ number: string; status: string; reason: string }>(
      `select n.number, n.status, n.quarantine_reason as reason from pool_numbers n
         join number_pools p on p.id = n.pool_id where p.tenant = $1 and p.purpose = 'otp' order by n.number`,
      [p.tenant],
    );
    expect(numbers.rows.map((r) => [r.number, r.status])).toEqual([
      ['+447000000003', 'active'],
      [sender, 'quarantined'],
      ['+447000000023', 'active'],
    ]);
    expect(numbers.rows[1]!.reason).toMatch(/^anomaly: failure rate 100%/);

    // Still failing in the next window (the number released by hand, the carrier still broken):
    // the episode is open, so no second alert.
    await p.db.query(
      `update pool_numbers set status = 'active', quarantined_at = null, quarantine_reason = null
        where number = $1 and pool_id in (select id from number_pools where tenant = $2)`,
      [sender, p.tenant],
    );
    const more = await sendBatch(6);
    expect([...more.values()].map((m) => m.status)).toEqual(Array(6).fill('undelivered'));
    const again = await runDetector();
    expect(again.alerts.filter((a) => a.subject === subject)).toEqual([]);

    const senderAlerts = await alertsFor(subject);
    expect(senderAlerts).toEqual([
      { kind: 'sender_failure', quarantined: [`pool_${p.tenant}_otp`] },
    ]);
    const carrierAlerts = await alertsFor(carrier);
    expect(carrierAlerts).toEqual([{ kind: 'carrier_failure', quarantined: [] }]);

    // The same one alert as a structured log line and a webhook POST.
    const logged = logLines
      .map((l) => JSON.parse(l) as { msg: string; alert?: { subject: string } })
      .filter((l) => l.msg === 'anomaly detected' && l.alert?.subject === subject);
    expect(logged).toHaveLength(1);
    expect(posted.filter((a) => a.subject === subject)).toEqual([
      expect.objectContaining({ kind: 'sender_failure', quarantined: [`pool_${p.tenant}_otp`] }),
    ]);
    expect(posted.filter((a) => a.subject === carrier)).toHaveLength(1);
    expect(signedByOperators).toEqual(posted.map(() => true));

    // Neither the alerts, the logs nor the tables hold a recipient.
    const needles = recipients.flatMap(needleVariants);
    expect(await scanForLeaks({ needles, logLines, db: p.db })).toEqual([]);
    for (const n of needles) expect(JSON.stringify(posted)).not.toContain(n);
  }, 300_000);
});
