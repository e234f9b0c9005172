import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Pool } from 'pg';
import { ulid } from 'ulid';
import { appendAudit } from './audit';
import { configChanged } from './config-cache';

/**
 * The roles an API key can hold (DESIGN.md invariant 4). `platform-operator`, held with `operator`,
 * widens the codec view from the key's own tenant to every tenant (codec-server/tenant-scope.ts).
 */
export const ROLES = [
  'sender',
  'reviewer',
  'operator',
  'dpo',
  'admin',
  'platform-operator',
] as const;
export type Role = (typeof ROLES)[number];

/** SHA-256 of an API key secret: what the database stores and looks up. */
export const hashApiKey = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A live key as the API sees it on a request. */
export interface KeyRow {
  id: string;
  tenant: string;
  roles: Role[];
  /** False when the key has an IP allowlist that does not hold the caller's address. */
  ipAllowed: boolean;
  /** Epoch ms the key expires at; null = never. A cached row is kept no longer than that. */
  expiresAt: number | null;
}

export interface CreatedKey {
  id: string;
  secret: string;
  tenant: string;
  roles: Role[];
}

export interface CreateKeyOptions {
  label?: string;
  expiresAt?: Date;
  /** Addresses or CIDR ranges the key may be used from; unset = anywhere. */
  allowedIps?: string[];
  /** Who creates it, for the audit log (default `cli:keys`). */
  actor?: string;
}

/** Thrown when a key cannot be created or revoked as asked; the message names the field, never a secret. */
export class ApiKeyError extends Error {
  override name = 'ApiKeyError';
}

const LIVE_KEY = 'k.revoked_at is null and (k.expires_at is null or k.expires_at > now())';
const KEY_COLUMNS = `k.id, k.tenant, k.roles,
  (extract(epoch from k.expires_at) * 1000)::float8 as "expiresAt",
  (k.allowed_ips is null or ($2::inet is not null and $2::inet <<= any(k.allowed_ips))) as "ipAllowed"`;

/** The caller's address as PostgreSQL's inet reads it (an IPv4-mapped IPv6 address as IPv4); undefined if none. */
export function normalizeIp(ip: string | undefined): string | null {
  if (!ip) return null;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const plain = v4 ? v4[1]! : ip;
  return isIP(plain) ? plain : null;
}

/**
 * The live (not revoked, not expired) API key with this secret. The API reads it through its
 * configuration cache (db/config-cache.ts, api/plugins/auth.ts), which forgets it when `api_keys`
 * changes; admitting a message checks again in the database that the key is live.
 */
export async function findApiKey(
  db: Pool,
  secret: string,
  ip?: string,
): Promise<KeyRow | undefined> {
  const { rows } = await db.query<KeyRow>(
    `select ${KEY_COLUMNS} from api_keys k where k.key_hash = $1 and ${LIVE_KEY}`,
    [hashApiKey(secret), normalizeIp(ip)],
  );
  return rows[0];
}

/** The live API key with this id (a browser session's key). */
export async function findApiKeyById(
  db: Pool,
  id: string,
  ip?: string,
): Promise<KeyRow | undefined> {
  const { rows } = await db.query<KeyRow>(
    `select ${KEY_COLUMNS} from api_keys k where k.id = $1 and ${LIVE_KEY}`,
    [id, normalizeIp(ip)],
  );
  return rows[0];
}

/** The live API key a client certificate stands for (by the SHA-256 fingerprint of its DER bytes). */
export async function findApiKeyByCertificate(
  db: Pool,
  fingerprint: string,
  ip?: string,
): Promise<KeyRow | undefined> {
  const { rows } = await db.query<KeyRow>(
    `select ${KEY_COLUMNS} from client_certificates c join api_keys k on k.id = c.key_id
      where c.fingerprint_sha256 = $1 and ${LIVE_KEY}`,
    [fingerprint, normalizeIp(ip)],
  );
  return rows[0];
}

