/** Temporal, read raw through the WorkflowService: workflow ids, memos, search attributes and every history event. */
import { temporal } from '@temporalio/proto';
import type { Findings } from './matcher';
import type { LeakWhere, ScanOptions } from './types';

type RawPayload = temporal.api.common.v1.IPayload;
type RawExecutionInfo = temporal.api.workflow.v1.IWorkflowExecutionInfo;

const JSON_OPTIONS = { longs: String, enums: String, bytes: String, json: true } as const;

export async function scanTemporal(
  options: NonNullable<ScanOptions['temporal']>,
  findings: Findings,
): Promise<void> {
  const { client } = options;
  const namespace = client.options.namespace;
  const service = client.workflowService;
  const concurrency = Math.max(1, options.concurrency ?? 8);

  // The raw visibility API, not client.workflow.list(): that one decodes memos with the client's
  // data converter, and a scanner must read exactly what the server stores.
  const queue: RawExecutionInfo[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await service.listWorkflowExecutions({
      namespace,
      query: options.query ?? '',
      pageSize: 1000,
      nextPageToken,
    });
    queue.push(...page.executions);
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);

  const scanOne = async (info: RawExecutionInfo): Promise<void> => {
    const workflowId = info.execution?.workflowId ?? '';
    const runId = info.execution?.runId ?? '';
    findings.check(workflowId, 'workflow-id', workflowId);
    scanExecutionInfo(info, workflowId, findings); // the visibility store's copy

    try {
      const described = await service.describeWorkflowExecution({
        namespace,
        execution: { workflowId, runId },
      });
      scanExecutionInfo(described.workflowExecutionInfo ?? {}, workflowId, findings); // mutable state's copy

      let token: Uint8Array | undefined;
      do {
        const page = await service.getWorkflowExecutionHistory({
          namespace,
          execution: { workflowId, runId },
          maximumPageSize: 1000,
          nextPageToken: token,
        });
        for (const event of page.history?.events ?? []) {
          const json = temporal.api.history.v1.HistoryEvent.toObject(
            event as temporal.api.history.v1.HistoryEvent,
            JSON_OPTIONS,
          );
          const location = `${workflowId}:${String(json.eventId)}`;
          for (const text of stringsIn(json)) findings.check(text, 'temporal-history', location);
        }
        token = page.nextPageToken?.length ? page.nextPageToken : undefined;
      } while (token);
    } catch (err) {
      // Purged or deleted between the listing and now: nothing left to leak.
      if ((err as { code?: unknown }).code === 5 /* gRPC NOT_FOUND */) return;
      throw err;
    }
  };

  const workers = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
    for (let info = queue.shift(); info; info = queue.shift()) await scanOne(info);
  });
  await Promise.all(workers);
}

function scanExecutionInfo(info: RawExecutionInfo, workflowId: string, findings: Findings): void {
  for (const [key, payload] of Object.entries(info.memo?.fields ?? {})) {
    scanPayload(key, payload, 'memo', `${workflowId} memo.${key}`, findings);
  }
  for (const [key, payload] of Object.entries(info.searchAttributes?.indexedFields ?? {})) {
    scanPayload(
      key,
      payload,
      'search-attribute',
      `${workflowId} search-attribute.${key}`,
      findings,
    );
  }
}

/** A raw payload: its key, metadata and data bytes, read as UTF-8 (and base64 inside them decoded). */
function scanPayload(
  key: string,
  payload: RawPayload,
  where: LeakWhere,
  location: string,
  findings: Findings,
): void {
  findings.check(key, where, location);
  for (const [name, value] of Object.entries(payload.metadata ?? {})) {
    findings.check(`${name} ${Buffer.from(value).toString('utf8')}`, where, location);
  }
  // Bytes that are themselves base64 text are decoded by the matcher.
  if (payload.data) findings.check(Buffer.from(payload.data).toString('utf8'), where, location);
}

/** Every string (values and keys) in a JSON-shaped value. */
function stringsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      stringsIn(v, out);
    }
  }
  return out;
}
