import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, uiContext } from '../helpers/browser';
import { createApiKey } from '../../scripts/keys';
import { startPipeline, type Pipeline } from '../helpers/pipeline';
import { config, stack } from '../helpers/stack';

/**
 * The real Temporal UI (the dev server's, :8233) shows a sent message's workflow through our codec
 * server: redacted once an operator has signed in, ciphertext before. Needs `chromium` on PATH
 * (`scripts/ensure-chromium.sh`, run by `npm test`) and the codec server's port (CODEC_PORT) free,
 * since the UI's codec endpoint names it.
 */
const UI = `http://${stack.host}:${stack.temporal.uiPort}`;
const CODEC = `http://127.0.0.1:${config.codec.port}/codec`;
const OUTPUT = join(__dirname, '..', '..', 'test-output');

/** The page's globals, for functions run in the browser (this project's TypeScript has no DOM types). */
type BrowserGlobals = { document: { body: { innerText: string } } };

const digits = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 10)).join('');

async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', () =>
      reject(
        new Error(
          `port ${port} is taken (a codec server from \`npm start\`?). The Temporal UI's codec endpoint is ${CODEC}, ` +
            'so this test runs its codec server there: stop the other process and rerun.',
        ),
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

describe('the Temporal UI shows message workflows through the redacting codec server', () => {
  let p: Pipeline;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let operatorKey: string;
  let workflowUrl: string;
  let id: string;
  const number = `+447400${digits(6)}`;
  const code = `${1 + Math.floor(Math.random() * 9)}${digits(5)}`;
  // Every way the number or the code could show up in plain text.
  const plaintext = [
    number,
    number.slice(1),
    number.slice(3),
    number.slice(5),
    `0${number.slice(3)}`,
    code,
  ];

  const pageText = () => page.innerText('body');
  const expectNoPlaintext = async () => {
    const text = await pageText();
    for (const secret of plaintext) expect(text).not.toContain(secret);
    const html = await page.content();
    for (const secret of plaintext) expect(html).not.toContain(secret);
  };

  beforeAll(async () => {
    await assertPortFree(config.codec.port);
    p = await startPipeline({ codecServer: true, codecPort: config.codec.port });
    const res = await p.send({ to: number, body: `Your code is ${code}`, purpose: 'otp' });
    expect(res.status).toBe(202);
    id = ((await res.json()) as { id: string }).id;
    expect((await p.waitFinal([id], 60_000)).get(id)?.status).toBe('delivered');
    workflowUrl = `${UI}/namespaces/${config.temporal.namespace}/workflows/${id}`;
    operatorKey = (await createApiKey(p.db, p.tenant, ['operator'])).secret;

    browser = await launchChromium();
    context = await uiContext(browser, CODEC, { width: 1280, height: 1400 });
    page = await context.newPage();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await p?.close();
  });

  test('without a session the codec server answers 401 and the UI shows only ciphertext', async () => {
    const direct = await fetch(`${CODEC}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: UI, 'x-namespace': 'default' },
      body: JSON.stringify({ payloads: [] }),
    });
    expect(direct.status).toBe(401);
    expect(direct.headers.get('access-control-allow-origin')).toBe(UI);

    const refused = page.waitForResponse(
      (r) => r.url().startsWith(`${CODEC}/decode`) && r.status() === 401,
    );
    await page.goto(workflowUrl);
    await refused;
    // The input as stored: base64 of AES-GCM ciphertext.
    await page.waitForFunction(
      () =>
        /Input[\s\S]*"[A-Za-z0-9+/]{200,}={0,2}"/.test(
          (globalThis as unknown as BrowserGlobals).document.body.innerText,
        ),
      undefined,
      { timeout: 20_000 },
    );
    await expectNoPlaintext();
    expect(await pageText()).not.toContain('Your code is');
  });

  test("signed in at /codec/login, the operator sees its tenant's input (references only), never plain text", async () => {
    const login = await context.newPage();
    await login.goto(`${CODEC}/login`);
    await login.fill('#k', operatorKey);
    await login.click('button[type=submit]');
    await login.getByText('Signed in').waitFor();
    const cookie = (await context.cookies(`${CODEC}/decode`)).find(
      (c) => c.name === 'codec_session',
    );
    expect(cookie).toMatchObject({ path: '/codec', httpOnly: true, sameSite: 'Lax' });
    expect(cookie!.value).not.toContain(operatorKey);
    await login.close();

    await page.goto(workflowUrl);
    // The input names the message and its tenant (the operator's): decoded. It carries no number or
    // text at all (they are sealed under the region's key in message_intake).
    await page.waitForFunction(
      (decoded) =>
        (globalThis as unknown as BrowserGlobals).document.body.innerText.includes(decoded),
      `"messageId": "${id}"`,
      { timeout: 30_000 },
    );
    const text = await pageText();
    expect(text).toContain('"purpose": "otp"');
    expect(text).not.toContain('"to":');
    expect(text).not.toContain('Your code is');
    await expectNoPlaintext();

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'temporal-ui-workflow.png'), fullPage: true });
  });
});
