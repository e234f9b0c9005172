import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Browser, Page } from 'playwright-core';
import type { JsonPayload } from '../../codec-server/payloads';
import { createLogger } from '../../config/logger';
import { CODE_MASK, EMAIL_MASK, NUMBER_MASK } from '../../domain/masking';
import { createApiKey } from '../../scripts/keys';
import {
  findLogFiles,
  needleVariants,
  scanForLeaks,
  type LeakDocument,
  type LeakWhere,
} from '../../scripts/leak-scan';
import { callWithKey } from '../helpers/api';
import { launchChromium } from '../helpers/browser';
import { inScript, SCRIPTS } from '../helpers/digits';
import { eventually } from '../helpers/eventually';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import {
  digits,
  newReviewer,
  sendMessage,
  setReviewPolicy,
  taskOf,
  type Reviewer,
} from '../helpers/review';
import { newTemporalClient, stack, unique } from '../helpers/stack';

/**
 * End to end: bodies carrying phone numbers in several countries, groupings and
 * digit scripts, e-mail addresses and codes in non-Latin digits go through review (API and the
 * reviewer page in Chromium), the codec server (as an operator), delivery and status callbacks.
 * Then every sink is scanned — review tasks, the reviewer page's HTML, the codec's output,
 * callbacks, logs, PostgreSQL and the raw Temporal histories — for the codes and numbers in every
 * digit form (the scanner folds digits and spaces): nothing. A leak planted in each sink is reported.
 *
 * Codes have 8 digits: their ASCII form is a needle too, and a 6-digit one would turn up by chance
 * in the timestamps and hashes of a whole database and history.
 */

const { arabic, persian, devanagari, fullwidth } = SCRIPTS;
const nonZero = () => String(1 + Math.floor(Math.random() * 9));
const newCode = () => `${nonZero()}${digits(7)}`;
/** The code in two-digit groups, for bodies that space it out. */
const pairs = (code: string, space: string) => code.match(/../g)!.join(space);

/** One message: its body, and what must not appear anywhere else (with the phone numbers' E.164). */
interface Probe {
  to: string;
  body: string;
  codes: string[];
  phones: { e164: string; written: string }[];
  emails: string[];
  /** What stays readable in the redacted body. */
  kept: string[];
}

