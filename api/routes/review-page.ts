import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { ROOT_DIR } from '../../config/paths';
import { REASON_CODES } from '../../domain/review';
import { browserSessionRoutes, type BrowserSession } from '../plugins/auth';

/**
 * The reviewer page served at `/review`: a static HTML shell, a stylesheet and one small script in
 * `api/review-page/`, written by hand because the page is three states and five buttons — a
 * framework and a bundler would be most of the code and all of the supply chain. The HTML holds no
 * data at all: the script fetches the redacted task as JSON and writes it with `textContent` only,
 * keeps nothing in storage, and never puts a task in the URL. Every control is a real button, link
 * or form field, with access keys, and focus moves to what changed.
 *
 * The files are read from the repository root (found from this file, so `dist/` works too; the
 * Docker image keeps the sources beside `dist/`), once, when the routes are registered.
 */
export const REVIEW_PAGE_DIR = join(ROOT_DIR, 'api', 'review-page');

/** The reviewer's browser session: its cookie goes to `/review` only, never cross-site. */
export const REVIEW_SESSION: BrowserSession = {
  cookie: 'review_session',
  path: '/review',
  sameSite: 'Strict',
  role: 'reviewer',
  what: 'the reviewer page',
  auditAction: 'review.login',
};

/** Strict: nothing but this origin's own script, stylesheet and API. */
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'none'; " +
  "form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The page's HTML, checked against the reasons the API accepts: its `<select id="reason">` must offer
 * exactly `REASON_CODES`, in order, so a reason added to the domain and not to the page (or the
 * reverse) fails at start-up rather than in a reviewer's hands.
 */
export function checkedPageHtml(html: string): string {
  const select = /<select id="reason">([\s\S]*?)<\/select>/.exec(html)?.[1] ?? '';
  const offered = [...select.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);
  if (offered.join() !== REASON_CODES.join())
    throw new Error(
      `api/review-page/index.html offers the reasons [${offered.join(', ')}], not [${REASON_CODES.join(', ')}]`,
    );
  return html;
}

/** A static asset answer: no caching, no referrer, no sniffing, the page's strict CSP. */
function asset(type: string, body: string) {
  return async function sendAsset(_req: FastifyRequest, reply: FastifyReply) {
    return reply
      .type(type)
      .header('content-security-policy', PAGE_CSP)
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
      .send(body);
  };
}

/**
 * The reviewer page, its two assets and its sign-in (an API key with the reviewer role exchanged for
 * an HttpOnly session cookie) and sign-out. All public: they hold no data.
 */
export async function reviewPageRoutes(app: FastifyInstance, db: Pool): Promise<void> {
  const read = (name: string) => readFileSync(join(REVIEW_PAGE_DIR, name), 'utf8');
  const open = { config: { public: true }, schema: { hide: true } } as const;
  app.get('/review', open, asset('text/html; charset=utf-8', checkedPageHtml(read('index.html'))));
  app.get('/review/app.js', open, asset('text/javascript; charset=utf-8', read('app.js')));
  app.get('/review/app.css', open, asset('text/css; charset=utf-8', read('app.css')));

  browserSessionRoutes(app, db, REVIEW_SESSION, {
    tag: 'review',
    summary: 'Opens an 8-hour browser session for the reviewer page (reviewer key)',
  });
}
