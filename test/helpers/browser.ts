import { execSync } from 'node:child_process';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/** The system Chromium (`scripts/ensure-chromium.sh` installs it). */
export function chromiumPath(): string {
  try {
    return execSync('command -v chromium', { encoding: 'utf8', shell: '/bin/sh' }).trim();
  } catch {
    throw new Error('chromium is not installed: run `bash scripts/ensure-chromium.sh`');
  }
}

/** Headless Chromium, offline: no QUIC, no background fetches, no updates or sync. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });

/**
 * A fresh profile, with what an operator sets once in the Temporal UI's codec settings: our endpoint,
 * "Include cross-origin credentials" on, overriding the cluster setting (UI 2.54 keeps these in
 * localStorage under these keys, JSON-encoded).
 */
export async function uiContext(
  browser: Browser,
  codecEndpoint: string,
  viewport: { width: number; height: number },
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport });
  const settings = {
    endpoint: codecEndpoint,
    includeCredentials: true,
    overrideRemoteCodecConfiguration: true,
  };
  await context.addInitScript({
    content: Object.entries(settings)
      .map(
        ([k, v]) =>
          `localStorage.setItem(${JSON.stringify(k)}, ${JSON.stringify(JSON.stringify(v))});`,
      )
      .join('\n'),
  });
  return context;
}
