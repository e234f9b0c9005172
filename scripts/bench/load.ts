/**
 * The load generator: a progress bar, a pool of C in flight (closed loop, or paced open loop), one
 * POST, and the messages sent through the API until all are final.
 */
import { type Agent, request } from 'node:http';
import type { Pool } from 'pg';
import { parseServerTiming } from '../../api/plugins/server-timing';

const lastShown = new Map<string, number>();
/** A progress bar on stderr, redrawn only when it moves (every 1%). */
export function progress(label: string, done: number, total: number) {
  const width = 30;
  const percent = Math.floor((done / total) * 100);
  if (lastShown.get(label) === percent && done !== total) return;
  lastShown.set(label, percent);
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`,
  );
  if (done === total) process.stderr.write('\n');
}

/** Runs `fn(i)` for i in 0..n-1 with at most `c` in flight; with `rate` > 0, starts one every 1/rate s at most. */
export async function pool(n: number, c: number, fn: (i: number) => Promise<void>, rate = 0) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      while (next < n) {
        const i = next++;
        if (rate > 0) {
          const due = t0 + (i * 1000) / rate - performance.now();
          if (due > 0) await new Promise((r) => setTimeout(r, due));
        }
        await fn(i);
      }
    }),
  );
}

/**
 * One `POST` with a JSON body over node:http (a lighter client than `fetch`, so less of the measured
 * round trip is the bench's own work); `headersAt` is when the answer's headers arrived.
 */
export function post(
  agent: Agent,
  url: string,
  secret: string,
  body: unknown,
): Promise<{ status: number; serverTiming?: string; headersAt: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${secret}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const headersAt = performance.now();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            serverTiming: res.headers['server-timing'] as string | undefined,
            headersAt,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** What {@link sendMessages} sends through and reads from. */
export interface Sender {
  agent: Agent;
  /** The API processes' base URLs: request i goes to `bases[i % bases.length]`. */
  bases: readonly string[];
  /** The bench's own pool (left out of the statement counter). */
  monitor: Pool;
  concurrency: number;
  rate: number;
}

/** Sends `count` messages as `t` at the run's pacing and waits until all are final; the accept figures. */
export async function sendMessages(
  s: Sender,
  t: { tenant: string; secret: string },
  count: number,
  label: string,
) {
  const accept: number[] = [];
  const phases = new Map<string, number[]>();
  let accepted = 0;
  await pool(
    count,
    s.concurrency,
    async (i) => {
      const t0 = performance.now();
      const base = s.bases[i % s.bases.length]!;
      const res = await post(s.agent, `${base}/v1/messages`, t.secret, {
        to: `+4474009${String(i % 100000).padStart(5, '0')}`,
        body: `Your code is ${100000 + (i % 900000)}`,
        purpose: 'otp',
        // A closed loop builds a backlog longer than an OTP's default validity (5 min): without this
        // the tail would end `expired`, never submitted, and count as done.
        validitySeconds: 86_400,
      });
      const took = res.headersAt - t0;
      accept.push(took);
      const timing = parseServerTiming(res.serverTiming);
      // `outside`: the round trip minus the server's `total` (connection, parsing, serializing, and
      // waiting for either event loop or a CPU).
      if (timing.total !== undefined) timing.outside = took - timing.total;
      for (const [name, ms] of Object.entries(timing))
        phases.set(name, [...(phases.get(name) ?? []), ms]);
      if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${res.body}`);
      progress(`${label} accepted `, ++accepted, count);
    },
    s.rate,
  );
  for (;;) {
    const { rows } = await s.monitor.query(
      `select count(*)::int as n from messages where tenant = $1 and completed_at is not null`,
      [t.tenant],
    );
    progress(`${label} completed`, rows[0].n, count);
    if (rows[0].n >= count) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return { accept, phases };
}
