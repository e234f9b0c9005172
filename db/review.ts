import type { Pool } from 'pg';
import { configChanged } from './config-cache';
import { withTransaction } from './transaction';
import { redactForPeople } from '../domain/masking';
import {
  MODE_DEFAULTS,
  type ReasonCode,
  type ReviewMode,
  type ReviewPolicy,
  type Verdict,
} from '../domain/review';

/**
 * Review policies and review tasks in PostgreSQL (db/migrations/1764000004000_review.sql).
 * Leases live in the task row: a task is free when it is open and its lease is missing or expired,
 * so an expired lease puts the task back without any sweeper.
 */

export interface StoredReviewPolicy extends ReviewPolicy {
  tenant: string;
  /** Undefined for the tenant's default policy. */
  campaign?: string;
  updatedBy: string;
  updatedAt: string;
}

interface PolicyRow {
  tenant: string;
  campaign: string;
  sample_rate: string;
  first_n_new_signature: number;
  first_n_new_template: number;
  flag_phrases: string[];
  mode: ReviewMode;
  sla_seconds: number;
  default_decision: Verdict;
  updated_by: string;
  updated_at: Date;
}

const policyOf = (r: PolicyRow): StoredReviewPolicy => ({
  tenant: r.tenant,
  ...(r.campaign ? { campaign: r.campaign } : {}),
  sampleRate: Number(r.sample_rate),
  firstNNewSignature: r.first_n_new_signature,
  firstNNewTemplate: r.first_n_new_template,
  flagPhrases: r.flag_phrases,
  mode: r.mode,
  slaSeconds: r.sla_seconds,
  defaultDecision: r.default_decision,
  updatedBy: r.updated_by,
  updatedAt: r.updated_at.toISOString(),
});

/** The policy that applies to a message: its campaign's, else the tenant's; undefined = never reviewed. */
export async function findReviewPolicy(
  db: Pool,
  tenant: string,
  campaign?: string,
): Promise<StoredReviewPolicy | undefined> {
  const { rows } = await db.query<PolicyRow>(
    `select * from review_policies where tenant = $1 and campaign in ('', $2)
      order by campaign desc limit 1`,
    [tenant, campaign ?? ''],
  );
  return rows[0] && policyOf(rows[0]);
}

export async function listReviewPolicies(db: Pool, tenant: string): Promise<StoredReviewPolicy[]> {
  const { rows } = await db.query<PolicyRow>(
    'select * from review_policies where tenant = $1 order by campaign',
    [tenant],
  );
  return rows.map(policyOf);
}

/** Creates or replaces a policy; SLA and default decision fall back to the mode's defaults. */
export async function putReviewPolicy(
  db: Pool,
  p: Omit<ReviewPolicy, 'slaSeconds' | 'defaultDecision'> &
    Partial<Pick<ReviewPolicy, 'slaSeconds' | 'defaultDecision'>> & {
      tenant: string;
      campaign?: string;
      updatedBy: string;
    },
): Promise<StoredReviewPolicy> {
  const defaults = MODE_DEFAULTS[p.mode];
  const { rows } = await db.query<PolicyRow>(
    `insert into review_policies (tenant, campaign, sample_rate, first_n_new_signature, first_n_new_template,
                                  flag_phrases, mode, sla_seconds, default_decision, updated_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     on conflict (tenant, campaign) do update set
       sample_rate = excluded.sample_rate, first_n_new_signature = excluded.first_n_new_signature,
       first_n_new_template = excluded.first_n_new_template, flag_phrases = excluded.flag_phrases,
       mode = excluded.mode, sla_seconds = excluded.sla_seconds, default_decision = excluded.default_decision,
       updated_by = excluded.updated_by, updated_at = now()
     returning *`,
    [
      p.tenant,
      p.campaign ?? '',
      p.sampleRate,
      p.firstNNewSignature,
      p.firstNNewTemplate,
      p.flagPhrases,
      p.mode,
      p.slaSeconds ?? defaults.slaSeconds,
      p.defaultDecision ?? defaults.defaultDecision,
      p.updatedBy,
    ],
  );
  configChanged();
  return policyOf(rows[0]!);
}

