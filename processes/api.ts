import { loadConfig } from '../config/config';
import { createLogger } from '../config/logger';
import { installProcessGuards } from '../config/process-guards';
import { createApi } from '../api/app';
import { PortInUseError } from '../config/env';

/** The API process: reads config once, wires clients, listens, and closes gracefully on SIGINT/SIGTERM. */
async function main() {
  const config = loadConfig();
  const log = createLogger('api', config.logLevel);
  // Nothing ends this process silently: see config/process-guards.ts.
  installProcessGuards(log);
  const { app, close: closeApi } = await createApi(config, log);

  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000).unref();
    await closeApi();
    clearTimeout(force);
  };
  process.once('SIGINT', () => void close('SIGINT'));
  process.once('SIGTERM', () => void close('SIGTERM'));

  await app
    .listen({ host: config.api.host, port: config.api.port })
    .catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EADDRINUSE'
        ? new PortInUseError(config.api.host, config.api.port, 'API_PORT')
        : err;
    });
}

main().catch((err: Error) => {
  process.stderr.write(`api failed to start: ${err.name}: ${err.message}\n`);
  process.exit(1);
});
