import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { Config } from '../config/config';
import { browserSessionRoutes, SESSION_COOKIE, type BrowserSession } from '../api/plugins/auth';

const LOGIN_SCRIPT = `document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const key = document.getElementById('k');
  const status = document.getElementById('s');
  const res = await fetch('login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey: key.value }),
  });
  key.value = '';
  status.textContent = res.ok
    ? 'Signed in for 8 hours.'
    : 'Sign-in failed: ' + ((await res.json().catch(() => ({}))).title || res.status);
});`;
const LOGIN_SCRIPT_HASH = createHash('sha256').update(LOGIN_SCRIPT).digest('base64');
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const loginPage = (uiOrigin: string | undefined, endpoint: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Codec server sign-in</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}input,button{font:inherit;padding:.4rem}input{width:100%;box-sizing:border-box}code{word-break:break-all}</style>
</head>
<body>
<h1>Codec server sign-in</h1>
<p>Sign in with an operator API key so the Temporal UI can show workflow payloads, redacted. The key
is not stored in the browser: it keeps an 8-hour session cookie only. Every decode is audited.</p>
<form id="f"><label for="k">Operator API key</label>
<input id="k" type="password" autocomplete="off" required>
<p><button type="submit">Sign in</button></p></form>
<p id="s" role="status"></p>
<p>Then, in the Temporal UI's codec settings${uiOrigin ? ` (<a href="${escapeHtml(uiOrigin)}">${escapeHtml(uiOrigin)}</a>)` : ''}:
endpoint <code>${escapeHtml(endpoint)}</code>, "Include cross-origin credentials" on.</p>
<script>${LOGIN_SCRIPT}</script>
</body>
</html>
`;

/** The operator's browser session for the Temporal UI's codec fetch. */
const CODEC_SESSION: BrowserSession = {
  cookie: SESSION_COOKIE,
  path: '/codec',
  sameSite: 'Lax',
  role: 'operator',
  what: 'the codec server',
  auditAction: 'codec.login',
};

/**
 * The operator's sign-in for the Temporal UI: `GET /codec/login` (a page under a strict CSP that
 * posts the key once and keeps only the session cookie), `POST /codec/login` and `/codec/logout`.
 */
export function signInRoutes(app: FastifyInstance, deps: { db: Pool; config: Config }): void {
  const { db, config } = deps;
  app.get(
    '/codec/login',
    { config: { public: true }, schema: { hide: true } },
    async function loginPageRoute(_req, reply) {
      return reply
        .type('text/html; charset=utf-8')
        .header(
          'content-security-policy',
          `default-src 'none'; script-src 'sha256-${LOGIN_SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`,
        )
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .send(loginPage(config.codec.uiOrigins[0], `${config.codec.publicUrl}/codec`));
    },
  );

  browserSessionRoutes(app, db, CODEC_SESSION, {
    tag: 'codec',
    summary: 'Opens an 8-hour browser session for the codec server (operator key)',
  });
}
