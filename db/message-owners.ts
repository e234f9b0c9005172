import type { Pool } from 'pg';

/**
 * The tenant of each of the messages that exist (by id), in one query: from the charge written when
 * the message was accepted, else its message row. Ids of no message are left out.
 */
export async function messageTenants(
  db: Pool,
  messageIds: readonly string[],
): Promise<Map<string, string>> {
  if (messageIds.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; tenant: string }>(
    `select message_id as id, tenant from message_charges where message_id = any($1)
     union
     select id, tenant from messages where id = any($1)`,
    [messageIds],
  );
  return new Map(rows.map((r) => [r.id, r.tenant]));
}
