import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isUnavailableError } from '../../clients/db';

/** An RFC 9457 problem document, the body of every error answer. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** For validation problems: the request fields at fault (names only, never their values). */
  fields?: string[];
}

/** Thrown by route handlers for a refusal the client can act on; becomes a problem+json answer. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly fields?: string[],
    /** Response headers that go with the refusal, e.g. `retry-after`. */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(title);
    this.name = 'HttpProblem';
  }
}

export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    fields: { type: 'array', items: { type: 'string' } },
  },
} as const;

/**
 * Every problem type the API answers with (`type` is `urn:problem:` and the title's slug), with what
 * it means; the OpenAPI spec lists them, and a test fails when a title in the code is missing here.
 */
export const PROBLEM_TYPES: Readonly<Record<string, { status: number; description: string }>> = {
  'urn:problem:invalid-request': {
    status: 400,
    description: 'The body, path, query string or headers failed validation; `fields` names them',
  },
  'urn:problem:malformed-json': { status: 400, description: 'The body is not JSON' },
  'urn:problem:empty-json-body': {
    status: 400,
    description: 'A JSON body was announced but is empty',
  },
  'urn:problem:invalid-content-length': {
    status: 400,
    description: 'The Content-Length header does not match the body',
  },
  'urn:problem:invalid-content-type': {
    status: 400,
    description: 'The Content-Type header does not parse',
  },
  'urn:problem:missing-content-type': { status: 400, description: 'A body without a Content-Type' },
  'urn:problem:bad-url': { status: 400, description: 'The URL does not decode' },
  'urn:problem:bad-request': {
    status: 400,
    description: 'The request could not be read (malformed request line or headers)',
  },
  'urn:problem:invalid-recipient': {
    status: 400,
    description: '`to` is not a valid international mobile number (E.164, with +)',
  },
  'urn:problem:invalid-body': {
    status: 400,
    description: 'The message text holds characters that cannot be sent',
  },
  'urn:problem:message-too-long': {
    status: 400,
    description: 'The message text needs more segments than allowed',
  },
  'urn:problem:invalid-schedule': {
    status: 400,
    description: '`sendAt` or `validitySeconds` is out of range',
  },
  'urn:problem:invalid-number': {
    status: 400,
    description: 'A number is not a valid E.164 number',
  },
  'urn:problem:callback-url-not-allowed': {
    status: 400,
    description: '`callbackUrl` is not a URL, or points where the API may not call',
  },
  'urn:problem:invalid-receipt': {
    status: 400,
    description: 'A carrier webhook body is not a receipt the API understands',
  },
  'urn:problem:undecodable-payload': {
    status: 400,
    description: 'The codec could not decrypt a payload',
  },
  'urn:problem:unauthenticated': {
    status: 401,
    description: 'No API key or session, or an unknown, revoked or expired one',
  },
  'urn:problem:invalid-signature': {
    status: 401,
    description: 'A webhook signature is missing, wrong, stale or replayed',
  },
  'urn:problem:forbidden': {
    status: 403,
    description:
      "The key lacks the route's role, may not be used from this address, or belongs to another tenant than the client certificate",
  },
  'urn:problem:no-lease': {
    status: 403,
    description:
      'A review task is readable and decidable only while you hold its lease: claim it first',
  },
  'urn:problem:not-found': {
    status: 404,
    description: "No such route, or no such resource in the caller's tenant",
  },
  'urn:problem:nothing-to-claim': {
    status: 404,
    description: 'No review task waits to be claimed',
  },
  'urn:problem:method-not-allowed': {
    status: 405,
    description: 'The path exists with other methods (`Allow` lists them)',
  },
  'urn:problem:request-timeout': {
    status: 408,
    description: 'The request was not received in time',
  },
  'urn:problem:conflict': {
    status: 409,
    description: 'The resource already exists or changed meanwhile',
  },
  'urn:problem:idempotency-key-reused': {
    status: 409,
    description: 'The same `Idempotency-Key` came with a different request',
  },
  'urn:problem:already-final': {
    status: 409,
    description: 'The message has already reached a final status',
  },
  'urn:problem:already-submitted': {
    status: 409,
    description: 'The message was already handed to a carrier',
  },
  'urn:problem:unknown-message': {
    status: 409,
    description: 'No submitted message has this carrier id (yet); retry later',
  },
  'urn:problem:review-task-closed': {
    status: 410,
    description: 'The review task was completed; its content is gone',
  },
  'urn:problem:request-body-too-large': {
    status: 413,
    description: 'The body is larger than the API accepts',
  },
  'urn:problem:unsupported-media-type': {
    status: 415,
    description: 'Bodies are `application/json` only',
  },
  'urn:problem:country-blocked': {
    status: 422,
    description: "The destination country is blocked by the tenant's sending policy",
  },
  'urn:problem:price-unknown': {
    status: 422,
    description:
      'No price is known for this destination, so a spend cap or `maxPrice` cannot be honoured',
  },
  'urn:problem:price-above-maxprice': {
    status: 422,
    description: 'The message would cost more than `maxPrice`',
  },
  'urn:problem:spend-cap-reached': {
    status: 422,
    description: "The tenant's monthly spend cap would be exceeded",
  },
  'urn:problem:no-callback-signing-secret': {
    status: 422,
    description: 'A `callbackUrl` needs a tenant callback secret (`POST /v1/callback-secrets`)',
  },
  'urn:problem:too-many-requests': {
    status: 429,
    description: 'Rate limit of the API key (or address); `Retry-After` says when to retry',
  },
  'urn:problem:send-quota-exceeded': {
    status: 429,
    description:
      "The tenant's daily send quota (per UTC day) is used up; `Retry-After` says when to retry",
  },
  'urn:problem:velocity-limit-reached': {
    status: 429,
    description:
      'The OTP velocity limit of the destination country is reached; `Retry-After` says when to retry',
  },
  'urn:problem:too-many-failed-authentications': {
    status: 429,
    description:
      'Too many failed authentications from this address; `Retry-After` says when to retry',
  },
  'urn:problem:request-header-fields-too-large': {
    status: 431,
    description: 'The request headers are too large',
  },
  'urn:problem:internal': {
    status: 500,
    description: 'An unexpected failure; the detail names the request id to find in the server log',
  },
  'urn:problem:service-unavailable': {
    status: 503,
    description: 'A dependency (PostgreSQL) is unreachable; `Retry-After` says when to retry',
  },
};

