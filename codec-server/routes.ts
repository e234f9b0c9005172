import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import type { Pool } from 'pg';
import type { VaultPayloadCodec } from '../encryption/codec';
import { VaultError } from '../clients/vault';
import type { Config } from '../config/config';
import { appendAuditBatch, type AuditEntry } from '../db/audit';
import { messageTenants } from '../db/message-owners';
import { NUMBER_MASK, redactForPeople, redactFreeText } from '../domain/masking';
import { belongsTo, payloadReferences, type PayloadReferences } from '../domain/payload-owners';
import { isStepSummary } from '../domain/step-summaries';
import { redactNumber } from '../domain/phone';
import {
  browserSessionRoutes,
  principalOf,
  SESSION_COOKIE,
  type BrowserSession,
  type Principal,
} from '../api/plugins/auth';
import { HttpProblem } from '../api/plugins/problem';

export interface CodecRouteDeps {
  /**
   * The codec under the `codec-server` Vault identity: decodes (decrypt on the codec keys only) and
   * encodes what an operator types in the UI (a signal's input) as the API encodes its own payloads,
   * under the same transit key (a new data key; it opens nothing more by it).
   */
  codec: VaultPayloadCodec;
  db: Pool;
  config: Config;
}

/** A payload as the Temporal codec-server protocol carries it: metadata values and data in base64. */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** What replaces a payload that is not JSON: its bytes could hold anything. */
export const BINARY_REDACTED = '[binary payload redacted]';

const INTERNATIONAL = /^\+[1-9][0-9]{6,14}$/;

/**
 * Redacts a decoded JSON value for display: `to` fields become the redacted number (`+44••••••••56`),
 * `body`/`text` fields are what a reviewer sees of a body (`redactForPeople`), a string that is only a
 * number in international form becomes its redacted form, and every other string (object keys included) goes through
 * `redactFreeText`. Numbers, booleans and null are kept.
 */
export function redactValue(value: unknown, key?: string): unknown {
  const field = key?.toLowerCase();
  if (typeof value === 'string') {
    if (field === 'to') return redactNumber(value.replace(/[\s().-]/g, ''));
    if (field === 'body' || field === 'text') return redactForPeople(value);
    const compact = value.replace(/[\s().-]/g, '');
    // A number in international form keeps its redacted form; other numbers become `[number]` below.
    if (INTERNATIONAL.test(compact)) return redactNumber(compact);
    return redactFreeText(value);
  }
  if (field === 'to' && typeof value === 'number') return NUMBER_MASK;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [redactFreeText(k), redactValue(v, k)]),
    );
  }
  return value;
}

const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : '');
const jsonPlain = (value: unknown): Payload => ({
  metadata: { [METADATA_ENCODING_KEY]: Buffer.from('json/plain') },
  data: Buffer.from(JSON.stringify(value)),
});

/** A decoded payload made fit for an operator's screen: JSON redacted, anything else replaced. */
export function redactPayload(p: Payload): Payload {
  const encoding = text(p.metadata?.[METADATA_ENCODING_KEY]);
  if (encoding === 'binary/null')
    return { metadata: { [METADATA_ENCODING_KEY]: p.metadata![METADATA_ENCODING_KEY]! } };
  if (encoding === 'json/plain') {
    try {
      return jsonPlain(redactValue(JSON.parse(text(p.data))));
    } catch {
      // Not valid JSON after all: treated as opaque bytes.
    }
  }
  return jsonPlain(BINARY_REDACTED);
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  ...(p.data && p.data.length > 0 ? { data: Buffer.from(p.data).toString('base64') } : {}),
});

const payloadsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['payloads'],
  properties: {
    payloads: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          metadata: { type: 'object', additionalProperties: { type: 'string' } },
          data: { type: 'string' },
        },
      },
    },
  },
} as const;
const problem = { $ref: 'Problem#' } as const;
/**
 * The codec-server protocol reads only the path's last segment; clients add query parameters
 * (the Temporal UI sends `?preserveStorageRefs=true`, preflight included), so these routes accept
 * any, unlike the rest of the API (api/plugins/limits.ts).
 */
const codecQuery = {
  type: 'object',
  properties: { preserveStorageRefs: { type: 'string', enum: ['true', 'false'] } },
} as const;

