import type { Pool } from 'pg';
import { withTransaction } from './transaction';

/**
 * The rows of `callback_signing_secrets` (each tenant's sealed callback signing secrets); sealing and
 * opening is encryption/callback-secrets.ts.
 */
export interface SealedCallbackSecret {
  id: string;
  tenant: string;
  sealed: string;
  createdAt: Date;
  /** Null for the current secret; the end of the overlap for a previous one. */
  retiresAt: Date | null;
}

const columns = `id, tenant, sealed, created_at as "createdAt", retires_at as "retiresAt"`;
const active = `(retires_at is null or retires_at > now())`;

/**
 * Makes `secret` the tenant's current one, in one transaction: every earlier secret retires within
 * `overlapSeconds` (0: at once, e.g. after a leak; one already retiring sooner keeps its time), and
 * retired ones are deleted. Concurrent rotations of
 * one tenant queue on an advisory lock. Returns the tenant's secrets still valid, newest first.
 */
export async function insertCallbackSecret(
  db: Pool,
  row: { id: string; tenant: string; sealed: string },
  overlapSeconds: number,
): Promise<SealedCallbackSecret[]> {
  return withTransaction(db, async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(hashtext('callback-secret:' || $1))`, [
      row.tenant,
    ]);
    await tx.query(
      `update callback_signing_secrets
        set retires_at = least(coalesce(retires_at, 'infinity'), now() + make_interval(secs => $2))
      where tenant = $1`,
      [row.tenant, overlapSeconds],
    );
    await tx.query(
      `delete from callback_signing_secrets where tenant = $1 and retires_at <= now()`,
      [row.tenant],
    );
    await tx.query(
      `insert into callback_signing_secrets (id, tenant, sealed) values ($1, $2, $3)`,
      [row.id, row.tenant, row.sealed],
    );
    const { rows } = await tx.query<SealedCallbackSecret>(
      `select ${columns} from callback_signing_secrets
      where tenant = $1 and ${active} order by created_at desc, id desc`,
      [row.tenant],
    );
    return rows;
  });
}

/** The still-valid secrets of the tenant that sent message `messageId`, newest first (none: empty). */
export async function callbackSecretsOfMessage(
  db: Pool,
  messageId: string,
): Promise<SealedCallbackSecret[]> {
  const { rows } = await db.query<SealedCallbackSecret>(
    `select ${columns} from callback_signing_secrets
      where tenant = (select tenant from messages where id = $1) and ${active}
      order by created_at desc, id desc`,
    [messageId],
  );
  return rows;
}

/** Whether the tenant has a secret to sign callbacks with (a current one always exists after the first rotation). */
export async function hasCallbackSecret(db: Pool, tenant: string): Promise<boolean> {
  const { rows } = await db.query(
    `select 1 from callback_signing_secrets where tenant = $1 and retires_at is null limit 1`,
    [tenant],
  );
  return rows.length > 0;
}
