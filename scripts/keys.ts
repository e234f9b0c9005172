/**
 * API keys for admins (`npm run keys -- <command>`):
 *
 *   create --tenant acme --roles sender,admin [--label ci] [--expires 2027-01-01] [--ips 10.0.0.0/8,192.0.2.7]
 *   list [--tenant acme]
 *   revoke <key id>
 *   cert <key id> <client-cert.pem> [--label name]   (mutual TLS: the certificate stands for the key)
 *
 * The secret is printed once, on creation; only its SHA-256 is stored. Creation and revocation are
 * audited (`api_key.create`, `api_key.revoke`); a revoked key is refused from its next request on.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Pool } from 'pg';
import { createDbPool } from '../clients/db';
import { arg, runIfMain } from './cli';
import { loadConfig } from '../config/config';
import {
  createApiKey as createKey,
  listApiKeys,
  revokeApiKey,
  type CreatedKey,
  type CreateKeyOptions,
  type Role,
} from '../db/api-keys';
import { appendAudit } from '../db/audit';

export type { CreatedKey } from '../db/api-keys';

/** Creates an API key and returns its secret (the only time it is available). A string fourth argument is the label. */
export function createApiKey(
  db: Pool,
  tenant: string,
  roles: Role[],
  options: CreateKeyOptions | string = {},
  expiresAt?: Date,
): Promise<CreatedKey> {
  return createKey(
    db,
    tenant,
    roles,
    typeof options === 'string' ? { label: options, expiresAt } : options,
  );
}

/** The SHA-256 fingerprint of a PEM certificate's DER bytes, as `client_certificates` stores it. */
export const certificateFingerprint = (pem: string | Buffer) =>
  new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();

/** Registers a client certificate for a key (mutual TLS). Audited as `api_key.certificate`. */
export async function addClientCertificate(
  db: Pool,
  keyId: string,
  pem: string | Buffer,
  label?: string,
): Promise<string> {
  const fingerprint = certificateFingerprint(pem);
  const { rows } = await db.query<{ tenant: string }>(
    'select tenant from api_keys where id = $1 and revoked_at is null',
    [keyId],
  );
  if (!rows[0]) throw new Error('no such active key');
  await db.query(
    'insert into client_certificates (fingerprint_sha256, key_id, label) values ($1, $2, $3)',
    [fingerprint, keyId, label ?? null],
  );
  await appendAudit(db, {
    actor: 'cli:keys',
    tenant: rows[0].tenant,
    action: 'api_key.certificate',
    subject: keyId,
    detail: { fingerprint },
  });
  return fingerprint;
}

function date(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new Error('--expires must be a date, e.g. 2027-01-01');
  return d;
}

const USAGE =
  'usage: keys create --tenant T --roles r1,r2 [--label L] [--expires DATE] [--ips CIDR,...] | list [--tenant T] | revoke <id> | cert <id> <cert.pem> [--label L]';

async function main() {
  const command = process.argv[2];
  if (!['create', 'list', 'revoke', 'cert'].includes(command ?? '')) throw new Error(USAGE);
  const db = createDbPool(loadConfig().database, 'sms-keys');
  try {
    if (command === 'create') {
      const tenant = arg('tenant');
      if (!tenant) throw new Error('--tenant is required');
      const ips = arg('ips');
      const key = await createKey(db, tenant, (arg('roles') ?? 'sender').split(',') as Role[], {
        label: arg('label'),
        expiresAt: date(arg('expires')),
        allowedIps: ips ? ips.split(',') : undefined,
      });
      process.stdout.write(
        `id      ${key.id}\ntenant  ${key.tenant}\nroles   ${key.roles.join(',')}\nsecret  ${key.secret}\n(shown once: store it now)\n`,
      );
    } else if (command === 'list') {
      for (const k of await listApiKeys(db, arg('tenant'))) {
        process.stdout.write(
          [
            k.id,
            k.tenant,
            k.roles.join(','),
            k.state,
            `expires=${k.expiresAt?.toISOString() ?? 'never'}`,
            `ips=${k.allowedIps?.join(',') ?? 'any'}`,
            `last-used=${k.lastUsedAt?.toISOString() ?? 'never'}`,
            `requests-24h=${k.requests24h}`,
            k.label ?? '',
          ].join('  ') + '\n',
        );
      }
    } else if (command === 'revoke') {
      const id = process.argv[3];
      if (!id) throw new Error(USAGE);
      await revokeApiKey(db, id);
      process.stdout.write(`revoked ${id}\n`);
    } else {
      const [id, file] = [process.argv[3], process.argv[4]];
      if (!id || !file) throw new Error(USAGE);
      const fingerprint = await addClientCertificate(db, id, readFileSync(file), arg('label'));
      process.stdout.write(`certificate ${fingerprint} now stands for ${id}\n`);
    }
  } finally {
    await db.end();
  }
}

runIfMain(module, main);