export async function deleteReviewPolicy(
  db: Pool,
  tenant: string,
  campaign?: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    'delete from review_policies where tenant = $1 and campaign = $2',
    [tenant, campaign ?? ''],
  );
  configChanged();
  return (rowCount ?? 0) > 0;
}

/**
 * A task in a reviewer's queue listing: what a reviewer needs to pick and prioritise (who, as the
 * task's pseudonym; where; what kind; how old; how long until its SLA runs out), never its content,
 * which only a lease opens.
 */
export interface QueuedTask {
  id: string;
  mode: ReviewMode;
  /** The task's own pseudonym of the subscriber (null once its content is gone). */
  pseudonym: string | null;
  /** Destination country (ISO 3166 alpha-2), null once its content is gone. */
  country: string | null;
  /** The message's purpose (otp, transactional, marketing), null once the message is purged. */
  purpose: string | null;
  createdAt: string;
  dueAt: string;
  /** Seconds since the task opened, by the database's clock. */
  ageSeconds: number;
  /** Seconds until the SLA runs out (0 once it has), by the database's clock. */
  slaSecondsLeft: number;
  /** Held by someone's live lease right now. */
  leased: boolean;
}

/** The open tasks of a tenant's queue, oldest first. */
export async function listOpenTasks(db: Pool, tenant: string, limit = 50): Promise<QueuedTask[]> {
  const { rows } = await db.query<{
    id: string;
    mode: ReviewMode;
    pseudonym: string | null;
    country: string | null;
    purpose: string | null;
    created_at: Date;
    due_at: Date;
    age_seconds: number;
    sla_seconds_left: number;
    leased: boolean;
  }>(
    `select t.id, t.mode, c.pseudonym, c.country, m.purpose, t.created_at, t.due_at,
            floor(extract(epoch from now() - t.created_at))::int as age_seconds,
            greatest(0, ceil(extract(epoch from t.due_at - now())))::int as sla_seconds_left,
            coalesce(t.lease_expires_at > now(), false) as leased
       from review_tasks t
       left join review_task_content c on c.task_id = t.id
       left join messages m on m.id = t.message_id
      where t.tenant = $1 and t.status = 'open' order by t.created_at, t.id limit $2`,
    [tenant, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    mode: r.mode,
    pseudonym: r.pseudonym,
    country: r.country,
    purpose: r.purpose,
    createdAt: r.created_at.toISOString(),
    dueAt: r.due_at.toISOString(),
    ageSeconds: r.age_seconds,
    slaSecondsLeft: r.sla_seconds_left,
    leased: r.leased,
  }));
}

export interface Lease {
  taskId: string;
  leaseExpiresAt: string;
}

/**
 * Claims a task for a reviewer: the given one, or the oldest free one of the queue. A task is free
 * when open and unleased, or leased by the same reviewer, or its lease has expired.
 * Undefined when there is nothing to claim.
 */
export async function claimTask(
  db: Pool,
  {
    tenant,
    reviewer,
    leaseSeconds,
    taskId,
  }: { tenant: string; reviewer: string; leaseSeconds: number; taskId?: string },
): Promise<Lease | undefined> {
  const { rows } = await db.query<{ id: string; lease_expires_at: Date }>(
    `update review_tasks set lease_holder = $2, lease_expires_at = now() + make_interval(secs => $3)
      where id = (
        select id from review_tasks
         where tenant = $1 and status = 'open' and ($4::text is null or id = $4)
           and (lease_expires_at is null or lease_expires_at <= now() or lease_holder = $2)
         order by created_at, id
         limit 1 for update skip locked)
      returning id, lease_expires_at`,
    [tenant, reviewer, leaseSeconds, taskId ?? null],
  );
  const r = rows[0];
  return r && { taskId: r.id, leaseExpiresAt: r.lease_expires_at.toISOString() };
}

/** What a reviewer reads under a lease: pseudonymized and redacted only (`redactForPeople`). */
export interface TaskContent {
  id: string;
  mode: ReviewMode;
  leaseExpiresAt: string;
  dueAt: string;
  pseudonym: string;
  country: string;
  carrier: string | null;
  senderId: string | null;
  senderSignature: string | null;
  body: string;
  encoding: string;
  segments: number;
  deliveryOutcome: string | null;
}

