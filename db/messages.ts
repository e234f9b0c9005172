import type { Region } from '../domain/regions';
/**
 * The API's reads of a message's status row (`messages`, with its `message_events` history): what
 * `GET /v1/messages/:id` and a retried `POST /v1/messages` answer from PostgreSQL, never from
 * Temporal. The row is written by the admitting statement (db/admission.ts) and kept current by the
 * workers' bookkeeping. No personal data: the recipient is a hint (calling code and two digits).
 */
import type { Pool } from 'pg';

/** One event of a message's history, as the status answer shows it. */
export interface MessageEventRow {
  status: string;
  at: string;
  carrier: string | null;
  detail: string | null;
}

/** A message's status row with its history and the parts its current carrier acknowledged. */
export interface MessageRow {
  id: string;
  tenant: string;
  status: string;
  purpose: string;
  country: string | null;
  region: string;
  recipient_hint: string | null;
  encoding: string;
  segments: number;
  campaign: string | null;
  carrier: string | null;
  sender: string | null;
  attempts: number;
  reason: string | null;
  created_at: Date;
  submitted_at: Date | null;
  completed_at: Date | null;
  purged_at: Date | null;
  history: MessageEventRow[];
  submitted_parts: number;
}

/** The tenant's message `id` with its history, or undefined when the tenant has no such row. */
export async function findMessage(
  db: Pool,
  id: string,
  tenant: string,
): Promise<MessageRow | undefined> {
  const { rows } = await db.query<MessageRow>(
    `select m.*, coalesce((select json_agg(json_build_object('status', e.status, 'at', e.at, 'carrier', e.carrier, 'detail', e.detail) order by e.at, e.id)
                             from message_events e where e.message_id = m.id), '[]'::json) as history,
            (select count(*)::int from dispatch_journal j where j.message_id = m.id and j.carrier = m.carrier) as submitted_parts
       from messages m where m.id = $1 and m.tenant = $2`,
    [id, tenant],
  );
  return rows[0];
}

/**
 * The region of message `id` as its row records it (global without a row): its workflow's signals
 * go through that region's client (clients/temporal.ts, `RegionalClients`).
 */
export async function findMessageRegion(db: Pool, id: string): Promise<Region> {
  const { rows } = await db.query<{ region: Region }>('select region from messages where id = $1', [
    id,
  ]);
  return rows[0]?.region ?? 'global';
}

/** The status of the tenant's message `id` as its row records it, or undefined without a row. */
export async function findMessageStatus(
  db: Pool,
  id: string,
  tenant: string,
): Promise<string | undefined> {
  const { rows } = await db.query<{ status: string }>(
    'select status from messages where id = $1 and tenant = $2',
    [id, tenant],
  );
  return rows[0]?.status;
}
