import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  credentialsFile,
  VAULT_IDENTITIES,
  type StackConfig,
  type VaultIdentity,
} from '../../config/stack';
import { codecKey, regionKey, REGIONS, type Region } from '../../domain/regions';
import { canConnect, isAlive, readPid, startDaemon, stopDaemon, waitFor } from './process';
import type { Service } from './service';

/**
 * The Vault identities of the app, one AppRole each (docs/privacy.md, "Region keys and Vault identities"): the API, and one
 * worker per region. A process logs in with its own (config/config.ts, `vaultAuthFor`); each policy
 * names only its own keys and operations:
 * - `api` seals personal data under any region's key at accept time with `datakey/plaintext` (it
 *   gets the data key and its wrapped form in one call) but may not decrypt any `sms-*` key, so the
 *   internet-facing process cannot open what it accepted; it encodes each message's Temporal
 *   payloads under its region's codec key (`codec-<region>`) and decodes none (it reads statuses
 *   from PostgreSQL and describe(), never a query or a result).
 * - `worker-<region>` seals and opens its own region's `sms-<region>` key only, and decodes
 *   payloads of its own region's codec key only; it encodes under any region's codec key (receipts
 *   and erasure cancels signalled to another region's message).
 * - Tenants' callback signing secrets have their own key, `callback-secrets`: the API seals (data
 *   keys), the workers open (decrypt) to sign callbacks.
 * - Both may transit-`encrypt` (seal, never open) an opt-out's number under any region key.
 * - `token-rotation` (the operator's `npm run tokens -- rotate`) opens sealed numbers of every region
 *   to re-derive their tokens; it seals nothing and has no codec key.
 * - `codec-server` (the operators' codec server, for the Temporal UI, a process of its own) decrypts
 *   every `codec-*` key's data keys, and draws data keys of `codec-global` to encode what an operator
 *   types in the UI as the API would (a new key reveals nothing); it has no `sms-*` key and no HMAC.
 * All but `codec-server` HMAC subscriber tokens. No identity may read or manage keys.
 */
const update = (paths: string[]) =>
  paths.map((p) => `path "transit/${p}" { capabilities = ["update"] }`);
const SELF = [
  'path "auth/token/lookup-self" { capabilities = ["read"] }',
  'path "auth/token/renew-self" { capabilities = ["update"] }',
  'path "auth/token/revoke-self" { capabilities = ["update"] }',
];
/**
 * Encoding Temporal payloads under every region's codec key (`datakey/plaintext`: the data key and its
 * wrapped form; sealing reveals nothing): the API starts and signals each message under its region's
 * key, and a worker signals a receipt or an erasure's cancel to another region's message the same way.
 * Decoding (`decrypt`) is a region's own workers' alone (and the codec server's).
 */
const ENCODE_PAYLOADS = REGIONS.map((r) => `datakey/plaintext/${codecKey(r)}`);
const HMAC = ['hmac/subscriber-token', 'hmac/subscriber-token/*'];
/**
 * Transit `encrypt` (seal only) under every region key: an opt-out keeps its number sealed under the
 * subscriber's region key (encryption/subscriber-token.ts, `sealSubjectNumber`), and a worker receives
 * STOP from subscribers of any region. Sealing reveals nothing; only `token-rotation` opens them.
 */
const SEAL_OPT_OUT = REGIONS.map((r) => `encrypt/sms-${r}`);

/** The transit paths (`operation/key`) one identity may use. */
function transitPaths(identity: VaultIdentity): string[] {
  if (identity === 'api')
    return [
      ...REGIONS.map((r) => `datakey/plaintext/sms-${r}`),
      ...SEAL_OPT_OUT,
      ...ENCODE_PAYLOADS,
      ...HMAC,
      'datakey/plaintext/callback-secrets',
    ];
  if (identity === 'token-rotation') return [...REGIONS.map((r) => `decrypt/sms-${r}`), ...HMAC];
  if (identity === 'codec-server')
    return [...REGIONS.map((r) => `decrypt/${codecKey(r)}`), 'datakey/plaintext/codec-global'];
  const region = identity.slice('worker-'.length) as Region;
  const key = regionKey(region);
  return [
    `datakey/plaintext/${key}`,
    `decrypt/${key}`,
    ...SEAL_OPT_OUT,
    ...ENCODE_PAYLOADS,
    `decrypt/${codecKey(region)}`,
    ...HMAC,
    'decrypt/callback-secrets',
  ];
}

/** The policy text of one identity (see VAULT_IDENTITIES). */
export function policyFor(identity: VaultIdentity): string {
  return [...update(transitPaths(identity)), ...SELF, ''].join('\n');
}

/** The AppRole (and policy) name of an identity in Vault. */
export const roleName = (identity: VaultIdentity) => `sms-${identity}`;

/** The legacy identity every process shared before; removed by `configure()` (docs/privacy.md, "Region keys and Vault identities"). */
const LEGACY_ROLE = 'sms-app';

/** How long a secret_id the stack issues may log in (renewed by `configure()` in its last quarter). */
const SECRET_ID_TTL_HOURS = 720;

