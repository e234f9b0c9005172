/**
 * The anomaly detector's activity: one evaluation window per call from the long-running
 * `anomalyDetectorWorkflow`. Failure rates per carrier, country and sender number, and
 * requests per minute per API key, are judged against their EWMA baselines (domain/anomaly.ts).
 * An anomaly raises one alert per episode: a structured log line, a row in `anomaly_alerts`, and an
 * optional signed webhook; a sender number whose failure rate spikes is quarantined.
 */
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import { signWebhook } from '../../domain/webhook-signature';
import type { OutboundHttp } from '../../clients/outbound-http';
import {
  advanceWindow,
  insertAlert,
  loadBaselines,
  lockWindow,
  observe,
  quarantineSender,
  saveBaseline,
  type Observation,
} from '../../db/operations';
import {
  DEFAULT_ANOMALY_POLICIES,
  evaluateSample,
  judgeWorkerSilence,
  NO_WORKER_ALERT_SECONDS,
  REGION_NO_WORKER,
  type AlertKind,
  type AnomalyKind,
  type AnomalyPolicy,
} from '../../domain/anomaly';
import { REGIONS, taskQueueFor, type Region } from '../../domain/regions';
import { regionSilence } from '../../db/worker-heartbeats';
import { withTransaction } from '../../db/transaction';

export interface DetectAnomaliesInput {
  /** Names the baselines and the watermark; one per schedule (tests use their own). */
  detector: string;
  /** Length of the first window, when the detector has no watermark yet. */
  firstWindowSeconds: number;
  /** Overrides of the default policies, per kind. */
  policies?: Partial<Record<AnomalyKind, Partial<AnomalyPolicy>>>;
  /**
   * Watch the regions' workers (heartbeats, db/worker-heartbeats.ts) on the task queues with this
   * prefix: alert (`region_no_worker`) when a region that had a worker has had none for
   * `afterSeconds` (default {@link NO_WORKER_ALERT_SECONDS}). Left out: not watched.
   */
  workers?: { taskQueuePrefix: string; afterSeconds?: number };
}

/** One alert, as logged, stored and posted to the webhook. No personal values. */
export interface AnomalyAlert {
  kind: AlertKind;
  /** Carrier name, ISO country, `<tenant>/<sender number>`, API key id or region. */
  subject: string;
  /** The window's failure rate (0–1), requests per minute, or seconds without a worker. */
  value: number;
  /** The baseline it was compared with (for `region_no_worker`: the threshold in seconds). */
  baseline: number;
  /** Attempts or requests in the window (0 for `region_no_worker`). */
  volume: number;
  /** Pools where the sender number was quarantined (sender alerts). */
  quarantined: string[];
  detector: string;
  at: string;
}

export interface DetectAnomaliesResult {
  from: string;
  to: string;
  observations: number;
  alerts: AnomalyAlert[];
  recovered: string[];
}

/** The detector's clients. */
export interface AnomalyActivityDeps {
  db: Pool;
  log: Logger;
  /**
   * Where alerts are POSTed (JSON), signed like status callbacks with `secret`: the operators' own
   * (ANOMALY_WEBHOOK_SECRET), never a tenant's. Sent through the guarded client `http`.
   */
  webhook?: { url: string; secret: string; http: OutboundHttp };
}

type Tx = Parameters<typeof quarantineSender>[0];
type Baselines = Awaited<ReturnType<typeof loadBaselines>>;
/** What one window found: new alerts, and the `<kind>:<subject>` episodes that ended. */
type Findings = { alerts: AnomalyAlert[]; recovered: string[] };

const policyFor = (input: DetectAnomaliesInput, kind: AnomalyKind): AnomalyPolicy => ({
  ...DEFAULT_ANOMALY_POLICIES[kind],
  ...input.policies?.[kind],
});

/** Judges each observation against its baseline, saving the baselines and raising (and quarantining) on anomalies. */
async function judgeObservations(
  tx: Tx,
  input: DetectAnomaliesInput,
  observations: Observation[],
  baselines: Baselines,
  found: Findings,
): Promise<void> {
  for (const o of observations) {
    const e = evaluateSample(baselines.get(`${o.kind}\n${o.subject}`), o, policyFor(input, o.kind));
    if (!e) continue;
    await saveBaseline(tx, input.detector, o.kind, o.subject, e.baseline);
    if (e.recovered) found.recovered.push(`${o.kind}:${o.subject}`);
    if (!e.raise) continue;
    const quarantined = o.kind === 'sender_failure' ? await quarantine(tx, o, e.expected) : [];
    const alert = alertOf(input.detector, o, e.expected, quarantined);
    await insertAlert(tx, input.detector, { ...o, baseline: e.expected, quarantined });
    found.alerts.push(alert);
  }
}

