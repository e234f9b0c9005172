import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isUnavailableError } from '../../clients/db';
import { slug } from './problem-types';

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

/** A validation failure as a problem: the fields at fault by name, never their values. */
function validationProblem(err: FastifyError): Problem {
  const context = err.validationContext || 'body';
  const { fields, detail } = boundedValidation(
    (err.validation ?? []).map((e) => {
      const missing = (e.params as { missingProperty?: string; additionalProperty?: string }) ?? {};
      const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
      const leaf = missing.missingProperty ?? missing.additionalProperty;
      return {
        field: [base, leaf].filter(Boolean).join('.') || context,
        message: `${e.instancePath || context} ${e.message ?? 'is invalid'}`,
      };
    }),
  );
  return {
    type: 'urn:problem:invalid-request',
    title: 'Invalid request',
    status: 400,
    detail,
    fields,
  };
}

/**
 * Any error as the problem to answer with (setting the headers that go with it): a route's
 * `HttpProblem` as thrown, a validation failure by field names, an unreachable dependency as 503 with
 * `retry-after`, any other 5xx hidden behind the request id, Fastify's own 4xx by a fixed title.
 */
function problemOf(
  err: FastifyError | HttpProblem,
  req: FastifyRequest,
  reply: FastifyReply,
): Problem {
  if (err instanceof HttpProblem) {
    if (err.headers) reply.headers(err.headers);
    return {
      type: `urn:problem:${slug(err.title)}`,
      title: err.title,
      status: err.status,
      detail: err.detail,
      fields: err.fields,
    };
  }
  if (err.validation) return validationProblem(err);
  if (isUnavailableError(err)) {
    // PostgreSQL (or another dependency) is restarting or unreachable: the client retries later.
    req.log.warn({ err: { type: err.name, code: err.code } }, 'dependency unavailable');
    reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    return {
      type: 'urn:problem:service-unavailable',
      title: 'Service unavailable',
      status: 503,
      detail: `a dependency of this service is unreachable; retry after ${UNAVAILABLE_RETRY_AFTER_SECONDS} s`,
    };
  }
  const status = err.statusCode ?? 500;
  if (status >= 500) {
    req.log.error({ err: { type: err.name, code: err.code } }, 'request failed');
    return {
      type: 'urn:problem:internal',
      title: 'Internal error',
      status,
      detail: `request ${req.id} failed; see the server log`,
    };
  }
  // Fastify's and plugins' own 4xx (bad JSON, body too large, unsupported media type, rate
  // limit): a fixed title by code, never their message (it may quote the request).
  const title = (err.code && FASTIFY_TITLES[err.code]) ?? STATUS_CODES[status] ?? 'Invalid request';
  return { type: `urn:problem:${slug(title)}`, title, status };
}

/** The error handler: the error's problem, bounded, as `application/problem+json`. */
function sendProblem(err: FastifyError | HttpProblem, req: FastifyRequest, reply: FastifyReply) {
  const problem = problemOf(err, req, reply);
  if (problem.detail) problem.detail = cut(problem.detail, MAX_PROBLEM_DETAIL);
  if (problem.fields && problem.fields.length > MAX_PROBLEM_FIELDS)
    problem.fields = problem.fields.slice(0, MAX_PROBLEM_FIELDS);
  return reply.status(problem.status).type('application/problem+json').send(problem);
}

/**
 * The not-found handler over the routes seen so far: 405 with `Allow` when the path exists with
 * other methods, else 404. The URL is not echoed back: a client may have put a number in it.
 */
function notFound(routes: readonly { pattern: RegExp; method: string }[]) {
  return function sendNotFound(req: FastifyRequest, reply: FastifyReply) {
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
  };
}

/**
 * The central error handler: every error becomes `application/problem+json`. 4xx keep their detail
 * (which must never contain request values); 5xx hide theirs and are logged with the request id.
 */
export const problemPlugin = fp(async (app: FastifyInstance) => {
  app.addSchema(problemSchema);
  app.setErrorHandler(sendProblem);

  // Every route's pattern, to tell "no such path" (404) from "not with this method" (405).
  const routes: { pattern: RegExp; method: string }[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      routes.push({ pattern: routePattern(route.url), method: method.toUpperCase() });
  });
  app.setNotFoundHandler(notFound(routes));
});
