import {
  FULL_VALUES,
  lintChart,
  renderChart,
  validateManifests,
  type Validated,
} from '../../scripts/chart-check';
import { installedChartTools, type ChartTools } from '../../scripts/stack/tools';
import { stack } from '../helpers/stack';

/**
 * The Helm chart (deploy/helm/sms-pipeline) with the real helm and kubeconform, built from their Go
 * modules into .tools/bin by `npm test` before Jest runs (`tsx scripts/stack.ts chart-tools`; minutes
 * the first time on a fresh machine; the test only reads their paths): it lints, renders into manifests that validate strictly against the Kubernetes
 * schemas offline, and has the shape docs/deploy.md describes.
 */
let tools: ChartTools;
beforeAll(() => {
  tools = installedChartTools(stack);
});

/** The YAML documents of a render, each with its kind and name (no YAML parser: the chart's own layout). */
const documents = (yaml: string) =>
  yaml
    .split(/^---$/m)
    .map((doc) => ({
      doc,
      kind: /^kind: (\S+)$/m.exec(doc)?.[1],
      name: /^ {2}name: (\S+)$/m.exec(doc)?.[1],
    }))
    .filter((d) => d.kind);

test('helm lint passes and the rendered manifests validate strictly', () => {
  expect(lintChart(tools, FULL_VALUES)).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  const resources = validateManifests(tools, renderChart(tools, FULL_VALUES));
  const summary = (rs: Validated[]) => rs.map((r) => `${r.kind}/${r.name}: ${r.status}`).sort();
  expect(summary(resources)).toEqual(
    [
      'Deployment/sms-sms-pipeline-api',
      'Service/sms-sms-pipeline-api',
      'Deployment/sms-sms-pipeline-codec-server',
      'Service/sms-sms-pipeline-codec-server',
      'Job/sms-sms-pipeline-migrations',
      ...['global', 'eu', 'cn'].flatMap((r) => [
        `Deployment/sms-sms-pipeline-worker-${r}`,
        `HorizontalPodAutoscaler/sms-sms-pipeline-worker-${r}`,
      ]),
    ]
      .map((s) => `${s}: statusValid`)
      .sort(),
  );
});

test('the check fails on a manifest the schema refuses (a misspelt field)', () => {
  const broken = renderChart(tools, FULL_VALUES).replace('containerPort:', 'containerPorts:');
  const invalid = validateManifests(tools, broken).filter((r) => r.status !== 'statusValid');
  expect(invalid).toHaveLength(1);
  expect(invalid[0]!.msg).toMatch(/containerPorts/);
});

test('one worker per region on its own task queue, scaled on that queue’s backlog', () => {
  const docs = documents(renderChart(tools, { ...FULL_VALUES, taskQueuePrefix: 'p-' }));
  for (const region of ['global', 'eu', 'cn']) {
    const deployment = docs.find(
      (d) => d.kind === 'Deployment' && d.name === `sms-sms-pipeline-worker-${region}`,
    )!.doc;
    expect(deployment).toMatch(new RegExp(`- name: WORKER_REGION\\n\\s+value: ${region}\\n`));
    expect(deployment).toMatch(/- name: TASK_QUEUE_PREFIX\n\s+value: "p-"\n/);
    expect(deployment).toContain('command: ["node", "dist/processes/worker.js"]');
    // Each pod has one worker: the same metrics ports in every region, on the pod's address.
    expect(deployment).toMatch(/- name: TEMPORAL_SDK_METRICS_ADDRESS\n\s+value: "0.0.0.0:9465"\n/);
    expect(deployment).toContain('containerPort: 9465');
    // With an HPA the Deployment leaves the replica count to it.
    expect(deployment).not.toMatch(/^ {2}replicas:/m);
    const hpa = docs.find(
      (d) => d.kind === 'HorizontalPodAutoscaler' && d.name === `sms-sms-pipeline-worker-${region}`,
    )!.doc;
    expect(hpa).toContain('type: External');
    expect(hpa).toContain('name: temporal_approximate_backlog_count');
    expect(hpa).toContain(`taskqueue: p-sms-${region}`);
    expect(hpa).toContain(`name: sms-sms-pipeline-worker-${region}`);
  }
  // Without autoscaling: no HPA, and each region's replicas as given.
  const fixed = documents(
    renderChart(tools, { ...FULL_VALUES, 'workers.autoscaling.enabled': 'false' }),
  );
  expect(fixed.filter((d) => d.kind === 'HorizontalPodAutoscaler')).toHaveLength(0);
  expect(fixed.find((d) => d.name === 'sms-sms-pipeline-worker-eu')!.doc).toMatch(
    /^ {2}replicas: 1$/m,
  );
});

test('Temporal mTLS, Vault AppRole and the database come from Secrets as the env config/config.ts reads', () => {
  const api = documents(renderChart(tools, FULL_VALUES)).find(
    (d) => d.kind === 'Deployment' && d.name === 'sms-sms-pipeline-api',
  )!.doc;
  for (const [name, value] of [
    ['TEMPORAL_ADDRESS', '"ns.acct.tmprl.cloud:7233"'],
    ['TEMPORAL_TLS', '"true"'],
    ['TEMPORAL_TLS_CERT', '/etc/sms/temporal-tls/tls.crt'],
    ['TEMPORAL_TLS_KEY', '/etc/sms/temporal-tls/tls.key'],
    ['TEMPORAL_TLS_CA', '/etc/sms/temporal-tls/ca.crt'],
    ['NODE_ENV', 'production'],
  ])
    expect(api).toContain(`- name: ${name}\n              value: ${value}\n`);
  for (const [name, secret, key] of [
    ['DATABASE_URL', 'sms-database', 'url'],
    ['VAULT_ROLE_ID', 'sms-vault-approle', 'role_id'],
    ['VAULT_SECRET_ID', 'sms-vault-approle', 'secret_id'],
    ['CARRIERS', 'sms-carriers', 'carriers.json'],
  ])
    expect(api).toContain(
      `- name: ${name}\n              valueFrom:\n                secretKeyRef:\n                  name: ${secret}\n                  key: ${key}\n`,
    );
  expect(api).toContain('secretName: temporal-mtls');
  // Without TLS, no TLS setting and no certificate volume.
  const plain = renderChart(tools, { ...FULL_VALUES, 'temporal.tls.enabled': 'false' });
  expect(plain).not.toMatch(/TEMPORAL_TLS|temporal-mtls/);
});

