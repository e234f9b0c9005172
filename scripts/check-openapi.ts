import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';

/**
 * Validates an OpenAPI document against the OpenAPI schema of its version (3.1 here) and resolves
 * its references, with `@apidevtools/swagger-parser`. test/e2e/openapi.test.ts (inside `npm test`,
 * so in CI) runs it on the spec the app publishes at `/openapi.json`; `npm run openapi:check -- <url
 * or file>` runs it on a running API's spec or a saved copy.
 */
export async function validateOpenapi(spec: unknown): Promise<void> {
  // The parser dereferences in place: hand it a copy.
  await SwaggerParser.validate(structuredClone(spec) as never);
}

async function main(): Promise<void> {
  const source = process.argv[2];
  if (!source)
    throw new Error('usage: npm run openapi:check -- <http://host:port/openapi.json | spec.json>');
  const spec: unknown = /^https?:\/\//.test(source)
    ? await (await fetch(source)).json()
    : JSON.parse(readFileSync(source, 'utf8'));
  await validateOpenapi(spec);
  process.stdout.write(`${source}: a valid OpenAPI document\n`);
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
