import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkedPageHtml, REVIEW_PAGE_DIR } from '../../api/routes/review-page';

/** The reviewer page's static HTML offers exactly the reasons the API accepts. */
describe('the reviewer page HTML', () => {
  const html = readFileSync(join(REVIEW_PAGE_DIR, 'index.html'), 'utf8');

  test('offers every reason code, in order', () => {
    expect(checkedPageHtml(html)).toBe(html);
  });

  test('a reason missing from the page (or one too many) fails at start-up', () => {
    expect(() => checkedPageHtml(html.replace(/<option value="rendering">.*\n/, ''))).toThrow(
      /offers the reasons \[ok, wrong_sender, wrong_template, content_policy, other\]/,
    );
    expect(() =>
      checkedPageHtml(html.replace('</select>', '<option value="spam">Spam</option></select>')),
    ).toThrow(/not \[ok, wrong_sender/);
  });
});
