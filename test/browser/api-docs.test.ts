import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { isMessageId } from '../../domain/ids';
import { launchChromium } from '../helpers/browser';
import { startApi, type TestApi } from '../helpers/api';
import { seedTenant } from '../helpers/pipeline';
import { unique } from '../helpers/stack';

/**
 * /docs as a backend developer uses it, in headless Chromium: Authorize with an API key, open
 * POST /v1/messages, "Try it out" with the shipped example untouched, Execute: 202 with the new
 * message's id. Without authorizing, the same Execute gets 401 (so the 202 is the key's doing).
 */
describe('the API docs page: authorize, try it out, 202', () => {
  let api: TestApi;
  let browser: Browser;
  let page: Page;
  let base: string;
  let apiKey: string;
  const tenant = unique('docs');
  const requests: { url: string; authorization?: string }[] = [];
  let lastResponse: unknown;
  const isSend = (url: string) => new URL(url).pathname === '/v1/messages';

  beforeAll(async () => {
    api = await startApi();
    ({ apiKey } = await seedTenant(api.db, tenant));
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    page.on('request', (r) => {
      if (isSend(r.url()))
        requests.push({ url: r.url(), authorization: r.headers()['authorization'] });
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  const sendOperation = () =>
    page.locator('.opblock.opblock-post', {
      has: page.locator('.opblock-summary-path[data-path="/v1/messages"]'),
    });

  /** Expands POST /v1/messages, presses "Try it out" and Execute; returns the status shown. */
  const tryItOut = async () => {
    const op = sendOperation();
    if (!(await op.locator('.opblock-body').isVisible()))
      await op.locator('.opblock-summary').click();
    const tryOut = op.locator('button.try-out__btn');
    if ((await tryOut.innerText()).trim() === 'Try it out') await tryOut.click();
    const [response] = await Promise.all([
      page.waitForResponse((r) => isSend(r.url())),
      op.locator('button.execute').click(),
    ]);
    lastResponse = await response.json();
    const status = op.locator('.live-responses-table .response .response-col_status');
    await status.first().waitFor();
    const text = (await status.first().innerText()).trim();
    await op.locator('button.btn-clear').click();
    return text;
  };

  test('the example is sent as it is shipped: 401 without a key, 202 once authorized', async () => {
    await page.goto(`${base}/docs`);
    await sendOperation().waitFor();

    // The body the UI will send is the shipped example.
    const op = sendOperation();
    await op.locator('.opblock-summary').click();
    await op.locator('button.try-out__btn').click();
    const body = JSON.parse(await op.locator('textarea.body-param__text').inputValue());
    expect(body).toEqual({
      to: '+447700900100',
      body: 'Your Acme login code is 123456',
      purpose: 'otp',
    });

    expect(await tryItOut()).toMatch(/^401/);

    await page.locator('button.btn.authorize').first().click();
    const scheme = page.locator('.auth-container', { has: page.locator('#auth-bearer-value') });
    await scheme.locator('#auth-bearer-value').fill(apiKey);
    await scheme.locator('button.authorize').click();
    await page.locator('button.btn-done').first().click();

    expect(await tryItOut()).toMatch(/^202/);
    const accepted = lastResponse as unknown as { id: string; status: string };
    expect(accepted.status).toBe('accepted');
    expect(isMessageId(accepted.id)).toBe(true);
    expect(requests.map((r) => r.authorization)).toEqual([undefined, `Bearer ${apiKey}`]);
  });
});