const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Checks and normalizes an IP allowlist entry (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`). */
function cidr(entry: string): string {
  const [addr, bits, extra] = entry.trim().split('/');
  const family = isIP(addr ?? '');
  const max = family === 4 ? 32 : 128;
  if (!family || extra !== undefined || (bits !== undefined && !/^\d{1,3}$/.test(bits)))
    throw new ApiKeyError('allowed IPs must be addresses or CIDR ranges');
  if (bits !== undefined && Number(bits) > max)
    throw new ApiKeyError('allowed IPs must be addresses or CIDR ranges');
  return entry.trim();
}

/** Creates an API key and returns its secret (the only time it is available). Audited as `api_key.create`. */
export async function createApiKey(
  db: Pool,
  tenant: string,
  roles: Role[],
  options: CreateKeyOptions = {},
): Promise<CreatedKey> {
  if (!TENANT.test(tenant)) throw new ApiKeyError('tenant must be 1-63 of a-z, 0-9, _ and -');
  const bad = roles.filter((r) => !ROLES.includes(r));
  if (!roles.length || bad.length)
    throw new ApiKeyError(`roles must be some of ${ROLES.join(', ')}`);
  if (options.expiresAt && !(options.expiresAt.getTime() > Date.now()))
    throw new ApiKeyError('expiry must be a date in the future');
  const allowedIps = options.allowedIps?.map(cidr);
  const id = `key_${ulid()}`;
  const secret = `sk_${randomBytes(32).toString('base64url')}`;
  // PostgreSQL masks host bits itself only for inet; cidr refuses them, so store the network form.
  await db.query(
    `insert into api_keys (id, tenant, key_hash, roles, label, expires_at, allowed_ips)
     values ($1, $2, $3, $4, $5, $6, (select array_agg(network(e::inet)::cidr) from unnest($7::text[]) e))`,
    [
      id,
      tenant,
      hashApiKey(secret),
      roles,
      options.label ?? null,
      options.expiresAt ?? null,
      allowedIps ?? null,
    ],
  );
  await appendAudit(db, {
    actor: options.actor ?? 'cli:keys',
    tenant,
    action: 'api_key.create',
    subject: id,
    detail: {
      roles,
      expires: options.expiresAt?.toISOString() ?? null,
      ipAllowlist: allowedIps?.length ?? 0,
    },
  });
  return { id, secret, tenant, roles };
}

/**
 * Revokes a key. From its commit on, no message is admitted with it (the admission statement checks
 * the key); every other request refuses it as soon as the API process hears of the change: at once in
 * this process, within milliseconds in others (db/config-cache.ts). Audited as `api_key.revoke`.
 */
export async function revokeApiKey(db: Pool, id: string, actor = 'cli:keys'): Promise<void> {
  const { rows } = await db.query<{ tenant: string }>(
    'update api_keys set revoked_at = now() where id = $1 and revoked_at is null returning tenant',
    [id],
  );
  if (!rows[0]) throw new ApiKeyError('no such active key');
  configChanged();
  await appendAudit(db, { actor, tenant: rows[0].tenant, action: 'api_key.revoke', subject: id });
}

export interface KeyListing {
  id: string;
  tenant: string;
  roles: Role[];
  label: string | null;
  state: 'active' | 'expired' | 'revoked';
  expiresAt: Date | null;
  allowedIps: string[] | null;
  lastUsedAt: Date | null;
  /** Requests counted in the last 24 hours (flushed counters; a few seconds behind). */
  requests24h: number;
}

/** Every key (or a tenant's), without hashes. */
export async function listApiKeys(db: Pool, tenant?: string): Promise<KeyListing[]> {
  const { rows } = await db.query<KeyListing>(
    `select k.id, k.tenant, k.roles, k.label, k.expires_at as "expiresAt",
            k.allowed_ips::text[] as "allowedIps", k.last_used_at as "lastUsedAt",
            case when k.revoked_at is not null then 'revoked'
                 when k.expires_at is not null and k.expires_at <= now() then 'expired'
                 else 'active' end as state,
            coalesce((select sum(u.requests) from api_key_usage u
                       where u.key_id = k.id and u.window_start > now() - interval '24 hours'), 0)::int as "requests24h"
       from api_keys k where ($1::text is null or k.tenant = $1) order by k.created_at, k.id`,
    [tenant ?? null],
  );
  return rows;
}
