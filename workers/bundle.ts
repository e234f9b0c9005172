import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { failureConverterPath } from '../encryption/codec';

const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };

/**
 * Prebuilds a workflow bundle with our failure converter compiled in (a prebuilt bundle must carry
 * it, or failures would leave the sandbox unencoded), without the bundler's progress output.
 */
export function bundleWorkflows(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: silent as never });
}

/** Where `npm run build` writes the workflow bundle: next to the compiled workflows it was made from. */
export const PREBUILT_BUNDLE_FILE = 'workflow-bundle.js';

/**
 * The bundle `npm run build` made, when this code runs from that build (`dist/`) and the bundle is
 * at least as new as the compiled workflows; undefined otherwise (run from source with tsx, or a
 * `tsc` without the bundle step), and the worker then bundles at start-up as before.
 */
export function prebuiltWorkflowBundle(
  buildDir = join(__dirname, '..'),
): { code: string } | undefined {
  const bundle = join(buildDir, PREBUILT_BUNDLE_FILE);
  const workflows = join(buildDir, 'workflows', 'index.js');
  if (!existsSync(bundle) || !existsSync(workflows)) return undefined;
  if (statSync(bundle).mtimeMs < statSync(workflows).mtimeMs) return undefined;
  return { code: readFileSync(bundle, 'utf8') };
}
