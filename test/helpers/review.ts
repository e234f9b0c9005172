import { createApiKey } from '../../scripts/keys';
import { callWithKey } from './api';
import type { Pipeline } from './pipeline';

/** A reviewer of the pipeline's tenant, calling the reviewer API with its own key. */
export interface Reviewer {
  keyId: string;
  secret: string;
  /** Parsed JSON, untyped: tests assert on its shape. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
}

export async function newReviewer(p: Pipeline): Promise<Reviewer> {
  const key = await createApiKey(p.db, p.tenant, ['reviewer']);
  return {
    keyId: key.id,
    secret: key.secret,
    async call(method, path, body) {
      const { status, json } = await callWithKey(
        p.base,
        key.secret,
        method,
        `/review/${path}`,
        body,
      );
      return { status, json };
    },
  };
}

/** PUT /v1/review-policies as the tenant's admin. */
export async function setReviewPolicy(p: Pipeline, policy: Record<string, unknown>) {
  const res = await fetch(`${p.base}/v1/review-policies`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${p.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(policy),
  });
  if (res.status !== 200)
    throw new Error(`review policy refused: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Sends a message and returns its id. */
export async function sendMessage(p: Pipeline, body: Record<string, unknown>): Promise<string> {
  const res = await p.send(body);
  if (res.status !== 202) throw new Error(`send refused: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** Polls GET /v1/messages/:id until the message has `status`. */
export async function waitForStatus(p: Pipeline, id: string, status: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await p.get(id);
    if (m.status === status) return m;
    if (Date.now() > deadline)
      throw new Error(`${id} is ${m.status}, not ${status}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The open review task of a message (the test looks it up in the database; reviewers never see message ids). */
export async function taskOf(p: Pipeline, messageId: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await p.db.query<{ id: string }>(
      'select id from review_tasks where message_id = $1',
      [messageId],
    );
    if (rows[0]) return rows[0].id;
    if (Date.now() > deadline) throw new Error(`no review task for ${messageId}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Random digits, for numbers and codes no other test uses. */
export const digits = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('');
