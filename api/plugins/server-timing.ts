import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Where one request's time went, as named phases in milliseconds. Phases are names chosen by the
 * code (`auth`, `policy`, `quota`, `start`…), never data from the request.
 */
export class RequestTiming {
  private readonly phases: [string, number][] = [];

  /** Runs `fn` and records how long it took under `name` (also when it throws). */
  async measure<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.add(name, performance.now() - t0);
    }
  }

  add(name: string, ms: number): void {
    this.phases.push([name, ms]);
  }

  /** The `Server-Timing` value: each phase, then `total` (the whole request as Fastify saw it). */
  header(totalMs: number): string {
    return [...this.phases, ['total', totalMs] as const]
      .map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`)
      .join(', ');
  }
}

/** Parses a `Server-Timing` value into phase → milliseconds (the bench reads it from each answer). */
export function parseServerTiming(value: string | null | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (value ?? '').split(',')) {
    const [name, ...params] = part.trim().split(';');
    const dur = params.map((p) => /^\s*dur=([0-9.]+)\s*$/.exec(p)?.[1]).find(Boolean);
    if (name && dur !== undefined) out[name] = (out[name] ?? 0) + Number(dur);
  }
  return out;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's phases, sent back as `Server-Timing` (by `serverTimingPlugin`). */
    timing: RequestTiming;
  }
}

/**
 * `Server-Timing` on every answer: the phases the handlers recorded on `req.timing` and the total,
 * so a client (and `npm run bench`) can tell the database's share of a slow accept from Temporal's
 * without access to the server. Register first, so its `onRequest` hook runs before the others.
 */
export const serverTimingPlugin = fp(async (app: FastifyInstance) => {
  app.decorateRequest('timing', null as unknown as RequestTiming);
  app.addHook('onRequest', async (req) => {
    req.timing = new RequestTiming();
  });
  app.addHook('onSend', async (req, reply) => {
    if (req.timing) reply.header('server-timing', req.timing.header(reply.elapsedTime));
  });
});
