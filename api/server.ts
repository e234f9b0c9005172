import { createDbPool } from '../clients/db';
import { createDataConverter, createTemporalClient } from '../clients/temporal';
import { VaultClient } from '../clients/vault';
import { loadConfig } from '../config/config';
import { createLogger } from '../config/logger';
import { vaultObserver } from '../clients/metrics';
import { buildApp } from './app';
import { createApiMetrics } from './routes/metrics';

/** The API process: reads config once, wires clients, listens, and closes gracefully on SIGINT/SIGTERM. */
async function main() {
  const config = loadConfig();
  const log = createLogger('api', config.logLevel);
  const db = createDbPool(config.database, 'sms-api');
  const metrics = createApiMetrics(db);
  const vault = new VaultClient({ ...config.vault, log, observe: vaultObserver(metrics) });
  // One codec per process: the client's and the codec server's (api/routes/codec.ts).
  const { codec, dataConverter } = createDataConverter(config, vault);
  const temporal = await createTemporalClient(config, vault, dataConverter);
  const app = await buildApp({ config, log, temporal, db, vault, codec, metrics });

  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000).unref();
    await app.close();
    await temporal.connection.close();
    await db.end();
    clearTimeout(force);
  };
  process.once('SIGINT', () => void close('SIGINT'));
  process.once('SIGTERM', () => void close('SIGTERM'));

  await app.listen({ host: config.api.host, port: config.api.port });
}

main().catch((err: Error) => {
  process.stderr.write(`api failed to start: ${err.name}: ${err.message}\n`);
  process.exit(1);
});
