import { loadConfig } from '../config/config';
import { createLogger } from '../config/logger';
import { installProcessGuards } from '../config/process-guards';
import { createCodecServer } from '../codec-server/app';
import { runProcess, serveHttp } from './http-process';

/**
 * The codec server process (the Temporal UI's `/codec`): reads config once, logs in to Vault as
 * `codec-server` (the only process that does), listens on CODEC_HOST:CODEC_PORT, and closes
 * gracefully on SIGINT/SIGTERM. The API process neither serves `/codec` nor holds this identity.
 */
async function main() {
  const config = loadConfig();
  const log = createLogger('codec-server', config.logLevel);
  // Nothing ends this process silently: see config/process-guards.ts.
  installProcessGuards(log);
  const { app, close } = await createCodecServer(config, log);
  await serveHttp({
    app,
    close,
    log,
    host: config.codec.host,
    port: config.codec.port,
    portSetting: 'CODEC_PORT',
  });
}

runProcess('codec-server', main);
