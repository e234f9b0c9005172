import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { defineSearchAttributeKey } from '@temporalio/common';
import type { Pool } from 'pg';
import { createLogger } from '../../config/logger';
import {
  expandNeedles,
  maskNeedle,
  needleVariants,
  scanForLeaks,
  type LeakFinding,
} from '../../scripts/leak-scan';
import { inScript, SCRIPTS } from '../helpers/digits';
import { newDbPool, newTemporalClient, unique } from '../helpers/stack';

/** A UK mobile number nobody else uses, so a scan of the whole stack cannot be confused by other tests. */
const randomNumber = () => `+447400${String(randomInt(0, 1_000_000)).padStart(6, '0')}`;
const randomCode = () => String(randomInt(100_000, 1_000_000));

/** Findings are safe to print: no needle (in any written form) appears anywhere in them. */
function expectMasked(findings: readonly LeakFinding[], needles: readonly string[]): void {
  const printed = JSON.stringify(findings);
  for (const needle of needles) expect(printed).not.toContain(needle);
}

describe('needleVariants and masking (no services needed)', () => {
  test('the written forms of a number: E.164, digits, national significant number, formatted', () => {
    const variants = needleVariants('+447400123456');
    expect(variants).toEqual(
      expect.arrayContaining([
        '+447400123456',
        '447400123456',
        '7400123456',
        '44 7400 123456',
        '44-7400-123456',
        '07400 123456',
      ]),
    );
    expect(needleVariants('+14155550123')).toEqual(
      expect.arrayContaining(['+14155550123', '14155550123', '4155550123', '(415) 555-0123']),
    );
    expect(new Set(variants).size).toBe(variants.length);
  });

  test('refuses anything but E.164, without repeating the input', () => {
    for (const bad of ['447400123456', '+44 7400 123456', 'call me', '']) {
      expect(() => needleVariants(bad)).toThrow(TypeError);
    }
    expect(() => needleVariants('07400123456')).toThrow(/^needleVariants: not an E\.164 number$/);
  });

  test('expandNeedles expands numbers and keeps codes', () => {
    expect(expandNeedles(['+447400123456', '482913'])).toEqual([
      ...needleVariants('+447400123456'),
      '482913',
    ]);
  });

  test('a masked needle shows at most three leading characters, one for short ones', () => {
    expect(maskNeedle('+447400123456')).toBe('+44…');
    expect(maskNeedle('7400123456')).toBe('7…');
    expect(maskNeedle('482913')).toBe('4…');
    expect(maskNeedle('1234')).toBe('…');
  });

  test('needles shorter than 4 characters are refused (they would match everything)', async () => {
    await expect(scanForLeaks({ needles: ['123'], logLines: ['x'] })).rejects.toThrow(RangeError);
  });
});

describe('needles in every digit form and spacing (no services needed)', () => {
  test('a code or number written in Arabic-Indic, Persian, Devanagari or full-width digits, or grouped with any space, is found', async () => {
    const code = randomCode();
    const number = randomNumber();
    const grouped = `600 ${code.slice(0, 3)} ${code.slice(3)}`;
    const needles = [code, ...needleVariants(number), grouped];
    const documents = [
      ...Object.entries(SCRIPTS).map(([name, zero]) => ({
        where: 'review-task' as const,
        location: `task-${name}`,
        text: `{"body":"code ${inScript(code, zero)}"}`,
      })),
      {
        where: 'review-page' as const,
        location: 'page',
        text: `<pre>${inScript(number, SCRIPTS.devanagari)}</pre>`,
      },
      {
        where: 'callback' as const,
        location: 'callback',
        text: `call 600\u00a0${code.slice(0, 3)}\u202f${code.slice(3)}`,
      },
      {
        where: 'codec-output' as const,
        location: 'codec',
        text: `call ${inScript(grouped, SCRIPTS.arabic).replace(/ /g, '\u2009')}`,
      },
      {
        where: 'codec-output' as const,
        location: 'clean',
        text: `code ${inScript('1', SCRIPTS.arabic)}••••`,
      },
    ];
    const findings = await scanForLeaks({ needles, documents });
    const at = (location: string) =>
      findings.filter((f) => f.location === location).map((f) => f.needleIndex);
    for (const name of Object.keys(SCRIPTS)) expect(at(`task-${name}`)).toEqual([0]);
    expect(at('page')).toEqual([1]);
    expect(at('callback')).toEqual([needles.length - 1]);
    expect(at('codec')).toEqual([needles.length - 1]);
    expect(at('clean')).toEqual([]);
    expectMasked(findings, needles);
  });
});

