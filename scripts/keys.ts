/**
 * API keys for admins: `npm run keys -- create --tenant acme --roles sender,admin [--label ci] [--expires 2027-01-01]`,
 * `npm run keys -- list [--tenant acme]`, `npm run keys -- revoke <key id>`.
 * The secret is printed once, on creation; only its SHA-256 is stored.
 */
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { ulid } from 'ulid';
import { hashApiKey, ROLES, type Role } from '../api/plugins/auth';
import { createDbPool } from '../clients/db';
import { loadConfig } from '../config/config';

export interface CreatedKey {
  id: string;
  secret: string;
  tenant: string;
  roles: Role[];
}

/** Creates an API key and returns its secret (the only time it is available). */
export async function createApiKey(
  db: Pool,
  tenant: string,
  roles: Role[],
  label?: string,
  expiresAt?: Date,
): Promise<CreatedKey> {
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(tenant))
    throw new Error('tenant must be 1-63 of a-z, 0-9, _ and -');
  const bad = roles.filter((r) => !ROLES.includes(r));
  if (!roles.length || bad.length) throw new Error(`roles must be some of ${ROLES.join(', ')}`);
  const id = `key_${ulid()}`;
  const secret = `sk_${randomBytes(32).toString('base64url')}`;
  await db.query(
    'insert into api_keys (id, tenant, key_hash, roles, label, expires_at) values ($1, $2, $3, $4, $5, $6)',
    [id, tenant, hashApiKey(secret), roles, label ?? null, expiresAt ?? null],
  );
  return { id, secret, tenant, roles };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  const db = createDbPool(loadConfig().database, 'sms-keys');
  try {
    const command = process.argv[2];
    if (command === 'create') {
      const tenant = arg('tenant');
      if (!tenant) throw new Error('--tenant is required');
      const roles = (arg('roles') ?? 'sender').split(',') as Role[];
      const expires = arg('expires');
      const key = await createApiKey(
        db,
        tenant,
        roles,
        arg('label'),
        expires ? new Date(expires) : undefined,
      );
      process.stdout.write(
        `id      ${key.id}\ntenant  ${key.tenant}\nroles   ${key.roles.join(',')}\nsecret  ${key.secret}\n(shown once: store it now)\n`,
      );
    } else if (command === 'list') {
      const tenant = arg('tenant');
      const { rows } = await db.query(
        `select id, tenant, roles, label, created_at, expires_at, revoked_at from api_keys where ($1::text is null or tenant = $1) order by created_at`,
        [tenant ?? null],
      );
      for (const r of rows) {
        process.stdout.write(
          `${r.id}  ${r.tenant}  ${(r.roles as string[]).join(',')}  ${r.label ?? ''}  ${r.revoked_at ? 'revoked' : r.expires_at && r.expires_at < new Date() ? 'expired' : 'active'}\n`,
        );
      }
    } else if (command === 'revoke') {
      const id = process.argv[3];
      const r = await db.query(
        'update api_keys set revoked_at = now() where id = $1 and revoked_at is null',
        [id],
      );
      if (r.rowCount === 0) throw new Error('no such active key');
      process.stdout.write(`revoked ${id}\n`);
    } else {
      throw new Error(
        'usage: keys create --tenant T --roles r1,r2 | list [--tenant T] | revoke <id>',
      );
    }
  } finally {
    await db.end();
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
