import type { Client } from '@temporalio/client';
import type { MessageWorkflows } from '../activities/privacy/privacy-activities';
import { cancelSignal, getStatusQuery } from '../workflows/definitions';

/**
 * The erasure activities' handle on running message workflows, built here from the workflows'
 * signal and query definitions: activities take it as a dependency and import no workflow code.
 */
export function messageWorkflows(temporal: Client): MessageWorkflows {
  return {
    async cancel(workflowId, reason) {
      await temporal.workflow.getHandle(workflowId).signal(cancelSignal, { reason });
    },
    async status(workflowId) {
      return (await temporal.workflow.getHandle(workflowId).query(getStatusQuery)).status;
    },
  };
}
