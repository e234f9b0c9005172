/**
 * `npm run docs:screenshots`: sends a few messages through the whole pipeline on the local stack
 * (delivered to GB, DE and CN, one undelivered, one failed), signs in to the codec server as an
 * operator, and drives headless Chromium through the Temporal UI, saving the pictures
 * docs/operators.md shows into docs/images/. Needs the stack up (`npm run stack:up`), `chromium` on
 * PATH and the codec server's port (CODEC_PORT) free (the UI's codec endpoint names it).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, uiContext } from '../test/helpers/browser';
import { loadStackConfig } from '../config/stack';
import { ROOT_DIR } from '../config/paths';
import { createApiKey } from './keys';
import { startPipeline } from '../test/helpers/pipeline';
import { config } from '../test/helpers/stack';

const OUT = join(ROOT_DIR, 'docs', 'images');
const stack = loadStackConfig();
const UI = `http://${stack.host}:${stack.temporal.uiPort}`;
const CODEC = `http://127.0.0.1:${config.codec.port}/codec`;
const ns = config.temporal.namespace;

/** The page's globals, for functions run in the browser (this project's TypeScript has no DOM types). */
type BrowserGlobals = { document: { body: { innerText: string } } };

const listUrl = (query: string) =>
  `${UI}/namespaces/${ns}/workflows?query=${encodeURIComponent(query)}`;

async function shoot(page: Page, url: string, file: string, waitText: string) {
  await page.goto(url);
  await page.waitForFunction(
    (t) => (globalThis as unknown as BrowserGlobals).document.body.innerText.includes(t),
    waitText,
    { timeout: 60_000 },
  );
  await page.waitForTimeout(1500); // let the table and decoded payloads settle before the picture
  await page.screenshot({ path: join(OUT, file), fullPage: true });
  process.stderr.write(`saved docs/images/${file}\n`);
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const p = await startPipeline({ codecServer: true, codecPort: config.codec.port, smscCount: 1 });
  try {
    const [smsc] = p.smscs;
    const undelivered = '+447400777001';
    const failed = '+447400777002';
    smsc!.setBehaviour({
      receiptOutcome: (d) => (d === undelivered ? 'UNDELIV' : 'DELIVRD'),
      permanentErrorFor: (d) => d === failed,
    });
    const send = async (to: string, body: string, purpose = 'otp') => {
      const res = await p.send({ to, body, purpose });
      return ((await res.json()) as { id: string }).id;
    };
    const ids = [
      await send('+447400123456', 'Your code is 123456. Valid for 10 minutes. -- ACME Bank'),
      await send('+4915112345678', 'Ihr Code lautet 654321', 'otp'),
      await send('+8613812345678', '您的验证码是 246810', 'otp'),
      await send('+447400555000', 'Your parcel arrives today', 'transactional'),
      await send(undelivered, 'Your code is 112233'),
      await send(failed, 'Your code is 445566'),
    ];
    const final = await p.waitFinal(ids, 120_000);
    process.stderr.write(`${[...final.values()].map((m) => m.status).join(', ')}\n`);
    const operatorKey = (await createApiKey(p.db, p.tenant, ['operator'])).secret;

    const browser = await launchChromium();
    const context = await uiContext(browser, CODEC, { width: 1440, height: 1000 });
    const login = await context.newPage();
    await login.goto(`${CODEC}/login`);
    await login.fill('#k', operatorKey);
    await login.click('button[type=submit]');
    await login.getByText('Signed in').waitFor();
    await login.close();

    const page = await context.newPage();
    const tenant = `Tenant = '${p.tenant}'`;
    await shoot(page, listUrl(tenant), 'ui-messages-of-tenant.png', ids[0]!);
    await shoot(
      page,
      listUrl(`${tenant} AND MessageStatus IN ('failed', 'undelivered', 'unconfirmed')`),
      'ui-failed-messages.png',
      ids[4]!,
    );
    await shoot(
      page,
      `${UI}/namespaces/${ns}/workflows/${ids[0]}`,
      'ui-message-decoded.png',
      // The decoded input: it names the message (references only; no number or text to show).
      `"messageId": "${ids[0]}"`,
    );
    // The CN message's search attributes tab: our attributes, kept current to the final status.
    await page.goto(`${UI}/namespaces/${ns}/workflows/${ids[2]}`);
    await page.getByText('Search Attributes', { exact: true }).first().click();
    await page.waitForFunction(
      () =>
        (globalThis as unknown as BrowserGlobals).document.body.innerText.includes('CountryCode'),
      undefined,
      { timeout: 60_000 },
    );
    await page.waitForTimeout(1000);
    await page.screenshot({ path: join(OUT, 'ui-search-attributes.png'), fullPage: true });
    process.stderr.write('saved docs/images/ui-search-attributes.png\n');
    await browser.close();
  } finally {
    await p.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`docs:screenshots failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
