/**
 * What a message costs Temporal, read from the workflows' own histories: workflow tasks, activity
 * tasks, local activities, search-attribute updates and events, averaged over a sample of the run's
 * workflows (the histories are read after the run, so they do not load it).
 */
import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { pool } from './load';

const EventType = proto.api.enums.v1.EventType;

/** Per workflow, averaged over the sample; `sampled` is how many histories were read. */
export interface TaskCounts {
  sampled: number;
  workflowTasks: number;
  activityTasks: number;
  localActivities: number;
  searchAttributeUpdates: number;
  historyEvents: number;
}

/** Reads the histories of `workflowIds` (after each has closed) and averages their counts. */
export async function taskCounts(temporal: Client, workflowIds: string[]): Promise<TaskCounts> {
  const totals = { workflowTasks: 0, activityTasks: 0, localActivities: 0, upserts: 0, events: 0 };
  await pool(workflowIds.length, 10, async (i) => {
    const handle = temporal.workflow.getHandle(workflowIds[i]!);
    await handle.result().catch(() => undefined);
    const events = (await handle.fetchHistory()).events ?? [];
    totals.events += events.length;
    for (const e of events) {
      if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) totals.workflowTasks++;
      else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) totals.activityTasks++;
      else if (e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
        totals.upserts++;
      else if (
        e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED &&
        e.markerRecordedEventAttributes?.markerName === 'core_local_activity'
      )
        totals.localActivities++;
    }
  });
  const n = workflowIds.length || NaN;
  return {
    sampled: workflowIds.length,
    workflowTasks: totals.workflowTasks / n,
    activityTasks: totals.activityTasks / n,
    localActivities: totals.localActivities / n,
    searchAttributeUpdates: totals.upserts / n,
    historyEvents: totals.events / n,
  };
}
