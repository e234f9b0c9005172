import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { failureConverterPath } from '../clients/codec';

const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };

/**
 * Prebuilds a workflow bundle with our failure converter compiled in (a prebuilt bundle must carry
 * it, or failures would leave the sandbox unencoded), without the bundler's progress output.
 */
export function bundleWorkflows(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: silent as never });
}
