import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifySchema, RouteOptions } from 'fastify';
import { ROUTE_EXAMPLES, type RouteExample } from './openapi-examples';
import { PROBLEM_TYPES } from './plugins/problem-types';

/** Where the spec is published as JSON (besides the UI's own `/docs/json`). */
export const OPENAPI_PATH = '/openapi.json';

/**
 * The security schemes `authPlugin` accepts, by name. A bearer API key works on every route that
 * declares roles; the reviewer page's session cookie only on the routes that opt in (`config.cookieAuth`).
 * The codec server's `/codec` routes are a process of their own (codec-server/), outside this spec.
 * Over HTTPS with mutual TLS, a client certificate registered for a key stands for that key.
 */
export const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key as `Authorization: Bearer <key>` (`npm run keys -- create …`; `npm start` prints a dev key).',
  },
  mutualTLS: {
    type: 'mutualTLS',
    description:
      'Over HTTPS with `API_TLS_CA` set (mutual TLS): a client certificate registered for an API key (`client_certificates`) stands for that key.',
  },
  reviewSession: {
    type: 'apiKey',
    in: 'cookie',
    name: 'review_session',
    description: 'The reviewer page session: `POST /review/login` with a reviewer key sets it.',
  },
} as const;

/** What each refusal means, for the response descriptions. */
const STATUS_DESCRIPTIONS: Record<string, string> = {
  400: 'Invalid request: the body, path or query string failed validation (`fields` names the fields at fault).',
  401: 'Unauthenticated: no API key, or an unknown, revoked or expired one.',
  403: "Forbidden: the key lacks the route's role, or may not be used from this address.",
  404: "Not found: no such resource in the caller's tenant.",
  409: 'Conflict: the resource is in a state that refuses this request.',
  410: 'Gone: the resource existed but is closed.',
  413: 'Request body too large.',
  415: 'Unsupported media type: bodies are `application/json` only.',
  422: 'Refused by policy: the request is valid but may not be carried out (see `type`).',
  429: 'Too many requests for this API key (or address); `Retry-After` says when to retry.',
  503: 'A dependency is unreachable; `Retry-After` says when to retry.',
};

const SUCCESS_DESCRIPTIONS: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: the work continues in the background.',
  204: 'Done; no content.',
};

type RouteSchema = FastifySchema & {
  response?: Record<string, Record<string, unknown>>;
  hide?: boolean;
  security?: unknown;
};
type RouteConfig = { roles?: readonly string[]; public?: boolean; cookieAuth?: boolean | string };

/** The problem responses a route can give, whether or not its schema lists them. */
export function problemStatuses(schema: RouteSchema, config: RouteConfig): string[] {
  const statuses = new Set(
    Object.keys(schema.response ?? {}).filter((s) => Number(s) >= 400 && Number(s) < 600),
  );
  // Every route validates its query string (limitsPlugin) and is rate-limited.
  statuses.add('400');
  statuses.add('429');
  if (config.roles?.length) {
    statuses.add('401');
    statuses.add('403');
  }
  if (schema.params) statuses.add('404');
  if (schema.body) {
    statuses.add('413');
    statuses.add('415');
  }
  return [...statuses].sort();
}

/** Security requirements of a route, from what it declared to `authPlugin`. */
function securityOf(config: RouteConfig): Record<string, string[]>[] {
  if (!config.roles?.length) return [];
  const cookie =
    config.cookieAuth === SECURITY_SCHEMES.reviewSession.name ? 'reviewSession' : undefined;
  return [{ bearer: [] }, { mutualTLS: [] }, ...(cookie ? [{ [cookie]: [] }] : [])];
}

