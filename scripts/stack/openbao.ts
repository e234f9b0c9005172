import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REGIONS, type StackConfig } from '../../config/stack';
import { canConnect, isAlive, readPid, startDaemon, stopDaemon, waitFor } from './process';
import type { Service } from './service';

/** The app's Vault policy: transit operations on its own keys, nothing else. */
export const APP_POLICY = `
path "transit/encrypt/sms-*"            { capabilities = ["update"] }
path "transit/decrypt/sms-*"            { capabilities = ["update"] }
path "transit/datakey/wrapped/sms-*"    { capabilities = ["update"] }
path "transit/hmac/subscriber-token"    { capabilities = ["update"] }
path "transit/hmac/subscriber-token/*"  { capabilities = ["update"] }
path "transit/datakey/wrapped/codec-*"  { capabilities = ["update"] }
path "transit/decrypt/codec-*"          { capabilities = ["update"] }
path "transit/keys/sms-*"               { capabilities = ["read"] }
path "transit/keys/codec-*"             { capabilities = ["read"] }
path "auth/token/lookup-self"           { capabilities = ["read"] }
path "auth/token/renew-self"            { capabilities = ["update"] }
`;

/** Transit keys the app needs: one data key and one codec key per region, and the subscriber-token HMAC key. */
export const TRANSIT_KEYS = [
  ...REGIONS.map((r) => `sms-${r}`),
  ...REGIONS.map((r) => `codec-${r}`),
  'subscriber-token',
];

interface InitFile {
  unseal_keys_b64: string[];
  root_token: string;
}

async function api(addr: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${addr}/v1/${path}`, {
    method,
    headers: {
      ...(token ? { 'X-Vault-Token': token } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  return { status: res.status, json };
}

async function must(addr: string, method: string, path: string, token?: string, body?: unknown) {
  const r = await api(addr, method, path, token, body);
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

/**
 * OpenBao as a real server (not `-dev`): integrated (raft) storage under `.data/openbao/`, initialised once with one
 * unseal key (kept with the root token in a 0600 file), unsealed on every `up`, transit mounted, the
 * app's keys created, and an AppRole `sms-app` bound to a least-privilege policy for the app.
 */
export function openbaoService(cfg: StackConfig, baoBin: string): Service {
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
      const init = (await must(v.addr, 'POST', 'sys/init', undefined, {
        secret_shares: 1,
        secret_threshold: 1,
      })) as unknown as InitFile & {
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
        await must(v.addr, 'POST', 'sys/unseal', undefined, { key });
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

  async function configure(): Promise<void> {
    const root = await initAndUnseal();
    const mounts = await must(v.addr, 'GET', 'sys/mounts', root);
    if (!('transit/' in ((mounts.data as Record<string, unknown>) ?? mounts))) {
      await must(v.addr, 'POST', 'sys/mounts/transit', root, { type: 'transit' });
    }
    for (const key of TRANSIT_KEYS) {
      const existing = await api(v.addr, 'GET', `transit/keys/${key}`, root);
      if (existing.status === 404)
        await must(v.addr, 'POST', `transit/keys/${key}`, root, { type: 'aes256-gcm96' });
    }
    await must(v.addr, 'PUT', 'sys/policies/acl/sms-app', root, { policy: APP_POLICY });
    const auths = await must(v.addr, 'GET', 'sys/auth', root);
    if (!('approle/' in ((auths.data as Record<string, unknown>) ?? auths))) {
      await must(v.addr, 'POST', 'sys/auth/approle', root, { type: 'approle' });
    }
    await must(v.addr, 'POST', 'auth/approle/role/sms-app', root, {
      token_policies: ['sms-app'],
      token_ttl: '1h',
      token_max_ttl: '24h',
      secret_id_ttl: '0',
    });
    if (!existsSync(v.appCredentialsFile)) {
      const role = await must(v.addr, 'GET', 'auth/approle/role/sms-app/role-id', root);
      const secret = await must(v.addr, 'POST', 'auth/approle/role/sms-app/secret-id', root, {});
      writeSecretFile(v.appCredentialsFile, {
        role_id: (role.data as { role_id: string }).role_id,
        secret_id: (secret.data as { secret_id: string }).secret_id,
      });
    }
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
    stop: () => stopDaemon(cfg.runDir, 'openbao'),
  };
}