/** Judges how long each region has been without a worker (`input.workers`), raising `region_no_worker`. */
async function judgeWorkerSilences(
  tx: Tx,
  input: DetectAnomaliesInput,
  workers: NonNullable<DetectAnomaliesInput['workers']>,
  baselines: Baselines,
  found: Findings,
): Promise<void> {
  const { taskQueuePrefix, afterSeconds = NO_WORKER_ALERT_SECONDS } = workers;
  const silences = await regionSilence(
    tx,
    (region) => taskQueueFor(region as Region, taskQueuePrefix),
    REGIONS,
  );
  for (const { region, silentSeconds } of silences) {
    const e = judgeWorkerSilence(
      baselines.get(`${REGION_NO_WORKER}\n${region}`),
      silentSeconds,
      afterSeconds,
    );
    await saveBaseline(tx, input.detector, REGION_NO_WORKER, region, e.baseline);
    if (e.recovered) found.recovered.push(`${REGION_NO_WORKER}:${region}`);
    if (!e.raise) continue;
    const o = {
      kind: REGION_NO_WORKER as AlertKind,
      subject: region,
      value: silentSeconds,
      volume: 0,
    };
    await insertAlert(tx, input.detector, { ...o, baseline: afterSeconds, quarantined: [] });
    found.alerts.push(alertOf(input.detector, o, afterSeconds, []));
  }
}

/** Evaluates the window since the detector's last run, in one transaction. */
async function evaluateWindow(
  db: Pool,
  input: DetectAnomaliesInput,
): Promise<DetectAnomaliesResult> {
  return withTransaction(db, async (tx) => {
    const window = await lockWindow(tx, input.detector, input.firstWindowSeconds * 1000);
    const observations = await observe(tx, window);
    const baselines = await loadBaselines(tx, input.detector);
    const found: Findings = { alerts: [], recovered: [] };
    await judgeObservations(tx, input, observations, baselines, found);
    if (input.workers) await judgeWorkerSilences(tx, input, input.workers, baselines, found);
    await advanceWindow(tx, input.detector, window.to);
    return {
      from: window.from.toISOString(),
      to: window.to.toISOString(),
      observations: observations.length,
      alerts: found.alerts,
      recovered: found.recovered,
    };
  });
}

async function quarantine(tx: Tx, o: Observation, expected: number): Promise<string[]> {
  const cut = o.subject.lastIndexOf('/');
  const reason = `anomaly: failure rate ${pct(o.value)} over ${o.volume} attempts (baseline ${pct(expected)})`;
  return quarantineSender(tx, o.subject.slice(0, cut), o.subject.slice(cut + 1), reason);
}

/** POSTs the alert to the operators' webhook, if any; failures are logged, never thrown. */
async function postAlert(
  { webhook, log }: AnomalyActivityDeps,
  alert: AnomalyAlert,
): Promise<void> {
  if (!webhook) return;
  const body = JSON.stringify(alert);
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const res = await webhook.http.post(webhook.url, {
      headers: {
        'content-type': 'application/json',
        'x-timestamp': String(timestamp),
        'x-signature': signWebhook(webhook.secret, timestamp, body),
      },
      body,
    });
    if (res.status < 200 || res.status >= 300)
      log.warn({ status: res.status }, 'anomaly webhook refused the alert');
  } catch (err) {
    // The alert is stored and logged; a webhook outage must not re-run the window.
    log.warn({ error: (err as Error).name }, 'anomaly webhook unreachable');
  }
}

/** Builds the detector activity around its database, logger and optional alert webhook. */
export function createAnomalyActivities(deps: AnomalyActivityDeps) {
  return {
    /**
     * Evaluates the window since the detector's last run, in one transaction (baselines, episodes,
     * alerts, quarantines and the watermark commit together, so a retry never alerts twice), then
     * logs each new alert and posts it to the webhook.
     */
    async detectAnomalies(input: DetectAnomaliesInput): Promise<DetectAnomaliesResult> {
      const result = await evaluateWindow(deps.db, input);
      for (const alert of result.alerts) {
        deps.log.warn({ alert }, 'anomaly detected');
        await postAlert(deps, alert);
      }
      return result;
    },
  };
}

const pct = (v: number) => `${Math.round(v * 100)}%`;

function alertOf(
  detector: string,
  o: Omit<Observation, 'kind'> & { kind: AlertKind },
  expected: number,
  quarantined: string[],
): AnomalyAlert {
  return {
    kind: o.kind,
    subject: o.subject,
    value: o.value,
    baseline: expected,
    volume: o.volume,
    quarantined,
    detector,
    at: new Date().toISOString(),
  };
}

export type AnomalyActivities = ReturnType<typeof createAnomalyActivities>;
