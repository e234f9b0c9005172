import type { RegionalClients } from '../clients/temporal';
import type { Region } from '../domain/regions';
import type { MessageWorkflows } from '../activities/privacy/privacy-activities';
import type { MessageStatus } from '../domain/statuses';
import { cancelSignal, searchAttributes } from '../workflows/definitions';

/**
 * The erasure activities' handle on running message workflows, built here from the workflows'
 * signal and search attribute definitions: activities take it as a dependency and import no
 * workflow code.
 */
export function messageWorkflows(regions: RegionalClients): MessageWorkflows {
  // Reads that decode no payload go through any region's client.
  const temporal = regions.forRegion('global');
  return {
    async cancel(workflowId, reason) {
      // Encoded under the message's region's codec key (its Region search attribute), so the
      // global worker's erasure signals an eu message without sealing anything under codec-global.
      const d = await temporal.workflow.getHandle(workflowId).describe();
      const region = (d.typedSearchAttributes.get(searchAttributes.region) ?? 'global') as Region;
      await regions
        .forRegion(region)
        .workflow.getHandle(workflowId)
        .signal(cancelSignal, { reason });
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
