/**
 * The last step of `npm run build`: bundles the compiled workflows once, into
 * `dist/workflow-bundle.js`, so a worker started from `dist/` loads it instead of running webpack at
 * every start (workers/bundle.ts `prebuiltWorkflowBundle`; docs/benchmarks.md has the start-up times).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflows, PREBUILT_BUNDLE_FILE } from '../workers/bundle';

async function main() {
  const buildDir = join(__dirname, '..');
  const { code } = await bundleWorkflows(join(buildDir, 'workflows'));
  writeFileSync(join(buildDir, PREBUILT_BUNDLE_FILE), code);
}

main().catch((err: Error) => {
  process.stderr.write(`workflow bundle failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