/** A problem title's slug: `Invalid request` → `invalid-request`. */
export const slug = (title: string) =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/(^-|-$)/g, '');

/**
 * Titles of Fastify's own 4xx errors, by code. Their messages are never sent: some echo request
 * content (a JSON syntax error quotes the body it choked on, which may hold a phone number).
 */
const FASTIFY_TITLES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'Malformed JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'Empty JSON body',
  FST_ERR_CTP_BODY_TOO_LARGE: 'Request body too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported media type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Invalid Content-Length',
  FST_ERR_CTP_INVALID_TYPE: 'Invalid Content-Type',
  FST_ERR_CTP_EMPTY_TYPE: 'Missing Content-Type',
  FST_ERR_BAD_URL: 'Bad URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URL parameter too long',
  FST_ERR_ASYNC_CONSTRAINT: 'Bad request',
};

/** At most this many field names are listed in a validation problem, and this many characters of each. */
export const MAX_PROBLEM_FIELDS = 20;
const MAX_FIELD_CHARS = 64;
/** A problem's `detail` is cut at this many characters (an error answer is bounded, whatever the request). */
export const MAX_PROBLEM_DETAIL = 1_000;

/** Seconds a client should wait before retrying while a dependency (PostgreSQL) is unreachable. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

const cut = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

/** A validation problem's `fields` and `detail`, bounded: thousands of unknown fields make one short answer. */
function boundedValidation(items: { field: string; message: string }[]): {
  fields: string[];
  detail: string;
} {
  const fields = [...new Set(items.map((i) => cut(i.field, MAX_FIELD_CHARS)))];
  const listed = fields.slice(0, MAX_PROBLEM_FIELDS);
  const messages = [...new Set(items.map((i) => cut(i.message, MAX_FIELD_CHARS * 2)))];
  let detail = messages.slice(0, MAX_PROBLEM_FIELDS).join('; ');
  if (messages.length > MAX_PROBLEM_FIELDS)
    detail += `; and ${messages.length - MAX_PROBLEM_FIELDS} more`;
  if (fields.length > MAX_PROBLEM_FIELDS)
    detail += `; ${fields.length} fields at fault, the first ${MAX_PROBLEM_FIELDS} listed`;
  return { fields: listed, detail: cut(detail, MAX_PROBLEM_DETAIL) };
}

/**
 * Node's own refusals, written on the socket before Fastify sees a request (the `clientError` event:
 * headers too large, a malformed request line), as problem+json. Passed to Fastify as
 * `clientErrorHandler`; the default one answers `application/json`.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT'
        ? 408
        : 400;
  const title = STATUS_CODES[status] ?? 'Bad Request';
  const body = JSON.stringify({ type: `urn:problem:${slug(title)}`, title, status });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * Fastify's refusals before routing (a URL that does not decode, a parameter too long), as problem+json;
 * passed to Fastify as `frameworkErrors`. The default answer is `application/json` and quotes the path,
 * which may hold a number.
 */
