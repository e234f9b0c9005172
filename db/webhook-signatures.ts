import type { Pool } from 'pg';

/**
 * Inbound webhook signatures seen, in PostgreSQL so that a replay is refused by every API process,
 * not only the one that accepted the original. Rows expire after the signature's tolerance window.
 */

/**
 * Claims a signature: true the first time (the caller may act on the webhook), false if any
 * process claimed it before. Now and then deletes expired rows on the way.
 */
export async function claimWebhookSignature(
  db: Pool,
  signature: string,
  ttlSeconds: number,
): Promise<boolean> {
  if (Math.random() < 0.01)
    await db.query('delete from webhook_signatures_seen where expires_at < now()');
  const { rowCount } = await db.query(
    `insert into webhook_signatures_seen (signature, expires_at)
     values ($1, now() + make_interval(secs => $2)) on conflict do nothing`,
    [signature, ttlSeconds],
  );
  return rowCount === 1;
}

/** Gives a claim back when the webhook could not be acted on, so the sender's retry is not taken for a replay. */
export async function releaseWebhookSignature(db: Pool, signature: string): Promise<void> {
  await db.query('delete from webhook_signatures_seen where signature = $1', [signature]);
}
