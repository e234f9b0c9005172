import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpCarrierState } from './carrier-state';
import { handleRequest, json } from './carrier-submit';
import type { HttpCarrierSimulator, HttpCarrierSimulatorOptions } from './carrier-types';

export type {
  HttpCarrierBehaviour,
  HttpCarrierSimulator,
  HttpCarrierSimulatorOptions,
  HttpCarrierStats,
  HttpReceivedSubmit,
} from './carrier-types';

/**
 * Starts a minimal HTTP carrier for tests and local development (node:http, no framework).
 *
 * `POST /submit` with `Authorization: Bearer <token>` and JSON `{ to, from, text, callbackUrl? }`
 * answers 202 `{ id }` (200 with the same id for a repeated `Idempotency-Key`), or 429 / 503
 * with Retry-After, or 400 `{ error: 'invalid_destination' | 'invalid_request' }`, per
 * {@link HttpCarrierBehaviour}. Accepted submits get a signed receipt
 * `{ id, status, errorCode?, doneAt }` POSTed to `callbackUrl ?? receiptUrl` (3 attempts).
 * Logs ids, counts and statuses only. The units: carrier-submit.ts (requests) and
 * carrier-state.ts (what it holds, receipts).
 */
export async function startHttpCarrierSimulator(
  options: HttpCarrierSimulatorOptions,
): Promise<HttpCarrierSimulator> {
  const host = options.host ?? '127.0.0.1';
  const state = new HttpCarrierState(options);
  const expectedAuth = Buffer.from(`Bearer ${options.token}`);
  const server = createServer((req, res) => {
    handleRequest(state, expectedAuth, req, res).catch(() => {
      if (!res.headersSent) json(res, 500, { error: 'internal' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  state.log.info({ port }, 'http carrier simulator listening');
  return simulatorControls(state, server, port, url);
}

/** What a test or the dev stack does with a running simulator. */
function simulatorControls(
  state: HttpCarrierState,
  server: Server,
  port: number,
  url: string,
): HttpCarrierSimulator {
  return {
    port,
    url,
    received: state.received,
    setBehaviour(patch) {
      state.behaviour = { ...state.behaviour, ...patch };
    },
    stats() {
      return { ...state.stats };
    },
    async close() {
      state.closing = true;
      for (const t of state.timers) clearTimeout(t);
      state.timers.clear();
      state.aborter.abort();
      await Promise.allSettled([...state.inFlight]);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      state.log.info({ port }, 'http carrier simulator closed');
    },
  };
}
