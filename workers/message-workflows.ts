import type { Client } from '@temporalio/client';
import type { MessageWorkflows } from '../activities/privacy/privacy-activities';
import type { MessageStatus } from '../domain/statuses';
import { cancelSignal, searchAttributes } from '../workflows/definitions';

/**
 * The erasure activities' handle on running message workflows, built here from the workflows'
 * signal and search attribute definitions: activities take it as a dependency and import no
 * workflow code.
 */
export function messageWorkflows(temporal: Client): MessageWorkflows {
  return {
    async cancel(workflowId, reason) {
      await temporal.workflow.getHandle(workflowId).signal(cancelSignal, { reason });
    },
    async state(workflowId) {
      try {
        // describe() decodes no payload (we set no memo): execution status and search attributes
        // are stored in the clear, so this reads any region's workflow without its codec key.
        const d = await temporal.workflow.getHandle(workflowId).describe();
        if (d.status.name !== 'RUNNING') return { running: false };
        const status = d.typedSearchAttributes.get(searchAttributes.status) as
          MessageStatus | undefined;
        return { running: true, ...(status ? { status } : {}) };
      } catch (err) {
        if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
        return { running: false };
      }
    },
  };
}
