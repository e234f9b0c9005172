import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

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

const slug = (title: string) =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/(^-|-$)/g, '');

/**
 * The central error handler: every error becomes `application/problem+json`. 4xx keep their detail
 * (which must never contain request values); 5xx hide theirs and are logged with the request id.
 */
export const problemPlugin = fp(async (app: FastifyInstance) => {
  app.addSchema(problemSchema);

  app.setErrorHandler((err: FastifyError | HttpProblem, req, reply) => {
    let problem: Problem;
    if (err instanceof HttpProblem) {
      problem = {
        type: `urn:problem:${slug(err.title)}`,
        title: err.title,
        status: err.status,
        detail: err.detail,
        fields: err.fields,
      };
    } else if ((err as FastifyError).validation) {
      const v = (err as FastifyError).validation ?? [];
      const fields = [
        ...new Set(
          v.map((e) => {
            const missing =
              (e.params as { missingProperty?: string; additionalProperty?: string }) ?? {};
            const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
            const leaf = missing.missingProperty ?? missing.additionalProperty;
            return (
              [base, leaf].filter(Boolean).join('.') ||
              (err as FastifyError).validationContext ||
              'body'
            );
          }),
        ),
      ];
      problem = {
        type: 'urn:problem:invalid-request',
        title: 'Invalid request',
        status: 400,
        detail: v
          .map(
            (e) =>
              `${e.instancePath || (err as FastifyError).validationContext || 'body'} ${e.message ?? 'is invalid'}`,
          )
          .join('; '),
        fields,
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
        // Fastify's own 4xx (bad JSON, body too large, unsupported media type): their messages echo no values.
        problem = {
          type: `urn:problem:${slug((err as FastifyError).code ?? 'bad-request')}`,
          title: err.message,
          status,
        };
      }
    }
    return reply.status(problem.status).type('application/problem+json').send(problem);
  });

  // The URL is not echoed back: a client may have put a number in it.
  app.setNotFoundHandler((_req, reply) =>
    reply
      .status(404)
      .type('application/problem+json')
      .send({ type: 'urn:problem:not-found', title: 'Not found', status: 404 }),
  );
});
