import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { VaultClient } from '../../clients/vault';

export interface HealthDeps {
  temporal: Client;
  db: Pool;
  vault: VaultClient;
}

type Check = { status: 'up' | 'down'; latencyMs: number; error?: string };

async function check(fn: () => Promise<unknown>, timeoutMs = 3000): Promise<Check> {
  const started = performance.now();
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('timed out')), timeoutMs).unref(),
      ),
    ]);
    return { status: 'up', latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    // Only the error's class and a short reason: dependency errors can carry connection strings.
    const reason =
      err instanceof Error ? (err.message === 'timed out' ? 'timed out' : err.name) : 'error';
    return { status: 'down', latencyMs: Math.round(performance.now() - started), error: reason };
  }
}

const checkSchema = {
  type: 'object',
  required: ['status', 'latencyMs'],
  properties: {
    status: { type: 'string', enum: ['up', 'down'] },
    latencyMs: { type: 'integer' },
    error: { type: 'string' },
  },
} as const;

const readySchema = {
  type: 'object',
  required: ['status', 'down', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'unavailable'] },
    down: {
      type: 'array',
      items: { type: 'string', enum: ['temporal', 'vault', 'postgres'] },
      description: 'The dependencies that did not answer (empty when ready)',
    },
    checks: {
      type: 'object',
      required: ['temporal', 'vault', 'postgres'],
      properties: { temporal: checkSchema, vault: checkSchema, postgres: checkSchema },
    },
  },
} as const;

/**
 * `/healthz`: the process is up. `/readyz`: Temporal, Vault and PostgreSQL each answer (503 if any does
 * not, with `down` naming which). Neither reveals tenants.
 */
export async function healthRoutes(app: FastifyInstance, deps: HealthDeps) {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process is up',
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary: 'Readiness: each dependency checked',
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_req, reply) => {
      const [temporal, vault, postgres] = await Promise.all([
        check(() => deps.temporal.workflowService.getSystemInfo({})),
        check(async () => {
          const h = await deps.vault.health();
          if (!h.initialized || h.sealed) throw new Error('sealed');
        }),
        check(() => deps.db.query('select 1')),
      ]);
      const checks = { temporal, vault, postgres };
      const down = Object.entries(checks)
        .filter(([, c]) => c.status === 'down')
        .map(([name]) => name);
      return reply
        .status(down.length === 0 ? 200 : 503)
        .send({ status: down.length === 0 ? 'ready' : 'unavailable', down, checks });
    },
  );
}