/** Where a task stands for one reviewer; content only while they hold a live lease on an open task. */
export type TaskAccess =
  | { kind: 'missing' }
  | { kind: 'closed' }
  | { kind: 'no_lease' }
  | { kind: 'leased'; content: TaskContent; messageId: string };

export async function readTask(
  db: Pool,
  { tenant, reviewer, taskId }: { tenant: string; reviewer: string; taskId: string },
): Promise<TaskAccess> {
  const { rows } = await db.query(
    `select t.id, t.message_id, t.mode, t.status, t.due_at, t.lease_expires_at,
            (t.lease_holder = $3 and t.lease_expires_at > now()) as held,
            c.pseudonym, c.country, c.carrier, c.sender_id, c.sender_signature, c.body_masked,
            c.encoding, c.segments, c.delivery_outcome
       from review_tasks t left join review_task_content c on c.task_id = t.id
      where t.id = $1 and t.tenant = $2`,
    [taskId, tenant, reviewer],
  );
  const r = rows[0];
  if (!r) return { kind: 'missing' };
  if (r.status !== 'open' || r.pseudonym === null) return { kind: 'closed' };
  if (!r.held) return { kind: 'no_lease' };
  return {
    kind: 'leased',
    messageId: r.message_id,
    content: {
      id: r.id,
      mode: r.mode,
      leaseExpiresAt: r.lease_expires_at.toISOString(),
      dueAt: r.due_at.toISOString(),
      pseudonym: r.pseudonym,
      country: r.country,
      carrier: r.carrier,
      senderId: r.sender_id,
      // Stored redacted; redacted again on the way out, so a task stored under older rules (codes
      // masked, numbers not) never shows more than today's rules allow.
      senderSignature: r.sender_signature === null ? null : redactForPeople(r.sender_signature),
      body: redactForPeople(r.body_masked),
      encoding: r.encoding,
      segments: r.segments,
      deliveryOutcome: r.delivery_outcome,
    },
  };
}

/**
 * Records a reviewer's decision on a task they hold, deletes its content and adds the decision to
 * the message's history, in one transaction. Returns the message id to signal, or why it could not.
 */
export async function completeTask(
  db: Pool,
  d: {
    tenant: string;
    reviewer: string;
    taskId: string;
    verdict: Verdict;
    reasonCode: ReasonCode;
    noteMasked: string;
  },
): Promise<
  { ok: true; messageId: string; mode: ReviewMode } | { ok: false; access: TaskAccess['kind'] }
> {
  // Nothing to decide (not open, not held): the transaction is rolled back, then the task is read
  // again to say why.
  const decided = await withTransaction(
    db,
    async (tx) => {
      const { rows } = await tx.query<{ message_id: string; mode: ReviewMode }>(
        `update review_tasks set status = 'decided', verdict = $4, reason_code = $5, note_masked = $6,
                decided_by = $3, decided_at = now(), lease_holder = null, lease_expires_at = null
          where id = $1 and tenant = $2 and status = 'open' and lease_holder = $3 and lease_expires_at > now()
          returning message_id, mode`,
        [d.taskId, d.tenant, d.reviewer, d.verdict, d.reasonCode, d.noteMasked || null],
      );
      const row = rows[0];
      if (!row) return undefined;
      await tx.query('delete from review_task_content where task_id = $1', [d.taskId]);
      await tx.query(
        `insert into message_events (message_id, status, detail) values ($1, 'in_review', $2)`,
        [row.message_id, `${row.mode} review: ${d.verdict} (${d.reasonCode}) by a reviewer`],
      );
      return row;
    },
    { commitIf: (row) => row !== undefined },
  );
  if (!decided) return { ok: false, access: (await readTask(db, d)).kind };
  return { ok: true, messageId: decided.message_id, mode: decided.mode };
}

/** Gives a held task back to the queue; false when the reviewer did not hold it. */
export async function releaseTask(
  db: Pool,
  { tenant, reviewer, taskId }: { tenant: string; reviewer: string; taskId: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `update review_tasks set lease_holder = null, lease_expires_at = null
      where id = $1 and tenant = $2 and status = 'open' and lease_holder = $3 and lease_expires_at > now()`,
    [taskId, tenant, reviewer],
  );
  return (rowCount ?? 0) > 0;
}