/** Payload batches from the UI (a whole history) are far bigger than the API's usual 64 KiB. */
const CODEC_BODY_LIMIT = 8 * 1024 * 1024;
const NAMESPACE = /^[A-Za-z0-9._-]{1,255}$/;

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

/** What replaces a payload the operator may not see: another tenant's, or one that names no tenant. */
export const WITHHELD = '[withheld: not a payload of your tenant]';

interface ScopedPayload {
  payload: Payload;
  refs: PayloadReferences;
  visible: boolean;
}

interface Scoped {
  payloads: ScopedPayload[];
  /** The tenant of each message the payloads name. */
  owners: Map<string, string>;
}

/** The decoded JSON value of a payload, or undefined when it is not JSON. */
function jsonOf(p: Payload): { value: unknown } | undefined {
  if (text(p.metadata?.[METADATA_ENCODING_KEY]) !== 'json/plain') return undefined;
  try {
    return { value: JSON.parse(text(p.data)) };
  } catch {
    return undefined; // Not JSON after all.
  }
}

/** The references of a decoded payload: JSON is searched, anything else names nobody. */
function referencesOf(p: Payload): PayloadReferences {
  const json = jsonOf(p);
  return json ? payloadReferences(json.value) : { tenants: [], messageIds: [] };
}

/**
 * Which decoded payloads the operator may see: a `platform-operator` sees all of them; any other
 * operator only those that belong to its own tenant (see `belongsTo`: the tenants and messages a
 * payload names, the messages' owners looked up in one query). `binary/null` shows nothing and passes.
 */
async function scopeToTenant(
  db: Pool,
  decoded: Payload[],
  principal: Principal,
  /** Which payloads arrived encrypted: one stored in the clear (an SDK marker's data) hides nothing. */
  encrypted: boolean[],
): Promise<Scoped> {
  const platform = principal.roles.includes('platform-operator');
  const refs = decoded.map(referencesOf);
  const owners = await messageTenants(db, [...new Set(refs.flatMap((r) => r.messageIds))]);
  const payloads = decoded.map((payload, i) => ({
    payload,
    refs: refs[i]!,
    visible:
      platform ||
      text(payload.metadata?.[METADATA_ENCODING_KEY]) === 'binary/null' ||
      !encrypted[i] ||
      // A step's fixed summary on the timeline is nobody's data: every operator reads it.
      isStepSummary(jsonOf(payload)?.value) ||
      belongsTo(refs[i]!, owners, principal.tenant),
  }));
  return { payloads, owners };
}

/**
 * The audit of one decode: a `codec.decode` row per message whose payloads were revealed (subject:
 * the message id, tenant: the message's), and one row for the request (subject: the namespace) with
 * the counts and the ids.
 */
function decodeAudit(
  principal: Principal,
  namespace: string,
  { payloads: scoped, owners }: Scoped,
): AuditEntry[] {
  const actor = `operator:${principal.keyId}`;
  const revealed = new Map<string, number>();
  for (const s of scoped)
    if (s.visible)
      for (const id of s.refs.messageIds) revealed.set(id, (revealed.get(id) ?? 0) + 1);
  const scope = principal.roles.includes('platform-operator') ? 'platform' : 'tenant';
  return [
    ...[...revealed].map(([id, payloads]) => ({
      actor,
      tenant: owners.get(id) ?? principal.tenant,
      action: 'codec.decode',
      subject: id,
      detail: { namespace, payloads, scope },
    })),
    {
      actor,
      tenant: principal.tenant,
      action: 'codec.decode',
      subject: namespace,
      detail: {
        payloads: scoped.length,
        revealed: scoped.filter((s) => s.visible).length,
        withheld: scoped.filter((s) => !s.visible).length,
        messages: [...revealed.keys()],
        scope,
      },
    },
  ];
}

/** Vault down or unreachable (a 5xx, not the client's fault), as opposed to a payload that does not decrypt. */
const unavailable = (err: unknown) =>
  err instanceof VaultError
    ? err.status >= 500
    : err instanceof Error && ['TypeError', 'AbortError', 'TimeoutError'].includes(err.name);

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
 * The codec server for the Temporal UI and CLI (`POST /codec/decode`, `POST /codec/encode`), with the
 * Temporal codec-server protocol. Decoding answers **redacted** payloads only (see `redactValue`), of
 * the operator's own tenant only (others are replaced by {@link WITHHELD}; a `platform-operator`
 * sees every tenant's), and audits the message ids it revealed; encoding passes through (the UI
 * encodes signal inputs an operator types).
 *
 * Operators authenticate with `Authorization: Bearer <key>` (CLI `--codec-auth`), or from the browser
 * with the session cookie `GET /codec/login` opens. CORS answers the Temporal UI's origins only.
 */