export function frameworkErrors(
  err: FastifyError,
  _req: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = err.statusCode ?? 400;
  const title =
    status >= 500
      ? 'Internal error'
      : (FASTIFY_TITLES[err.code] ?? STATUS_CODES[status] ?? 'Bad request');
  void reply
    .status(status)
    .type('application/problem+json')
    .send({ type: `urn:problem:${slug(title)}`, title, status });
}

/** A route pattern (`/v1/pools/:id`, `/codec/*`) as a regular expression over a concrete path. */
export function routePattern(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((seg) =>
      seg.startsWith(':')
        ? '[^/]+'
        : seg === '*'
          ? '.*'
          : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${escaped}$`);
}

/**
 * The central error handler: every error becomes `application/problem+json`. 4xx keep their detail
 * (which must never contain request values); 5xx hide theirs and are logged with the request id.
 */
export const problemPlugin = fp(async (app: FastifyInstance) => {
  app.addSchema(problemSchema);

  app.setErrorHandler((err: FastifyError | HttpProblem, req, reply) => {
    let problem: Problem;
    if (err instanceof HttpProblem) {
      if (err.headers) reply.headers(err.headers);
      problem = {
        type: `urn:problem:${slug(err.title)}`,
        title: err.title,
        status: err.status,
        detail: err.detail,
        fields: err.fields,
      };
    } else if ((err as FastifyError).validation) {
      const v = (err as FastifyError).validation ?? [];
      const context = (err as FastifyError).validationContext || 'body';
      const { fields, detail } = boundedValidation(
        v.map((e) => {
          const missing =
            (e.params as { missingProperty?: string; additionalProperty?: string }) ?? {};
          const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
          const leaf = missing.missingProperty ?? missing.additionalProperty;
          return {
            field: [base, leaf].filter(Boolean).join('.') || context,
            message: `${e.instancePath || context} ${e.message ?? 'is invalid'}`,
          };
        }),
      );
      problem = {
        type: 'urn:problem:invalid-request',
        title: 'Invalid request',
        status: 400,
        detail,
        fields,
      };
    } else if (isUnavailableError(err)) {
      // PostgreSQL (or another dependency) is restarting or unreachable: the client retries later.
      req.log.warn(
        { err: { type: err.name, code: (err as FastifyError).code } },
        'dependency unavailable',
      );
      reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
      problem = {
        type: 'urn:problem:service-unavailable',
        title: 'Service unavailable',
        status: 503,
        detail: `a dependency of this service is unreachable; retry after ${UNAVAILABLE_RETRY_AFTER_SECONDS} s`,
      };
    } else {
      const status = (err as FastifyError).statusCode ?? 500;
      if (status >= 500) {
        req.log.error(
          { err: { type: err.name, code: (err as FastifyError).code } },
          'request failed',
        );
        problem = {
          type: 'urn:problem:internal',
          title: 'Internal error',
          status,
          detail: `request ${req.id} failed; see the server log`,
        };
      } else {
        // Fastify's and plugins' own 4xx (bad JSON, body too large, unsupported media type, rate
        // limit): a fixed title by code, never their message (it may quote the request).
        const code = (err as FastifyError).code;
        const title = (code && FASTIFY_TITLES[code]) ?? STATUS_CODES[status] ?? 'Invalid request';
        problem = { type: `urn:problem:${slug(title)}`, title, status };
      }
    }
    if (problem.detail) problem.detail = cut(problem.detail, MAX_PROBLEM_DETAIL);
    if (problem.fields && problem.fields.length > MAX_PROBLEM_FIELDS)
      problem.fields = problem.fields.slice(0, MAX_PROBLEM_FIELDS);
    return reply.status(problem.status).type('application/problem+json').send(problem);
  });

  // Every route's pattern, to tell "no such path" (404) from "not with this method" (405).
  const routes: { pattern: RegExp; method: string }[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      routes.push({ pattern: routePattern(route.url), method: method.toUpperCase() });
  });

  // The URL is not echoed back: a client may have put a number in it.
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.replace(/[?#].*$/s, '');
    const allowed = [
      ...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method)),
    ].sort();
    if (allowed.length > 0 && !allowed.includes(req.method)) {
      return reply
        .status(405)
        .header('allow', allowed.join(', '))
        .type('application/problem+json')
        .send({
          type: 'urn:problem:method-not-allowed',
          title: 'Method not allowed',
          status: 405,
          detail: `this path answers ${allowed.join(', ')}`,
        });
    }
    return reply
      .status(404)
      .type('application/problem+json')
      .send({ type: 'urn:problem:not-found', title: 'Not found', status: 404 });
  });
});
