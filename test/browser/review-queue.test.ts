import type { Page } from 'playwright-core';
import type { Pipeline } from '../helpers/pipeline';
import { waitForStatus, type Reviewer } from '../helpers/review';
import { startReviewPage, type ReviewPageFixture } from '../helpers/review-page';

/**
 * The reviewer page's queue in headless Chromium, in a time zone other than the server's: three
 * held messages are listed, each with its pseudonym, country, purpose, age and SLA left, and the
 * SLA end in the reviewer's zone with the zone named; no body, code or number is on the page until
 * a task is claimed. The listing is audited like every other reviewer read.
 */
type BrowserGlobals = { Intl: typeof Intl };

describe("the reviewer page's queue: what waits, how old, how long left; no content", () => {
  let f: ReviewPageFixture;
  let p: Pipeline;
  let reviewer: Reviewer;
  let page: Page;
  let needles: string[];
  const ids: string[] = [];
  const ZONE = 'Asia/Tokyo';

  beforeAll(async () => {
    f = await startReviewPage({
      policies: [{ mode: 'pre_send', sampleRate: 1, slaSeconds: 3600 }],
      context: { timezoneId: ZONE, locale: 'en-GB' },
    });
    ({ p, reviewer, page, needles } = f);
    needles.push('Your login code');
    for (const purpose of ['otp', 'transactional', 'marketing'])
      ids.push((await f.sendHeld({ purpose, waitInReview: false })).id);
    for (const id of ids) await waitForStatus(p, id, 'in_review');
  }, 120_000);

  afterAll(async () => {
    await f?.close();
  });

  test('three waiting tasks, listed without content, times in the reviewer zone', async () => {
    await page.goto(`${p.base}/review`);
    await page.locator('#key').fill(reviewer.secret);
    await page.keyboard.press('Enter');
    const rows = page.locator('#queue-rows tr');
    await page.locator('#queue-info').getByText('3 open task(s), 3 free to claim.').waitFor();
    expect(await rows.count()).toBe(3);
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as BrowserGlobals).Intl.DateTimeFormat().resolvedOptions()
            .timeZone,
      ),
    ).toBe(ZONE);
    expect(await page.locator('#queue-zone').innerText()).toContain(ZONE);

    const { rows: content } = await p.db.query<{
      id: string;
      pseudonym: string;
      purpose: string;
      due_at: Date;
    }>(
      `select t.id, c.pseudonym, m.purpose, t.due_at
         from review_tasks t join review_task_content c on c.task_id = t.id join messages m on m.id = t.message_id
        where t.message_id = any($1) order by t.created_at, t.id`,
      [ids],
    );
    expect(content).toHaveLength(3);
    expect(content.map((t) => t.purpose).sort()).toEqual(['marketing', 'otp', 'transactional']);
    for (const [i, task] of content.entries()) {
      const cells = await rows.nth(i).locator('td').allInnerTexts();
      expect(await rows.nth(i).getAttribute('data-task')).toBe(task.id);
      const [pseudonym, country, purpose, mode, age, left, due, state] = cells;
      expect(pseudonym).toBe(task.pseudonym);
      expect(country).toBe('GB');
      expect(purpose).toBe(task.purpose);
      expect(mode).toBe('pre-send');
      expect(age).toMatch(/^\d+ (s|min \d+ s)$/);
      expect(left).toMatch(/^(59|60) min \d+ s$|^1 h 0 min$/);
      // The SLA end as the reviewer's clock shows it (Japan is UTC+9, no DST), zone named.
      const local = new Date(task.due_at.getTime() + 9 * 3_600_000);
      const hhmm = `${String(local.getUTCHours()).padStart(2, '0')}:${String(local.getUTCMinutes()).padStart(2, '0')}`;
      expect(due).toContain(hhmm);
      expect(due).toMatch(/JST|GMT\+9/);
      expect(state).toBe('free');
    }

    // Nothing of the messages is on the page before a claim.
    const html = await page.content();
    for (const n of needles) expect(html).not.toContain(n);
    expect(await page.locator('#task').isHidden()).toBe(true);
    expect(await page.locator('#body').innerText()).toBe('');

    // The listing is audited, like the other reviewer reads.
    const { rows: audit } = await p.db.query(
      `select detail from audit_log where action = 'review.list' and actor = $1 order by seq`,
      [`reviewer:${reviewer.keyId}`],
    );
    expect(audit.length).toBeGreaterThanOrEqual(1);
    expect(audit.at(-1).detail).toMatchObject({ tasks: 3 });

    // Claiming shows the lease end in the reviewer's zone too.
    await page.locator('#claim').click();
    await page.locator('#task').waitFor();
    expect(await page.locator('#fields').innerText()).toContain(`(${ZONE})`);
    await rows.first().locator('td', { hasText: 'claimed' }).waitFor();
    const { rows: claimed } = await p.db.query(
      'select id from review_tasks where id = $1 and lease_expires_at > now()',
      [content[0]!.id],
    );
    expect(claimed).toHaveLength(1);
  });
});