/** What the stack writes for each identity (0600): the AppRole's role_id and a secret_id. */
export interface AppRoleCredentials {
  role_id: string;
  secret_id: string;
}

/** Transit keys the app needs: one data key and one codec key per region, and the subscriber-token HMAC key. */
export const TRANSIT_KEYS = [
  ...REGIONS.map((r) => `sms-${r}`),
  ...REGIONS.map((r) => `codec-${r}`),
  'subscriber-token',
  'callback-secrets',
];

interface InitFile {
  unseal_keys_b64: string[];
  root_token: string;
}

/**
 * One request to OpenBao's HTTP API, aborted after `timeoutMs`. Initialising and unsealing wait for
 * the raft node to elect itself (5 s election timeout, longer on a busy machine), and an aborted
 * `sys/init` cancels the init half-way (its unseal key never reaches us): those get {@link RAFT_WAIT_MS}.
 */
async function api(
  addr: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  timeoutMs = 10_000,
) {
  const res = await fetch(`${addr}/v1/${path}`, {
    method,
    headers: {
      ...(token ? { 'X-Vault-Token': token } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  return { status: res.status, json };
}

/** How long `sys/init` and `sys/unseal` may take (seen: 10 s on a fresh CI machine starting the whole stack). */
const RAFT_WAIT_MS = 120_000;

async function must(
  addr: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  timeoutMs?: number,
) {
  const r = await api(addr, method, path, token, body, timeoutMs);
  if (r.status >= 300)
    throw new Error(
      `OpenBao ${method} ${path} answered ${r.status}: ${JSON.stringify(r.json.errors ?? r.json)}`,
    );
  return r.json;
}

function writeSecretFile(file: string, data: unknown) {
  writeFileSync(file, JSON.stringify(data, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
}

export interface IdentityOptions {
  /** Where an identity's AppRole credentials are written (0600; folders created). */
  credentialsFile: (identity: VaultIdentity) => string;
  /** The addresses an identity may log in from and use its tokens from (`secret_id_bound_cidrs`, `token_bound_cidrs`). */
  cidrs: (identity: VaultIdentity) => string[];
}

/**
 * Mounts transit, creates the app's keys, and makes each identity's policy and AppRole what
 * `policyFor` says (tokens of 1 h, at most 24 h, no default policy; secret_ids of
 * {@link SECRET_ID_TTL_HOURS} h; both bound to `cidrs`), then writes its credentials. Additive:
 * anything else on the instance is left alone. Used by the local stack and by docker-compose's
 * `vault-init` (scripts/vault-init.ts).
 */
export async function ensureVaultIdentities(
  addr: string,
  root: string,
  opts: IdentityOptions,
): Promise<void> {
  const mounts = await must(addr, 'GET', 'sys/mounts', root);
  if (!('transit/' in ((mounts.data as Record<string, unknown>) ?? mounts))) {
    await must(addr, 'POST', 'sys/mounts/transit', root, { type: 'transit' });
  }
  for (const key of TRANSIT_KEYS) {
    const existing = await api(addr, 'GET', `transit/keys/${key}`, root);
    if (existing.status === 404)
      await must(addr, 'POST', `transit/keys/${key}`, root, { type: 'aes256-gcm96' });
  }
  const auths = await must(addr, 'GET', 'sys/auth', root);
  if (!('approle/' in ((auths.data as Record<string, unknown>) ?? auths))) {
    await must(addr, 'POST', 'sys/auth/approle', root, { type: 'approle' });
  }
  for (const identity of VAULT_IDENTITIES) {
    const role = roleName(identity);
    const cidr = opts.cidrs(identity);
    await must(addr, 'PUT', `sys/policies/acl/${role}`, root, { policy: policyFor(identity) });
    await must(addr, 'POST', `auth/approle/role/${role}`, root, {
      token_policies: [role],
      token_no_default_policy: true,
      token_ttl: '1h',
      token_max_ttl: '24h',
      token_bound_cidrs: cidr,
      secret_id_ttl: `${SECRET_ID_TTL_HOURS}h`,
      secret_id_num_uses: 0,
      secret_id_bound_cidrs: cidr,
    });
    await ensureSecretId(addr, root, role, opts.credentialsFile(identity));
  }
}

/**
 * Writes `file` with a fresh secret_id of `role` when it is missing, no longer known to Vault, or due
 * to expire within a quarter of its TTL: whoever runs this renews what it handed out.
 */
async function ensureSecretId(addr: string, root: string, role: string, file: string) {
  const roleId = (
    (await must(addr, 'GET', `auth/approle/role/${role}/role-id`, root)).data as {
      role_id: string;
    }
  ).role_id;
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<AppRoleCredentials>;
    const lookup =
      saved.role_id === roleId && saved.secret_id
        ? await api(addr, 'POST', `auth/approle/role/${role}/secret-id/lookup`, root, {
            secret_id: saved.secret_id,
          })
        : undefined;
    const expires = (lookup?.json.data as { expiration_time?: string } | undefined)
      ?.expiration_time;
    const renewBy = Date.now() + (SECRET_ID_TTL_HOURS * 3_600_000) / 4;
    if (lookup?.status === 200 && expires && Date.parse(expires) > renewBy) return;
  }
  const secret = await must(addr, 'POST', `auth/approle/role/${role}/secret-id`, root, {});
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeSecretFile(file, {
    role_id: roleId,
    secret_id: (secret.data as { secret_id: string }).secret_id,
  } satisfies AppRoleCredentials);
}

/**
 * OpenBao as a real server (not `-dev`): integrated (raft) storage under `.data/openbao/`, initialised once with one
 * unseal key (kept with the root token in a 0600 file), unsealed on every `up`, transit mounted, the
 * app's keys created, and one AppRole per component and region (VAULT_IDENTITIES in config/stack.ts), each bound to
 * its own least-privilege policy, its secret_id limited in time and to the stack's address.
 */
export function openbaoService(
  cfg: StackConfig,
  baoBin: string,
): Service & { ensureIdentities(): Promise<void> } {
  const v = cfg.vault;
  const configFile = join(v.dir, 'config.hcl');
  const health = async () =>
    api(v.addr, 'GET', 'sys/health?standbyok=true&sealedcode=200&uninitcode=200');

  async function initAndUnseal(): Promise<string> {
    const status = (await health()).json as { initialized?: boolean; sealed?: boolean };
    if (!status.initialized) {
      if (existsSync(v.initFile)) {
        throw new Error(
          `OpenBao storage is empty but ${v.initFile} exists: remove .data/openbao to start over`,
        );
      }
      const init = (await must(
        v.addr,
        'POST',
        'sys/init',
        undefined,
        { secret_shares: 1, secret_threshold: 1 },
        RAFT_WAIT_MS,
      )) as unknown as InitFile & {
        keys_base64: string[];
      };
      writeSecretFile(v.initFile, {
        unseal_keys_b64: init.keys_base64,
        root_token: init.root_token,
      });
    }
    const saved = JSON.parse(readFileSync(v.initFile, 'utf8')) as InitFile;
    if ((await health()).json.sealed) {
      for (const key of saved.unseal_keys_b64)
        await must(v.addr, 'POST', 'sys/unseal', undefined, { key }, RAFT_WAIT_MS);
    }
    await waitFor(
      'OpenBao unsealed and active',
      async () => {
        const r = await api(v.addr, 'GET', 'sys/health');
        return r.status === 200;
      },
      30_000,
    );
    return saved.root_token;
  }

  /**
   * Brings the instance to exactly the identities above, from any earlier state: creates what is
   * missing, renews secret_ids that are due, and removes the one AppRole every process used to share
   * (`sms-app`), its policy and its credentials file. Idempotent.
   */
  async function configure(): Promise<void> {
    const root = await initAndUnseal();
    await ensureVaultIdentities(v.addr, root, {
      credentialsFile: (identity) => credentialsFile(v.credentialsDir, identity),
      cidrs: () => [`${cfg.host}/32`],
    });
    await api(v.addr, 'DELETE', `auth/approle/role/${LEGACY_ROLE}`, root);
    await api(v.addr, 'DELETE', `sys/policies/acl/${LEGACY_ROLE}`, root);
    rmSync(join(v.dir, 'app-credentials.json'), { force: true });
  }

  return {
    name: 'openbao',
    describe: () => `${v.addr} (transit keys: ${TRANSIT_KEYS.join(', ')})`,
    healthy: async () =>
      (await canConnect(cfg.host, v.port)) &&
      (await api(v.addr, 'GET', 'sys/health')).status === 200,
    running: () => isAlive(readPid(cfg.runDir, 'openbao')),
    async start() {
      mkdirSync(join(v.dir, 'data'), { recursive: true, mode: 0o700 });
      writeFileSync(
        configFile,
        [
          // OpenBao 2.x has no `file` backend; single-node integrated storage (raft) is its durable local store.
          `storage "raft" {\n  path = ${JSON.stringify(join(v.dir, 'data'))}\n  node_id = "sms-local"\n}`,
          `listener "tcp" {\n  address = "${cfg.host}:${v.port}"\n  tls_disable = true\n}`,
          `api_addr = "${v.addr}"`,
          `cluster_addr = "http://${cfg.host}:${v.port + 1}"`,
          'ui = false',
          '',
        ].join('\n'),
      );
      startDaemon(
        { name: 'openbao', command: baoBin, args: ['server', `-config=${configFile}`] },
        cfg.runDir,
        cfg.logDir,
      );
      await waitFor(
        'OpenBao',
        async () => (await health()).status === 200,
        60_000,
        `see ${cfg.logDir}/openbao.log`,
      );
      await configure();
    },
    configure,
    ensureIdentities: async () =>
      ensureVaultIdentities(v.addr, await initAndUnseal(), {
        credentialsFile: (identity) => credentialsFile(v.credentialsDir, identity),
        cidrs: () => [`${cfg.host}/32`],
      }),
    stop: () => stopDaemon(cfg.runDir, 'openbao'),
  };
}