function probes(): Probe[] {
  const sa = `5${digits(8)}`; // Saudi mobile, national 05x xxx xxxx
  const ind = `9${digits(9)}`; // Indian mobile
  const cn = `139${digits(8)}`;
  const es = `6${digits(8)}`;
  const ir = `912${digits(7)}`;
  const uk = `7946${digits(4)}`;
  const c = Array.from({ length: 6 }, newCode);
  // Letters only: a digit in an address would be masked as a code and hide an address that leaks.
  const letters = () =>
    Math.random()
      .toString(36)
      .replace(/[^a-z]/g, '')
      .slice(0, 6)
      .padEnd(6, 'q');
  const email = (name: string) => `${name}.${letters()}@example.com`;
  const e = [email('ana'), email('li'), email('bob')];
  const to = () => `+447400${digits(6)}`;
  return [
    {
      to: to(),
      body: `【ACME】رمز التحقق ${inScript(c[0]!, arabic)}. للاستفسار اتصل ${inScript(`0${sa.slice(0, 2)} ${sa.slice(2, 5)} ${sa.slice(5)}`, arabic)} أو ${e[0]}`,
      codes: [c[0]!],
      phones: [
        { e164: `+966${sa}`, written: `0${sa.slice(0, 2)} ${sa.slice(2, 5)} ${sa.slice(5)}` },
      ],
      emails: [e[0]!],
      kept: ['【ACME】'],
    },
    {
      to: to(),
      body: `आपका ओटीपी ${inScript(c[1]!, devanagari)} है। कॉल करें +९१ ${inScript(`${ind.slice(0, 5)} ${ind.slice(5)}`, devanagari)}`,
      codes: [c[1]!],
      phones: [{ e164: `+91${ind}`, written: `${ind.slice(0, 5)} ${ind.slice(5)}` }],
      emails: [],
      kept: ['आपका ओटीपी'],
    },
    {
      to: to(),
      body: `【菜鸟驿站】取件码 OTP${c[2]}，收件人电话 ${cn} ，邮箱 ${e[1]}，10分钟内有效`,
      codes: [c[2]!],
      phones: [{ e164: `+86${cn}`, written: cn }],
      emails: [e[1]!],
      kept: ['【菜鸟驿站】', '10分钟内有效'],
    },
    {
      to: to(),
      body: `Confirme al ${es.slice(0, 3)}\u00a0${es.slice(3, 6)}\u00a0${es.slice(6)} — código ${inScript(c[3]!, persian)}, válido 10 minutos, importe 2500 €`,
      codes: [c[3]!],
      phones: [{ e164: `+34${es}`, written: `${es.slice(0, 3)} ${es.slice(3, 6)} ${es.slice(6)}` }],
      emails: [],
      kept: ['válido 10 minutos', 'importe 2500 €'],
    },
    {
      to: to(),
      body: `Your code: ${pairs(c[4]!, '\u202f')}. Call +44\u00a0(0)20\u00a0${uk.slice(0, 4)}\u00a0${uk.slice(4)} or write ${e[2]} before 2026-12-31 18:00`,
      codes: [c[4]!, pairs(c[4]!, ' ')],
      phones: [{ e164: `+4420${uk}`, written: `20 ${uk.slice(0, 4)} ${uk.slice(4)}` }],
      emails: [e[2]!],
      kept: ['before 2026-12-31 18:00'],
    },
    {
      to: to(),
      body: `کد تایید شما ${inScript(c[5]!, persian)} است. تماس ${inScript(`0${ir.slice(0, 3)} ${ir.slice(3, 6)} ${ir.slice(6)}`, persian)}`,
      codes: [c[5]!],
      phones: [
        { e164: `+98${ir}`, written: `0${ir.slice(0, 3)} ${ir.slice(3, 6)} ${ir.slice(6)}` },
      ],
      emails: [],
      kept: ['کد تایید شما'],
    },
  ];
}

/** Everything a probe must not leak: recipient and body numbers in every written form, codes, addresses. */
const needlesOf = (m: Probe): string[] => [
  ...needleVariants(m.to),
  ...m.phones.flatMap((ph) => [...needleVariants(ph.e164), ph.written]),
  ...m.codes,
  ...m.emails,
  ...m.emails.map((e) => e.split('@')[0]!),
];

/** Every payload in a raw history (event inputs, results, signals, failures' encoded attributes). */
function payloadsIn(value: unknown, out: JsonPayload[] = []): JsonPayload[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return out;
  const v = value as { metadata?: Record<string, Uint8Array>; data?: Uint8Array };
  if (v.metadata && typeof v.metadata === 'object' && v.metadata.encoding instanceof Uint8Array) {
    out.push({
      metadata: Object.fromEntries(
        Object.entries(v.metadata).map(([k, b]) => [k, Buffer.from(b).toString('base64')]),
      ),
      data: Buffer.from(v.data ?? []).toString('base64'),
    });
    return out;
  }
  for (const child of Array.isArray(value) ? value : Object.values(value)) payloadsIn(child, out);
  return out;
}

