/** What the leak scanner is given and what it reports. */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';

/** Where a needle was found. */
export type LeakWhere =
  | 'log'
  | 'temporal-history'
  | 'search-attribute'
  | 'memo'
  | 'workflow-id'
  | 'database'
  | 'review-task'
  | 'review-page'
  | 'codec-output'
  | 'callback';

/** A text a caller collected from a place people see (a review task, a page, a callback body). */
export interface LeakDocument {
  where: LeakWhere;
  /** Names the document in a finding (a task id, a URL): scrubbed of needles like every location. */
  location: string;
  text: string;
}

/** One place holding one needle. Safe to print: it never contains the needle itself. */
export interface LeakFinding {
  where: LeakWhere;
  /** `file:line`, `logLines:n`, `workflowId:eventId`, `workflowId memo.key`, `workflowId search-attribute.Name`, `table.column`. */
  location: string;
  /** The needle, masked: a few leading characters and `…`. */
  needle: string;
  /** The needle's index in the `needles` array given to {@link scanForLeaks}. */
  needleIndex: number;
}

export interface ScanOptions {
  /** Plaintext that must appear nowhere, in any digit form; at least 4 characters each. */
  needles: readonly string[];
  /** Log files, read line by line. */
  logFiles?: readonly string[];
  /** Log lines already in memory (a test's captured logger output). */
  logLines?: readonly string[];
  /** Texts collected elsewhere: review tasks, the reviewer page's HTML, codec output, callbacks. */
  documents?: readonly LeakDocument[];
  /** Temporal, read raw through the WorkflowService: the client's data converter and codec are never used. */
  temporal?: {
    client: Client;
    /** A visibility query (`WorkflowId = '…'`, `StartTime > '…'`); every workflow when absent. */
    query?: string;
    /** Workflows scanned at once; default 8. */
    concurrency?: number;
  };
  /** Every text-like column of every table in the `public` schema. */
  db?: Pool;
  /** Tables of `public` to skip; none by default. */
  excludeTables?: readonly string[];
}