test('Temporal Cloud with an API key: the key’s Secret mounted as the file TEMPORAL_API_KEY_FILE names', () => {
  const { 'temporal.tls.existingSecret': _s, 'temporal.tls.ca': _c, ...rest } = FULL_VALUES;
  const values = {
    ...rest,
    'temporal.tls.enabled': 'false',
    'temporal.apiKey.existingSecret': 'temporal-cloud-key',
    'temporal.apiKey.key': 'key',
  };
  expect(lintChart(tools, values)).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  const rendered = renderChart(tools, values);
  expect(validateManifests(tools, rendered).filter((r) => r.status !== 'statusValid')).toEqual([]);
  const apps = documents(rendered).filter((d) => d.kind === 'Deployment');
  expect(apps.map((d) => d.name).sort()).toEqual(
    ['api', 'codec-server', 'worker-cn', 'worker-eu', 'worker-global'].map(
      (n) => `sms-sms-pipeline-${n}`,
    ),
  );
  for (const { doc } of apps) {
    expect(doc).toContain(
      '- name: TEMPORAL_API_KEY_FILE\n              value: /etc/sms/temporal-api-key/api-key\n',
    );
    expect(doc).toContain(
      '- name: temporal-api-key\n              mountPath: /etc/sms/temporal-api-key\n              readOnly: true\n',
    );
    expect(doc).toContain(
      '- name: temporal-api-key\n          secret:\n            secretName: temporal-cloud-key\n            items:\n              - key: key\n                path: api-key\n',
    );
    // The key implies TLS in the process (config/config.ts): no TLS setting or certificate volume here.
    expect(doc).not.toMatch(/TEMPORAL_TLS|temporal-tls/);
  }
  // The key never reaches the migrations, and without the value there is no key anywhere.
  expect(documents(rendered).find((d) => d.kind === 'Job')!.doc).not.toContain('temporal-api-key');
  expect(renderChart(tools, FULL_VALUES)).not.toMatch(/TEMPORAL_API_KEY|temporal-api-key/);
});

test('the codec server runs apart from the API, logging in to Vault with its own AppRole Secret', () => {
  const docs = documents(renderChart(tools, FULL_VALUES));
  const codec = docs.find(
    (d) => d.kind === 'Deployment' && d.name === 'sms-sms-pipeline-codec-server',
  )!.doc;
  const api = docs.find((d) => d.kind === 'Deployment' && d.name === 'sms-sms-pipeline-api')!.doc;
  expect(codec).toContain('command: ["node", "dist/processes/codec-server.js"]');
  expect(codec).toMatch(/- name: CODEC_PORT\n\s+value: "8089"\n/);
  expect(codec).toMatch(/- name: CODEC_PUBLIC_URL\n\s+value: "https:\/\/codec.sms.example"\n/);
  for (const [name, key] of [
    ['VAULT_ROLE_ID', 'role_id'],
    ['VAULT_SECRET_ID', 'secret_id'],
  ]) {
    const ref = (secret: string) =>
      `- name: ${name}\n              valueFrom:\n                secretKeyRef:\n                  name: ${secret}\n                  key: ${key}\n`;
    expect(codec).toContain(ref('sms-vault-approle-codec-server'));
    expect(codec).not.toContain(ref('sms-vault-approle'));
    expect(api).not.toContain('sms-vault-approle-codec-server');
  }
  expect(api).not.toMatch(/CODEC_|codec-server/);
  // Its own identity is required; without the codec server, nothing of it is rendered.
  const { 'codecServer.approle.existingSecret': _omitted, ...withoutIdentity } = FULL_VALUES;
  expect(() => renderChart(tools, withoutIdentity)).toThrow(/codecServer\.approle\.existingSecret/);
  expect(renderChart(tools, { ...withoutIdentity, 'codecServer.enabled': 'false' })).not.toContain(
    'codec-server',
  );
});

test('the migrations run as a pre-install/pre-upgrade hook with only the database URL', () => {
  const job = documents(renderChart(tools, FULL_VALUES)).find((d) => d.kind === 'Job')!.doc;
  expect(job).toContain('helm.sh/hook: pre-install,pre-upgrade');
  expect(job).toContain('command: ["node", "dist/scripts/migrate.js"]');
  expect(job).toContain('name: DATABASE_URL');
  expect(job).not.toMatch(/VAULT_|CARRIERS|TEMPORAL_/);
});

test('a missing required setting or an unknown region is refused by name', () => {
  const { 'temporal.address': _omitted, ...withoutTemporal } = FULL_VALUES;
  expect(() => renderChart(tools, withoutTemporal)).toThrow(/temporal\.address/);
  expect(() => renderChart(tools, { ...FULL_VALUES, 'workers.regions[0].name': 'mars' })).toThrow(
    /mars is not a region/,
  );
});