describe('one redaction for people: no phone number, e-mail address or code in any sink', () => {
  let p: Pipeline;
  let plain: Client;
  let reviewer: Reviewer;
  let operatorKey: string;
  let browser: Browser;
  let page: Page;
  let callbackServer: Server;
  let callbackUrl: string;
  const callbacks: string[] = [];
  const lines: string[] = [];

  beforeAll(async () => {
    p = await startPipeline({
      codecServer: true,
      log: createLogger('redaction-e2e', 'debug', { write: (s: string) => void lines.push(s) }),
      // The callback endpoint below listens on loopback, which callbacks may reach only when allowed.
      env: { OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32' },
    });
    plain = await newTemporalClient();
    reviewer = await newReviewer(p);
    operatorKey = (await createApiKey(p.db, p.tenant, ['operator'])).secret;
    await setReviewPolicy(p, { mode: 'pre_send', sampleRate: 1, slaSeconds: 600 });
    // Callbacks are signed with the tenant's own secret, which must exist before a send names a URL.
    expect((await callWithKey(p.base, p.adminKey, 'POST', '/v1/callback-secrets', {})).status).toBe(
      201,
    );
    callbackServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        callbacks.push(body);
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => callbackServer.listen(0, '127.0.0.1', r));
    callbackUrl = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/status`;
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await plain?.connection.close();
    await p?.close();
    await new Promise((r) => callbackServer?.close(r));
  });

  test('review tasks, reviewer page, codec output, callbacks, logs, PostgreSQL and raw histories are clean; a leak planted in each is found', async () => {
    const messages = probes();
    const needles = [...new Set(messages.flatMap(needlesOf))];
    const ids: string[] = [];
    for (const m of messages)
      ids.push(await sendMessage(p, { to: m.to, body: m.body, purpose: 'otp', callbackUrl }));
    const documents: LeakDocument[] = [];

    // Review tasks, as the reviewer API serves them under a lease.
    const taskIds: string[] = [];
    for (const [i, id] of ids.entries()) {
      const taskId = await taskOf(p, id);
      taskIds.push(taskId);
      expect((await reviewer.call('POST', 'tasks/claim', { taskId })).status).toBe(200);
      const task = await reviewer.call('GET', `tasks/${taskId}`);
      expect(task.status).toBe(200);
      const body = task.json.body as string;
      // Amounts, dates and validity stay readable; numbers, addresses and codes are masked.
      for (const kept of messages[i]!.kept) expect(body).toContain(kept);
      expect(body).toContain(CODE_MASK);
      if (messages[i]!.phones.length) expect(body).toContain(NUMBER_MASK);
      if (messages[i]!.emails.length) expect(body).toContain(EMAIL_MASK);
      documents.push({ where: 'review-task', location: taskId, text: JSON.stringify(task.json) });
    }
    for (const taskId of taskIds)
      expect((await reviewer.call('POST', `tasks/${taskId}/release`)).status).toBe(204);
    // PostgreSQL while the tasks are open (their content is deleted when they close).
    expect(await scanForLeaks({ needles, db: p.db })).toEqual([]);

    // The reviewer page in Chromium: claim each task, keep the page's HTML, approve.
    await page.goto(`${p.base}/review`);
    await page.locator('#key').fill(reviewer.secret);
    await page.locator('#key').press('Enter');
    await page.locator('#status').getByText('Signed in.').waitFor();
    for (let i = 0; i < ids.length; i++) {
      await page.locator('#claim').click();
      await page.locator('#task').waitFor();
      await page.waitForFunction(
        (mask) =>
          (
            globalThis as unknown as {
              document: { getElementById(id: string): { textContent: string } };
            }
          ).document
            .getElementById('body')
            .textContent.includes(mask),
        CODE_MASK,
      );
      documents.push({
        where: 'review-page',
        location: `claim ${i + 1}`,
        text: await page.content(),
      });
      await page.locator('#approve').click();
      await page.locator('#status').getByText('Approved.').waitFor();
      await page.locator('#task').waitFor({ state: 'hidden' });
    }
    const final = await p.waitFinal(ids, 120_000);
    expect([...final.values()].map((m) => m.status)).toEqual(ids.map(() => 'delivered'));

    // The codec server's output for an operator: every payload of every history, decoded.
    for (const id of ids) {
      const history = await plain.workflow.getHandle(id).fetchHistory();
      const payloads = payloadsIn(history.events);
      expect(payloads.length).toBeGreaterThan(0);
      const res = await fetch(`${p.codecBase}/codec/decode`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${operatorKey}`,
          'content-type': 'application/json',
          'x-namespace': p.config.temporal.namespace,
        },
        body: JSON.stringify({ payloads }),
      });
      expect(res.status).toBe(200);
      const decoded = ((await res.json()) as { payloads: JsonPayload[] }).payloads
        .map((pl) => Buffer.from(pl.data ?? '', 'base64').toString('utf8'))
        .join('\n');
      expect(decoded).toContain(CODE_MASK);
      documents.push({ where: 'codec-output', location: id, text: decoded });
    }

    // Status callbacks: one per message at least (the final status).
    const deadline = Date.now() + 30_000;
    while (ids.some((id) => !callbacks.some((c) => c.includes(id))) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(ids.filter((id) => !callbacks.some((c) => c.includes(id)))).toEqual([]);
    callbacks.forEach((text, i) =>
      documents.push({ where: 'callback', location: `callback ${i + 1}`, text }),
    );

    const sinks = {
      documents,
      logLines: lines,
      logFiles: findLogFiles(join(stack.dataDir, 'logs')),
      temporal: { client: plain, query: `Tenant = '${p.tenant}'` },
      db: p.db,
    };
    expect(lines.length).toBeGreaterThan(0);
    expect(await scanForLeaks({ needles, ...sinks })).toEqual([]);

    // The scan can fail: one leak planted in each sink, in a different digit form or spacing each.
    const [m0, m1, m2, m3] = messages as [Probe, Probe, Probe, Probe];
    const planted = (where: LeakWhere, text: string) => ({
      where,
      location: `planted ${where}`,
      text,
    });
    const table = `leak_probe_${unique('t').replace(/[^a-z0-9]/g, '_')}`;
    await p.db.query(`create table ${table} (note text)`);
    const workflowId = unique('leak-planted');
    const handle = await plain.workflow.start('anything', {
      taskQueue: unique('nobody'),
      workflowId,
      args: [{ body: `code ${inScript(m1.codes[0]!, devanagari)}` }],
    });
    try {
      await p.db.query(`insert into ${table} values ($1)`, [
        `call ${m3.phones[0]!.written.replace(/ /g, '\u2009')}`,
      ]);
      const query = `WorkflowId = '${workflowId}'`;
      await eventually('the planted workflow in visibility', async () =>
        (await plain.workflow.count(query)).count > 0 ? true : undefined,
      );
      const leaks = await scanForLeaks({
        needles,
        documents: [
          planted('review-task', `${documents[0]!.text} ${inScript(m0.codes[0]!, persian)}`),
          planted('review-page', `<pre>${inScript(m1.phones[0]!.written, devanagari)}</pre>`),
          planted('codec-output', `{"body":"${inScript(m2.codes[0]!, arabic)}"}`),
          planted('callback', `{"note":"${m2.emails[0]}"}`),
        ],
        logLines: [`{"msg":"to ${inScript(m0.to, fullwidth)}"}`],
        temporal: { client: plain, query },
        db: p.db,
      });
      const found = (where: LeakWhere) => leaks.filter((f) => f.where === where);
      for (const where of ['review-task', 'review-page', 'codec-output', 'callback'] as const)
        expect(found(where)).toEqual([expect.objectContaining({ location: `planted ${where}` })]);
      expect(found('log')).toEqual([expect.objectContaining({ location: 'logLines:1' })]);
      expect(found('database')).toEqual([
        expect.objectContaining({
          location: `${table}.note`,
          needleIndex: needles.indexOf(m3.phones[0]!.written),
        }),
      ]);
      expect(found('temporal-history')).toContainEqual(
        expect.objectContaining({
          location: `${workflowId}:1`,
          needleIndex: needles.indexOf(m1.codes[0]!),
        }),
      );
      // Nothing else: each finding is one of the plants.
      expect(
        leaks.filter((f) => !/^planted |^logLines:|^leak_probe_|^leak-planted/.test(f.location)),
      ).toEqual([]);
    } finally {
      await p.db.query(`drop table if exists ${table}`);
      await handle.terminate('planted leak checked').catch(() => undefined);
      await plain.workflowService
        .deleteWorkflowExecution({
          namespace: plain.options.namespace,
          workflowExecution: { workflowId },
        })
        .catch(() => undefined);
    }
  }, 300_000);
});
