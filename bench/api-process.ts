/**
 * The bench's API process (forked by scripts/bench/setup.ts with IPC): the HTTP API with its start relay,
 * in a Node process of its own and wired as processes/api.ts wires it (`createApi`), so the accept
 * latency the bench measures is not taken on an event loop shared with the load generator or the
 * carrier simulator. Configured by the environment the bench passes; answers the bench's messages:
 * - `stats` → this process's counters (bench/child.ts);
 * - `shutdown` → closes the API (its relay's last round included) and exits.
 * It sends `{ type: 'ready', base }` once it listens.
 */
import pino from 'pino';
import { createApi } from '../api/app';
import { loadConfig } from '../config/config';
import { createLogger } from '../config/logger';
import { childMain, statsOf, type ChildStats } from './child';
import { countStatements } from './statement-counter';

export type ToApi = { type: 'stats' } | { type: 'shutdown' };
export type FromApi = { type: 'ready'; base: string } | ChildStats;

childMain('bench api', async () => {
  const statements = countStatements();
  const send = (m: FromApi) => process.send!(m);
  const log = createLogger('bench-api', 'warn', pino.destination(2));
  const { app, vault, close } = await createApi(loadConfig(process.env), log);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });

  process.on('message', (m: ToApi) => {
    void (async () => {
      if (m.type === 'stats') send(statsOf(statements, vault));
      else {
        await close();
        process.exit(0);
      }
    })().catch((err: Error) => {
      process.stderr.write(`bench api: ${err.stack ?? err.message}\n`);
      process.exit(1);
    });
  });
  send({ type: 'ready', base });
});