describe('scanForLeaks against the real stack', () => {
  let client: Client;
  let db: Pool;
  let dir: string;

  beforeAll(async () => {
    client = await newTemporalClient();
    db = newDbPool();
    dir = mkdtempSync(join(tmpdir(), 'leak-scan-'));
  });

  afterAll(async () => {
    await client.connection.close();
    await db.end();
    rmSync(dir, { recursive: true, force: true });
  });

  test('logs: a raw number in one line of a file is reported as file:line; the redacting logger is clean', async () => {
    const number = randomNumber();
    const code = randomCode();
    const needles = [...needleVariants(number), code];
    const file = join(dir, 'service.log');
    writeFileSync(
      file,
      [
        '{"level":30,"msg":"started","port":3000}',
        `{"level":30,"msg":"dispatch","detail":"submit_sm to ${number.slice(1)} ok"}`,
        '{"level":30,"msg":"done"}',
        // A payload someone logged as base64: found too.
        `{"level":20,"payload":"${Buffer.from(`{"code":"${code}"}`).toString('base64')}"}`,
      ].join('\n') + '\n',
    );

    // The same content written through createLogger leaves nothing to find.
    const lines: string[] = [];
    const log = createLogger('leak-test', 'debug', { write: (s: string) => void lines.push(s) });
    log.info({ detail: `submit_sm to ${number.slice(1)} ok` }, 'dispatch to %s', number);
    log.error(new Error(`carrier rejected ${number}: your code is ${code}`));
    log.info(`national form 0${needleVariants(number)[2]!}`);

    const findings = await scanForLeaks({ needles, logFiles: [file], logLines: lines });
    expect(findings).toEqual(
      expect.arrayContaining([
        { where: 'log', location: `${file}:2`, needle: '447…', needleIndex: 1 },
        {
          where: 'log',
          location: `${file}:4`,
          needle: maskNeedle(code),
          needleIndex: needles.length - 1,
        },
      ]),
    );
    expect(findings).toHaveLength(2); // lines 1 and 3, and every redacted line, are clean
    expectMasked(findings, needles);

    // The unredacted version of what the logger wrote would have been caught.
    const leaky = await scanForLeaks({ needles, logLines: [`dispatch to ${number}`] });
    expect(leaky).toEqual([
      { where: 'log', location: 'logLines:1', needle: '+44…', needleIndex: 0 },
    ]);
  });

  test('Temporal, read raw: memo, history, search attribute and workflow id of a plain-JSON workflow', async () => {
    const number = randomNumber();
    const needles = needleVariants(number);
    const nsn = needles[2]!;
    const plain = unique('leak');
    const inId = `${unique('leak')}-${nsn}`;
    const taskQueue = unique('nobody'); // no worker: the workflow just sits there, started
    const Tenant = defineSearchAttributeKey('Tenant', 'KEYWORD');
    // The default data converter is plain JSON: exactly what a missing codec would store.
    const handles = [
      await client.workflow.start('anything', {
        taskQueue,
        workflowId: plain,
        memo: { note: `call ${number}` },
        typedSearchAttributes: [{ key: Tenant, value: `tenant-${nsn}` }],
        args: [{ to: number }],
      }),
      await client.workflow.start('anything', { taskQueue, workflowId: inId, args: [] }),
    ];
    try {
      const query = `WorkflowId = '${plain}' OR WorkflowId = '${inId}'`;
      await waitForVisibility(client, query, 2);
      const findings = await scanForLeaks({ needles, logFiles: [], temporal: { client, query } });
      const at = (where: string) => findings.filter((f) => f.where === where);

      expect(at('memo')).toEqual([
        { where: 'memo', location: `${plain} memo.note`, needle: '+44…', needleIndex: 0 },
      ]);
      expect(at('search-attribute')).toEqual([
        {
          where: 'search-attribute',
          location: `${plain} search-attribute.Tenant`,
          needle: maskNeedle(nsn),
          needleIndex: 2,
        },
      ]);
      // WorkflowExecutionStarted (event 1) holds the input, the memo and the search attribute.
      expect(at('temporal-history')).toEqual(
        expect.arrayContaining([
          { where: 'temporal-history', location: `${plain}:1`, needle: '+44…', needleIndex: 0 },
        ]),
      );
      // The id itself leaks; the finding's location masks it.
      const scrubbedId = inId.replace(nsn, maskNeedle(nsn));
      expect(at('workflow-id')).toEqual([
        { where: 'workflow-id', location: scrubbedId, needle: maskNeedle(nsn), needleIndex: 2 },
      ]);
      expect(
        findings.every((f) => f.location.startsWith(plain) || f.location.startsWith(scrubbedId)),
      ).toBe(true);
      expectMasked(findings, needles);
    } finally {
      for (const h of handles) {
        await h.terminate('leak-scan test done').catch(() => undefined);
        // Deleted too, so a later scan of the whole namespace does not trip over this test's plant.
        await client.workflowService
          .deleteWorkflowExecution({
            namespace: client.options.namespace,
            workflowExecution: { workflowId: h.workflowId },
          })
          .catch(() => undefined);
      }
    }
  });

  test('database: a needle in a jsonb and a text[] column of a scratch table, excludeTables honoured', async () => {
    const number = randomNumber();
    const code = randomCode();
    const needles = [...needleVariants(number), code];
    const table = `leak_scan_probe_${unique('t').replace(/[^a-z0-9]/g, '_')}`;
    await db.query(
      `create table ${table} (id serial primary key, note text, payload jsonb, tags text[], label varchar(40), raw bytea)`,
    );
    try {
      await db.query(
        `insert into ${table} (note, payload, tags, label, raw) values
           ('nothing here', $1::jsonb, $2::text[], 'clean', $3),
           ('clean too', '{}', '{}', 'clean', $4)`,
        [
          JSON.stringify({ to: number }),
          ['otp', code],
          Buffer.from('opaque'),
          Buffer.from(`tel ${number}`),
        ],
      );
      // The code in Devanagari digits, split by a zero-width space: found too, folded in SQL.
      await db.query(`insert into ${table} (note) values ($1)`, [
        `otp ${inScript(code.slice(0, 2), SCRIPTS.devanagari)}\u200b${inScript(code.slice(2), SCRIPTS.devanagari)}`,
      ]);
      const findings = await scanForLeaks({ needles, logFiles: [], db });
      expect(findings).toEqual(
        expect.arrayContaining([
          { where: 'database', location: `${table}.payload`, needle: '+44…', needleIndex: 0 },
          {
            where: 'database',
            location: `${table}.tags`,
            needle: maskNeedle(code),
            needleIndex: needles.length - 1,
          },
          {
            where: 'database',
            location: `${table}.note`,
            needle: maskNeedle(code),
            needleIndex: needles.length - 1,
          },
          { where: 'database', location: `${table}.raw`, needle: '+44…', needleIndex: 0 },
        ]),
      );
      expect(findings.filter((f) => f.location.startsWith(`${table}.`))).toHaveLength(4);
      expectMasked(findings, needles);

      const excluded = await scanForLeaks({ needles, logFiles: [], db, excludeTables: [table] });
      expect(excluded.filter((f) => f.location.startsWith(`${table}.`))).toEqual([]);
    } finally {
      await db.query(`drop table if exists ${table}`);
    }
  });

  test('a clean run: needles that appear nowhere give no finding, over logs, Temporal and the whole database', async () => {
    // A letter in the code keeps it from matching a digit run (a timestamp) by chance.
    const needles = [...needleVariants(randomNumber()), `K${randomCode()}Q`];
    const file = join(dir, 'clean.log');
    writeFileSync(file, '{"level":30,"msg":"nothing personal","latencyMs":12}\n');
    const workflowId = unique('leak-clean');
    const handle = await client.workflow.start('anything', {
      taskQueue: unique('nobody'),
      workflowId,
      memo: { note: 'no number here' },
      args: [{ to: 'subscriber-token-abc' }],
    });
    try {
      const query = `WorkflowId = '${workflowId}'`;
      await waitForVisibility(client, query, 1);
      const findings = await scanForLeaks({
        needles,
        logFiles: [file],
        logLines: ['{"msg":"clean"}'],
        temporal: { client, query },
        db,
      });
      expect(findings).toEqual([]);
    } finally {
      await handle.terminate('leak-scan test done').catch(() => undefined);
      await client.workflowService
        .deleteWorkflowExecution({
          namespace: client.options.namespace,
          workflowExecution: { workflowId },
        })
        .catch(() => undefined);
    }
  });
});

/** Visibility is eventually consistent: wait until the query sees the workflows just started. */
async function waitForVisibility(client: Client, query: string, expected: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { count } = await client.workflow.count(query);
    if (count >= expected) return;
    if (Date.now() > deadline) throw new Error(`visibility never showed ${expected} workflow(s)`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