const problemResponse = (status: string) => ({
  description: STATUS_DESCRIPTIONS[status] ?? 'A problem',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/**
 * Completes a route's documentation from what it declared, without touching its validation or
 * serialization (this runs only when the spec is built): its security requirement, a problem
 * response with a description for every refusal it can give, and descriptions for its successes.
 */
export function documentRoute({
  schema,
  url,
  route,
}: {
  schema: FastifySchema;
  url: string;
  route: RouteOptions;
}): { schema: FastifySchema; url: string } {
  const s = (schema ?? {}) as RouteSchema;
  if (s.hide) return { schema: s, url };
  const config = (route.config ?? {}) as RouteConfig;
  const response: Record<string, Record<string, unknown>> = {};
  for (const [status, r] of Object.entries(s.response ?? {})) {
    if (Number(status) >= 400) continue;
    response[status] = { description: SUCCESS_DESCRIPTIONS[status] ?? 'OK', ...r };
  }
  const example = ROUTE_EXAMPLES[`${[route.method].flat()[0]} ${route.url}`] ?? {};
  return {
    schema: {
      ...s,
      ...withExamples(s, example),
      security: securityOf(config),
      response,
      // The problem responses are added after conversion (transformObject): they are problem+json.
      'x-problems': problemStatuses(s, config),
    } as FastifySchema,
    url,
  };
}

type ObjectSchema = { properties?: Record<string, Record<string, unknown>> };

/** A parameters schema (path or query) with each given value as its property's example. */
function parameterExamples(schema: unknown, values: Record<string, unknown> | undefined) {
  const o = schema as ObjectSchema | undefined;
  if (!o?.properties || !values) return schema;
  const properties = Object.fromEntries(
    Object.entries(o.properties).map(([name, p]) => [
      name,
      name in values ? { ...p, examples: [values[name]] } : p,
    ]),
  );
  return { ...o, properties };
}

/** The route's body, params and query string schemas, carrying its example (for the spec only). */
function withExamples(s: RouteSchema, example: RouteExample): Partial<RouteSchema> {
  return {
    ...(s.body && example.body !== undefined
      ? { body: { ...(s.body as object), examples: [example.body] } }
      : {}),
    ...(s.params ? { params: parameterExamples(s.params, example.params) } : {}),
    ...(s.querystring
      ? { querystring: parameterExamples(s.querystring, example.querystring) }
      : {}),
  };
}

interface Operation {
  responses: Record<string, unknown>;
  'x-problems'?: string[];
}

/** Replaces each operation's `x-problems` by problem+json responses, and describes the problem types. */
export function documentProblems({
  openapiObject,
}: {
  openapiObject: Partial<Record<string, unknown>>;
}): Record<string, unknown> {
  const paths = (openapiObject.paths ?? {}) as Record<string, Record<string, Operation>>;
  for (const item of Object.values(paths))
    for (const op of Object.values(item)) {
      for (const status of op['x-problems'] ?? []) op.responses[status] = problemResponse(status);
      delete op['x-problems'];
    }
  const components = (openapiObject.components ?? {}) as { schemas?: Record<string, unknown> };
  const types = Object.entries(PROBLEM_TYPES)
    .map(([type, p]) => `- \`${type}\` (${p.status}): ${p.description}`)
    .join('\n');
  components.schemas = {
    ...components.schemas,
    Problem: {
      type: 'object',
      description: `An RFC 9457 problem document, the body of every error answer. Its \`type\` is one of:\n${types}`,
      required: ['type', 'title', 'status'],
      properties: {
        type: {
          type: 'string',
          enum: Object.keys(PROBLEM_TYPES),
          example: 'urn:problem:invalid-request',
        },
        title: { type: 'string', example: 'Invalid request' },
        status: { type: 'integer', example: 400 },
        detail: { type: 'string', description: 'What to change; never echoes request values' },
        fields: {
          type: 'array',
          items: { type: 'string' },
          description: 'For validation problems: the request fields at fault (names only)',
        },
      },
    },
  };
  return { ...openapiObject, components };
}

/** `@fastify/swagger`'s options: the spec's header, its security schemes, and the two transforms above. */
export const swaggerOptions: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'SMS pipeline API',
      version: '0.1.0',
      description:
        'Privacy-first SMS aggregation on Temporal. Authorize with an API key (bearer), then "Try it out": ' +
        'the shipped examples are valid requests (the send example goes to the test number +447700900100, ' +
        'which never leaves the system). Every error is `application/problem+json` (see the Problem schema).',
    },
    // The options' types know OpenAPI 3.0 only; `mutualTLS` is a 3.1 scheme.
    components: { securitySchemes: SECURITY_SCHEMES as never },
  },
  transform: documentRoute as FastifyDynamicSwaggerOptions['transform'],
  transformObject: documentProblems as FastifyDynamicSwaggerOptions['transformObject'],
};
