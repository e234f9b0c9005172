/**
 * What the API, the workers and the workflows share: task queues, signals, queries, and their payload
 * types. Imported by `api/` and `workflows/`; safe in the workflow sandbox.
 */

/** One task queue per data-residency region: a message's personal-data activities run only on its region's workers. */
export const TASK_QUEUES = {
  global: 'sms-global',
  eu: 'sms-eu',
  cn: 'sms-cn',
} as const;
export type Region = keyof typeof TASK_QUEUES;