export async function codecRoutes(app: FastifyInstance, deps: CodecRouteDeps): Promise<void> {
  const { codec, db, config } = deps;
  const uiOrigins = new Set(config.codec.uiOrigins);
  const selfOrigin = (req: FastifyRequest) => `${req.protocol}://${req.headers.host ?? ''}`;

  // CORS for the UI's origins only, on every answer (errors included, so the UI can tell a 401).
  app.addHook('onSend', async (req, reply: FastifyReply) => {
    const origin = req.headers.origin;
    if (!origin || !uiOrigins.has(origin)) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-credentials', 'true');
    reply.header('vary', 'Origin');
    if (req.method === 'OPTIONS') {
      reply.header('access-control-allow-methods', 'POST, OPTIONS');
      reply.header('access-control-allow-headers', 'content-type, x-namespace, authorization');
      reply.header('access-control-max-age', '600');
    }
  });
  // A browser request from any other site is refused before it does anything (CSRF with the cookie).
  app.addHook('onRequest', async (req) => {
    const origin = req.headers.origin;
    if (req.method !== 'OPTIONS' && origin && !uiOrigins.has(origin) && origin !== selfOrigin(req))
      throw new HttpProblem(403, 'Forbidden', 'this origin may not call the codec server');
  });

  const open = { public: true } as const;
  app.options(
    '/codec/*',
    { config: open, schema: { hide: true, querystring: codecQuery } },
    async (_req, reply) => reply.code(204).send(),
  );

  app.get('/codec/login', { config: open, schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header(
        'content-security-policy',
        `default-src 'none'; script-src 'sha256-${LOGIN_SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`,
      )
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .send(loginPage(config.codec.uiOrigins[0], `${config.codec.publicUrl}/codec`)),
  );

  browserSessionRoutes(app, db, CODEC_SESSION, {
    tag: 'codec',
    summary: 'Opens an 8-hour browser session for the codec server (operator key)',
  });

  const route = {
    bodyLimit: CODEC_BODY_LIMIT,
    config: { roles: ['operator'] as const, cookieAuth: true },
  };

  app.post<{ Body: { payloads: JsonPayload[] } }>(
    '/codec/decode',
    {
      ...route,
      schema: {
        tags: ['codec'],
        summary: 'Decodes Temporal payloads for the UI and CLI, redacted (operator)',
        querystring: codecQuery,
        body: payloadsSchema,
        response: { 200: payloadsSchema, 400: problem, 401: problem, 403: problem },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const header = req.headers['x-namespace'];
      const namespace = (Array.isArray(header) ? header[0] : header) || 'default';
      if (!NAMESPACE.test(namespace))
        throw new HttpProblem(400, 'Invalid request', 'x-namespace is not a namespace name', [
          'x-namespace',
        ]);
      const received = req.body.payloads.map(fromJson);
      let decoded: Payload[];
      try {
        decoded = await codec.decode(received);
      } catch (err) {
        if (unavailable(err)) throw err;
        throw new HttpProblem(400, 'Undecodable payload', 'a payload could not be decrypted');
      }
      const encrypted = received.map(
        (pl) => text(pl.metadata?.[METADATA_ENCODING_KEY]) === 'binary/encrypted',
      );
      const scoped = await scopeToTenant(db, decoded, principal, encrypted);
      await appendAuditBatch(db, decodeAudit(principal, namespace, scoped));
      return {
        payloads: scoped.payloads.map((s) =>
          toJson(s.visible ? redactPayload(s.payload) : jsonPlain(WITHHELD)),
        ),
      };
    },
  );

  app.post<{ Body: { payloads: JsonPayload[] } }>(
    '/codec/encode',
    {
      ...route,
      schema: {
        tags: ['codec'],
        summary: 'Encodes payloads (signal inputs typed in the UI) with the Vault codec (operator)',
        querystring: codecQuery,
        body: payloadsSchema,
        response: { 200: payloadsSchema, 401: problem, 403: problem },
      },
    },
    async (req) => ({
      payloads: (await codec.encode(req.body.payloads.map(fromJson))).map(toJson),
    }),
  );
}
