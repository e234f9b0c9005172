import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { OPENAPI_PATH } from '../../api/openapi';
import { ROUTE_EXAMPLES } from '../../api/openapi-examples';
import { PROBLEM_TYPES, slug } from '../../api/plugins/problem-types';
import { validateOpenapi } from '../../scripts/check-openapi';
import { startApi, type TestApi } from '../helpers/api';

type Schema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema: Schema;
  example?: unknown;
}
interface Operation {
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema; example?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, unknown> }>;
}
type Spec = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, Schema> };
};

/**
 * The published spec (`GET /openapi.json`, the same document as /docs/json): it validates with
 * `@apidevtools/swagger-parser` (the CI check), every operation that takes a body or parameters
 * carries an example that its own schema accepts, every response has a real description, every
 * route that needs a key says so (security), and every problem title in the code is a documented
 * problem type.
 */
describe('the OpenAPI spec', () => {
  let api: TestApi;
  let spec: Spec;
  const operations = () =>
    Object.entries(spec.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
    );
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);

  beforeAll(async () => {
    api = await startApi();
    const res = await api.app.inject({ method: 'GET', url: OPENAPI_PATH });
    expect(res.statusCode).toBe(200);
    spec = res.json();
    ajv.addSchema(spec.components.schemas.Problem!, '#/components/schemas/Problem');
  });
  afterAll(async () => api?.close());

  test('is a valid OpenAPI 3.1 document, the same one /docs shows', async () => {
    expect(spec.openapi).toBe('3.1.0');
    await expect(validateOpenapi(spec)).resolves.toBeUndefined();
    const docs = await api.app.inject({ method: 'GET', url: '/docs/json' });
    expect(docs.json()).toEqual(spec);
  });

  test('declares the schemes authPlugin accepts, and each keyed route requires one', () => {
    expect(Object.keys(spec.components.securitySchemes).sort()).toEqual([
      'bearer',
      'mutualTLS',
      'reviewSession',
    ]);
    for (const { name, op } of operations()) {
      expect([name, Array.isArray(op.security)]).toEqual([name, true]);
      if (op.security!.length > 0) {
        expect([name, op.responses['401']?.description]).toEqual([
          name,
          expect.stringContaining('Unauthenticated'),
        ]);
        expect(op.security).toContainEqual({ bearer: [] });
      }
    }
    expect(spec.paths['/v1/messages']!.post!.security).toEqual([{ bearer: [] }, { mutualTLS: [] }]);
  });

  test('every body and parameter has an example, and its own schema accepts it', () => {
    let checked = 0;
    for (const { name, op } of operations()) {
      const body = op.requestBody?.content['application/json'];
      if (body) {
        expect([name, 'body example', body.example !== undefined]).toEqual([
          name,
          'body example',
          true,
        ]);
        const ok = ajv.validate(body.schema, body.example);
        expect([name, ajv.errorsText(ajv.errors)]).toEqual([name, 'No errors']);
        expect(ok).toBe(true);
        checked++;
      }
      for (const p of op.parameters ?? []) {
        if (p.in === 'header') continue;
        if (p.in === 'path')
          expect([name, p.name, p.example !== undefined]).toEqual([name, p.name, true]);
        if (p.example === undefined) continue;
        const ok = ajv.validate(p.schema, p.example);
        expect([name, p.name, ajv.errorsText(ajv.errors)]).toEqual([name, p.name, 'No errors']);
        expect(ok).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
    // No example is left over for a route that no longer exists (or was renamed).
    const documented = new Set(operations().map(({ name }) => name.replace(/\{([^}]+)\}/g, ':$1')));
    for (const route of Object.keys(ROUTE_EXAMPLES))
      expect([route, documented.has(route)]).toEqual([route, true]);
  });

  test('the send example goes to a test number, never to a real subscriber', () => {
    const example = spec.paths['/v1/messages']!.post!.requestBody!.content['application/json']!
      .example as { to: string; dryRun?: boolean };
    expect(example.to).toBe('+447700900100');
    expect(example.dryRun).toBeUndefined();
  });

  test('every response is described, and every refusal is a Problem', () => {
    for (const { name, op } of operations()) {
      for (const [status, r] of Object.entries(op.responses)) {
        expect([name, status, r.description]).not.toEqual([name, status, 'Default Response']);
        if (Number(status) >= 400)
          expect([name, status, r.content]).toEqual([
            name,
            status,
            { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          ]);
      }
      expect([name, Object.keys(op.responses)]).toEqual([
        name,
        expect.arrayContaining(['400', '429']),
      ]);
    }
    const send = spec.paths['/v1/messages']!.post!.responses;
    expect(Object.keys(send).sort()).toEqual(
      ['200', '202', '400', '401', '403', '409', '413', '415', '422', '429'].sort(),
    );
  });

  test('every problem title in the code is a documented problem type', () => {
    const titles = new Set<string>();
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory()
          ? walk(join(dir, e.name))
          : e.name.endsWith('.ts')
            ? [join(dir, e.name)]
            : [],
      );
    const root = join(__dirname, '..', '..');
    for (const file of ['api', 'db', 'clients', 'domain'].flatMap((d) => walk(join(root, d))))
      for (const m of readFileSync(file, 'utf8').matchAll(/HttpProblem\(\s*\d+,\s*'([^']+)'/g))
        titles.add(m[1]!);
    expect(titles.size).toBeGreaterThan(25);
    for (const title of titles)
      expect([title, `urn:problem:${slug(title)}` in PROBLEM_TYPES]).toEqual([title, true]);
    const problem = spec.components.schemas.Problem as { description: string };
    for (const type of Object.keys(PROBLEM_TYPES)) expect(problem.description).toContain(type);
  });
});
