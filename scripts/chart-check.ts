/**
 * `npm run chart:check`: the Helm chart under deploy/helm/sms-pipeline passes `helm lint`, and what
 * `helm template` renders from it validates with `kubeconform -strict` against the Kubernetes schemas,
 * offline. helm and kubeconform are built from their Go modules into `.tools/bin` on first use; the
 * schemas come from the PyPI package `kubernetes-validate` (scripts/stack/tools.ts). Its functions are
 * also what test/integration/helm-chart.test.ts runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from '../config/paths';
import { loadStackConfig } from '../config/stack';
import { runIfMain } from './cli';
import { ensureChartTools, type ChartTools } from './stack/tools';

export const CHART_DIR = join(ROOT_DIR, 'deploy', 'helm', 'sms-pipeline');
/** The Kubernetes version the chart is rendered and validated for. */
export const KUBERNETES_VERSION = '1.35.0';
/** The kinds the chart renders; a kind missing here fails the check (no schema) rather than passing unchecked. */
const KINDS = [
  'deployment-apps-v1',
  'service-v1',
  'job-batch-v1',
  'horizontalpodautoscaler-autoscaling-v2',
];

/** The values of a complete install (every required setting, Temporal mTLS, autoscaling on). */
export const FULL_VALUES: Record<string, string> = {
  'temporal.address': 'ns.acct.tmprl.cloud:7233',
  'temporal.namespace': 'ns.acct',
  'temporal.tls.enabled': 'true',
  'temporal.tls.existingSecret': 'temporal-mtls',
  'temporal.tls.ca': 'true',
  'database.existingSecret': 'sms-database',
  'vault.addr': 'https://vault.example:8200',
  'vault.approle.existingSecret': 'sms-vault-approle',
  'codecServer.approle.existingSecret': 'sms-vault-approle-codec-server',
  'codecServer.publicUrl': 'https://codec.sms.example',
  'carriers.existingSecret': 'sms-carriers',
  'api.publicUrl': 'https://sms.example',
  'workers.autoscaling.enabled': 'true',
};

const setArgs = (values: Record<string, string>) =>
  Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);

export function chartTools(log: (s: string) => void = () => undefined): ChartTools {
  return ensureChartTools(loadStackConfig(), log);
}

/** `helm lint` with `values`; its output (throws with it when the chart fails). */
export function lintChart(tools: ChartTools, values: Record<string, string>): string {
  return execFileSync(
    tools.helm,
    ['lint', CHART_DIR, '--strict', '--kube-version', KUBERNETES_VERSION, ...setArgs(values)],
    { encoding: 'utf8', stdio: 'pipe' },
  );
}

/** `helm template` with `values`: the manifests as one YAML stream (throws with helm's message). */
export function renderChart(tools: ChartTools, values: Record<string, string>): string {
  return execFileSync(
    tools.helm,
    ['template', 'sms', CHART_DIR, '--kube-version', KUBERNETES_VERSION, ...setArgs(values)],
    { encoding: 'utf8', stdio: 'pipe' },
  );
}

/**
 * The package ships "-local" schemas whose `$ref`s point at `/api/_definitions.json` (its own
 * resolver's path), which kubeconform cannot follow: each kind the chart uses is written once as a
 * standalone schema (its refs made internal, the definitions copied in) under `.tools/`.
 */
function standaloneSchemas(tools: ChartTools): string {
  const version = `v${KUBERNETES_VERSION}`;
  const from = join(tools.kubernetesSchemas, `${version}-local-strict`);
  const root = join(ROOT_DIR, '.tools', 'kubernetes-json-schema');
  const to = join(root, `${version}-standalone-strict`);
  mkdirSync(to, { recursive: true });
  let defs: unknown;
  for (const kind of KINDS) {
    const file = join(to, `${kind}.json`);
    if (existsSync(file)) continue;
    defs ??= (
      JSON.parse(readFileSync(join(from, '_definitions.json'), 'utf8')) as { $defs: unknown }
    ).$defs;
    const schema = JSON.parse(
      readFileSync(join(from, `${kind}.json`), 'utf8').replaceAll('/api/_definitions.json#', '#'),
    ) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...schema, $defs: defs }));
  }
  return join(
    root,
    '{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}',
    '{{ .ResourceKind }}{{ .KindSuffix }}.json',
  );
}

export interface Validated {
  kind: string;
  name: string;
  status: string;
  msg?: string;
}

/** `kubeconform -strict` on rendered manifests, offline; one entry per resource (status `statusValid` when it holds). */
export function validateManifests(tools: ChartTools, manifests: string): Validated[] {
  const args = [
    '-strict',
    '-output',
    'json',
    '-verbose',
    '-kubernetes-version',
    KUBERNETES_VERSION,
    '-schema-location',
    standaloneSchemas(tools),
    '-',
  ];
  let out: string;
  try {
    out = execFileSync(tools.kubeconform, args, { input: manifests, encoding: 'utf8' });
  } catch (err) {
    // Exit status 1 when a resource is invalid: its report is still on stdout.
    out = (err as { stdout?: string }).stdout ?? '';
    if (!out) throw err;
  }
  return (JSON.parse(out) as { resources: Validated[] }).resources;
}

runIfMain(module, async () => {
  const tools = chartTools((s) => process.stderr.write(`[chart] ${s}\n`));
  process.stdout.write(lintChart(tools, FULL_VALUES));
  const resources = validateManifests(tools, renderChart(tools, FULL_VALUES));
  for (const r of resources)
    process.stdout.write(`${r.status} ${r.kind} ${r.name}${r.msg ? `: ${r.msg}` : ''}\n`);
  if (!resources.length || resources.some((r) => r.status !== 'statusValid'))
    throw new Error('kubeconform: the rendered chart does not validate');
  process.stdout.write(`kubeconform: ${resources.length} resources valid\n`);
});
