import { loadConfig } from '../config/config';
import { createLogger } from '../config/logger';
import { installProcessGuards } from '../config/process-guards';
import { createApi } from '../api/app';
import { runProcess, serveHttp } from './http-process';

/** The API process: reads config once, wires clients, listens, and closes gracefully on SIGINT/SIGTERM. */
async function main() {
  const config = loadConfig();
  const log = createLogger('api', config.logLevel);
  // Nothing ends this process silently: see config/process-guards.ts.
  installProcessGuards(log);
  const { app, close } = await createApi(config, log);
  await serveHttp({
    app,
    close,
    log,
    host: config.api.host,
    port: config.api.port,
    portSetting: 'API_PORT',
  });
}

runProcess('api', main);
